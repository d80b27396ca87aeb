"""A circle's poll is its members' alone: to an anonymous visitor, a signed-in outsider, a
removed member and staff alike, every poll route answers 404, every socket refuses, and no
listing, search or API list shows it; a member reaches it, votes and watches it live.

The routes are read from the URL configuration (as for hidden polls), so a route added
later is checked too.
"""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model

from chat import search
from chat import services as chat_services
from circles import services
from core import fulltext
from polls.search_index import KIND
from tests.accounts.factories import UserFactory
from tests.circles.factories import circle_poll, member_of
from tests.helpers import open_browser, post_form, session_id, text
from tests.moderation.test_hidden_everywhere import (
    SOCKETS,
    connects,
    fill,
    routes_with_a_poll_code,
    status_of,
)
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db(transaction=True)

OUTSIDERS = ["anonymous", "outsider", "removed member", "staff"]


@pytest.fixture
def outsiders(circle, admin):
    removed = member_of(circle, UserFactory(username="gone"))
    services.member_remove(circle=circle, user=admin, member_id=removed.pk)
    staff = get_user_model().objects.create_superuser(username="mod", password="x" * 20)
    return {
        "anonymous": None,
        "outsider": UserFactory(username="stranger"),
        "removed member": removed,
        "staff": staff,
    }


@pytest.mark.parametrize("who", OUTSIDERS)
def test_every_poll_route_answers_404_to_those_outside(who, outsiders, private_poll):
    browser = open_browser(outsiders[who])
    answers = {}
    for route in routes_with_a_poll_code():
        path = fill(route, private_poll.code)
        answers[path] = status_of(browser, path)
    assert {path: status for path, status in answers.items() if status != 404} == {}


def test_a_member_reaches_the_poll_and_votes(private_poll, member):
    browser = open_browser(member)
    assert browser.get(private_poll.get_absolute_url()).status_code == 200
    assert browser.get(f"/poll/{private_poll.code}/results").status_code == 200
    option = private_poll.options.first()
    response = post_form(browser, f"/poll/{private_poll.code}/vote", {"option": option.pk})
    assert response.status_code == 303
    assert browser.get(f"/poll/{private_poll.code}/results").json()["total_votes"] == 1


def test_its_owner_loses_it_on_leaving(circle, member):
    """Membership is the whole rule: an owner who left is an outsider too."""
    poll = circle_poll(circle, member, question="Mine, then not mine")
    browser = open_browser(member)
    assert poll.question in text(browser.get("/my/"))
    services.circle_leave(circle=circle, user=member)
    assert browser.get(poll.get_absolute_url()).status_code == 404
    assert poll.question not in text(browser.get("/my/"))


@pytest.fixture
def synced(django_capture_on_commit_callbacks):
    search.reset_index()

    def sync(poll):
        with django_capture_on_commit_callbacks(execute=True):
            chat_services.poll_snippets_sync(poll_id=poll.pk)
        return poll

    yield sync
    search.reset_index()


def test_no_listing_search_or_api_list_shows_it(private_poll, member, admin, synced):
    """Not on the home page, /search (words and meaning), the API's list or its search,
    another user's My polls, nor in the full-text index, even for members."""
    public = synced(PollFactory(question="Which public book next?"))
    synced(private_poll)
    for viewer in (None, member, admin):
        browser = open_browser(viewer)
        home = text(browser.get("/"))
        assert public.question in home
        assert private_poll.question not in home
        assert private_poll.code not in text(browser.get("/search?q=secret+book"))
        listed = browser.get("/api/v1/polls").json()["items"]
        assert private_poll.code not in [item["code"] for item in listed]
        found = browser.get("/api/v1/polls?q=secret book").json()["items"]
        assert private_poll.code not in [item["code"] for item in found]
    assert private_poll.question not in text(open_browser(member).get("/my/"))
    assert private_poll.pk not in fulltext.indexed_ids(kind=KIND)
    assert private_poll.pk not in [
        poll.pk for poll in search.search_polls(query="secret book").polls
    ]


async def connects_as(path: str, user) -> bool:
    if user is None:
        return await connects(path, f"{settings.VOTER_COOKIE_NAME}=x")
    return await connects(path, f"sessionid={await database_sync_to_async(session_id)(user)}")


@pytest.mark.parametrize("socket", SOCKETS)
async def test_every_socket_refuses_outsiders_and_lets_members_in(
    socket, outsiders, private_poll, member
):
    path = socket.format(code=private_poll.code)
    for who in OUTSIDERS:
        assert await connects_as(path, outsiders[who]) is False, who
    assert await connects_as(path, member) is True
