"""My polls: the signed-in user's polls with their counts, and the socket that keeps the
counts live."""

import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.template.loader import render_to_string

from config.asgi import application
from tests.accounts.factories import UserFactory
from tests.helpers import open_browser, post_json, receive_until, session_id, text
from tests.polls.factories import PollFactory


def count_span(page: str, code: str) -> str:
    found = re.search(rf'<span id="my-count-{code}"[^>]*>([^<]*)</span>', page)
    assert found, f"no my-count-{code} span"
    return found.group(1)


def vote(poll, option_index=0):
    """Cast one vote on the poll from a new browser."""
    client = open_browser()
    option = list(poll.options.all())[option_index]
    response = post_json(client, f"/poll/{poll.code}/vote", {"option": option.id})
    assert response.status_code == 201


def test_my_polls_sends_anonymous_browsers_to_log_in(client, db):
    """/my/ asks an anonymous browser to log in and come back."""
    response = client.get("/my/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/my/"


def test_my_polls_lists_only_your_polls_newest_first_with_their_counts(signed_in, user):
    """/my/ lists the user's polls newest first, each with its vote count in my-count-<code>."""
    older = PollFactory(question="Older poll?", owner=user)
    newer = PollFactory(question="Newer poll?", owner=user)
    someone_elses = PollFactory(question="Someone else's?", owner=UserFactory())
    unowned = PollFactory(question="Nobody's?")
    vote(older)
    vote(older, 1)
    vote(someone_elses)
    page = text(signed_in.get("/my/"))
    assert page.index("Newer poll?") < page.index("Older poll?")
    assert "Someone else" not in page
    assert "Nobody's?" not in page
    assert count_span(page, older.code) == "2"
    assert count_span(page, newer.code) == "0"
    assert f'id="my-count-{unowned.code}"' not in page
    assert f'href="/poll/{newer.code}/share"' in page
    assert f'href="/poll/{newer.code}/edit"' in page


def test_my_polls_shows_each_polls_status(signed_in, user):
    """Each poll on /my/ reads open, closes at … in its zone, or closed."""
    from datetime import UTC, datetime

    from polls import services

    PollFactory(question="Open one?", owner=user)
    PollFactory(
        question="Timed one?",
        owner=user,
        closes_at=datetime(2099, 1, 2, 11, 30, tzinfo=UTC),
        timezone_name="Europe/Paris",
    )
    services.poll_close(poll=PollFactory(question="Done one?", owner=user))
    page = text(signed_in.get("/my/"))
    assert "closes Jan 2, 2099 12:30 (Europe/Paris)" in page
    assert page.count(">Closed</span>") == 1
    assert page.count(">Open</span>") == 2


def test_my_polls_empty_state_invites_a_first_poll(signed_in):
    """With no polls, /my/ says so and offers to create the first one."""
    page = text(signed_in.get("/my/"))
    assert "No polls yet." in page
    assert "Create your first poll" in page


def test_my_count_partial_is_the_span_alone(user):
    """The my-count partial renders just the count span, for live out-of-band swaps."""
    poll = PollFactory(owner=user)
    html = render_to_string("polls/my_polls.html#my-count", {"poll": poll, "count": 7})
    assert re.fullmatch(rf'<span id="my-count-{poll.code}"[^>]*>7</span>', html.strip())


def test_my_polls_reads_all_counts_in_one_query(signed_in, user, django_assert_max_num_queries):
    """/my/ costs the same few queries for one poll or fifty: counts come in one query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    PollFactory(owner=user)
    with CaptureQueriesContext(connection) as one:
        signed_in.get("/my/")
    for _ in range(49):
        PollFactory(owner=user)
    with django_assert_max_num_queries(len(one)):
        page = text(signed_in.get("/my/"))
    assert page.count('id="my-count-') == 50


def test_my_polls_paginates_at_fifty(signed_in, user):
    """/my/ shows fifty polls a page, and a bad page number falls back to a real page."""
    for _ in range(51):
        PollFactory(owner=user)
    first = text(signed_in.get("/my/"))
    assert first.count('id="my-count-') == 50
    assert "Page 1 of 2" in first
    assert text(signed_in.get("/my/?page=2")).count('id="my-count-') == 1
    for bad in ("x", "-1", "999", "1" * 50):
        assert signed_in.get("/my/", {"page": bad}).status_code == 200


# The live counts


def my_polls_socket(session: str | None = None):
    headers = [(b"origin", b"http://testserver")]
    if session is not None:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, "/ws/my/", headers=headers)


def test_my_polls_page_opens_the_counts_socket(signed_in, user):
    """/my/ listens on /ws/my/ for its counts; other pages do not open that socket."""
    PollFactory(owner=user)
    assert 'ws-connect="/ws/my/"' in text(signed_in.get("/my/"))
    assert "/ws/my/" not in text(signed_in.get("/"))


@pytest.mark.django_db(transaction=True)
async def test_anonymous_counts_socket_is_refused():
    """Without a signed-in session the counts socket's handshake is refused."""
    connected, _ = await my_polls_socket().connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_counts_follow_the_votes_of_your_polls_only():
    """Each vote on one of your polls updates its count on your open "My polls" pages; the
    votes on someone else's poll send you nothing."""
    owner, stranger = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    mine = await database_sync_to_async(PollFactory)(owner=owner)
    theirs = await database_sync_to_async(PollFactory)(owner=stranger)
    tab = my_polls_socket(await database_sync_to_async(session_id)(owner))
    connected, _ = await tab.connect()
    assert connected

    for _ in range(3):
        await database_sync_to_async(vote)(mine)
    count = re.compile(rf'id="my-count-{mine.code}"[^>]*>(\d+)<')
    await receive_until(tab, lambda f: (m := count.search(f)) and m.group(1) == "3", deadline=20)
    await database_sync_to_async(vote)(theirs)
    later = []
    while not await tab.receive_nothing(timeout=1.5):
        later.append(await tab.receive_from())
    assert not any(f"my-count-{theirs.code}" in frame for frame in later)
    await tab.disconnect()
