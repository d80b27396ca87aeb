"""A hidden poll is gone for everyone but its owner and staff: every route that takes a poll
code answers 404, every socket refuses, and no listing or search shows it.

The routes are read from the URL configuration, so a route added later is checked too.
"""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver

from config.asgi import application
from core.voters import new_voter_token
from polls.services.hiding import poll_hide
from tests.helpers import open_browser, session_id, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = ["/ws/poll/{code}/", "/ws/poll/{code}/ask/"]
# What a well-formed request to any of the POST routes carries, so none is refused for its body.
BODY = '{"question": "Is it true?", "option": 1, "reason": "spam", "revealed": "1"}'


def routes_with_a_poll_code(patterns=None, prefix: str = "") -> list[str]:
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += routes_with_a_poll_code(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "code>" in route:
            found.append(route)
    return sorted(set(found))


def fill(route: str, code: str) -> str:
    path = route.replace("<str:code>", code).replace("<code>", code)
    for placeholder in ("<int:ballot_id>", "<comment_id>"):
        path = path.replace(placeholder, "1")
    return "/" + path


def status_of(browser, path: str) -> int:
    """The route's answer to GET, or to POST / DELETE where it takes only those."""
    status = browser.get(path).status_code
    for method in ("post", "delete"):
        if status != 405:
            break
        status = getattr(browser, method)(
            path, BODY, content_type="application/json", HTTP_X_CSRFTOKEN=browser.csrf_token
        ).status_code
    return status


@pytest.fixture
def hidden(user):
    poll = PollFactory(question="Which rumour is true?", owner=user)
    staff = get_user_model().objects.create_superuser(username="mod", password="x" * 20)
    poll_hide(poll=poll, reason="Personal data.", actor=staff)
    return poll


def test_the_url_configuration_has_the_poll_routes_this_test_expects():
    routes = routes_with_a_poll_code()
    assert "poll/<str:code>" in routes
    assert "poll/<str:code>/vote" in routes
    assert any(route.startswith("api/v1/polls/") for route in routes)


def test_every_poll_route_answers_404_to_the_public(hidden):
    browser = open_browser()
    answers = {}
    for route in routes_with_a_poll_code():
        path = fill(route, hidden.code)
        answers[path] = status_of(browser, path)
    assert {path: status for path, status in answers.items() if status != 404} == {}


def test_its_owner_still_reaches_it(hidden, user):
    assert open_browser(user).get(hidden.get_absolute_url()).status_code == 200


def test_no_listing_or_search_shows_it(hidden, user):
    visible = PollFactory(question="Which rumour is false?")
    home = text(open_browser().get("/"))
    assert visible.question in home
    assert hidden.question not in home
    results = text(open_browser().get("/search?q=rumour"))
    assert hidden.code not in results


async def connects(path: str, cookie: str) -> bool:
    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[(b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
    )
    connected, _ = await communicator.connect(timeout=10)
    if connected:
        await communicator.disconnect()
    return connected


@pytest.mark.parametrize("socket", SOCKETS)
async def test_every_socket_refuses_the_public_and_lets_the_owner_in(socket, hidden, user):
    path = socket.format(code=hidden.code)
    public = f"{settings.VOTER_COOKIE_NAME}={new_voter_token()}"
    assert await connects(path, public) is False
    owner = f"sessionid={await database_sync_to_async(session_id)(user)}"
    assert await connects(path, owner) is True
