"""The bell socket: who may connect, what each tab receives, and that it stays private."""

import re
from datetime import time, timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from config.asgi import application
from notifications import services
from notifications.models import Kind
from polls import services as poll_services
from polls.models import Poll
from tests.helpers import open_browser, post_form, receive_until, session_id
from tests.notifications.conftest import cast

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")
DEADLINE = 10


def session_cookie(user) -> str:
    return f"sessionid={session_id(user)}"


def bell(cookie: str | None = None, *, path: str = "/ws/notifications/", origin=ORIGIN):
    headers = [origin] if origin else []
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def unread(frame: str) -> int | None:
    match = re.search(r'id="bell-badge" data-unread="(\d+)"', frame)
    return int(match.group(1)) if match else None


async def open_tab(cookie: str, path: str = "/ws/notifications/"):
    communicator = bell(cookie, path=path)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_from(timeout=DEADLINE)
    return communicator, unread(first)


notify = database_sync_to_async(services.notification_create)


async def test_anonymous_socket_is_refused():
    """Without a signed-in session the handshake is refused."""
    connected, _ = await bell().connect()

    assert not connected


async def test_foreign_origin_is_refused(owner):
    """A page on another site cannot open a user's bell."""
    cookie = await database_sync_to_async(session_cookie)(owner)
    connected, _ = await bell(cookie, origin=(b"origin", b"https://evil.example")).connect()

    assert not connected


async def test_connect_sends_current_unread_count(owner):
    """A new tab gets the user's unread count straight away."""
    for number in range(3):
        await notify(recipient_id=owner.pk, kind=Kind.ASKED, text=f"Question {number}")
    cookie = await database_sync_to_async(session_cookie)(owner)

    tab, count = await open_tab(cookie)

    assert count == 3
    await tab.disconnect()


async def test_new_notification_reaches_every_tab_with_a_toast(owner, owned_poll, batch_window):
    """A vote on the owner's poll updates the badge and shows a toast in every open tab."""
    cookie = await database_sync_to_async(session_cookie)(owner)
    first, _ = await open_tab(cookie)
    second, _ = await open_tab(cookie)

    await database_sync_to_async(cast)(owned_poll)

    for tab in (first, second):
        frame = await receive_until(tab, lambda f: unread(f) == 1)
        assert "1 new vote on “Lunch spot?”" in frame
        assert 'hx-swap-oob="beforeend:#toasts"' in frame
        await tab.disconnect()


async def test_quiet_hours_update_the_badge_without_a_toast(owner):
    """In quiet hours the count still updates, but nothing pops up."""
    await database_sync_to_async(services.preferences_update)(
        user_id=owner.pk,
        quiet_start=time(0, 0),
        quiet_end=time(23, 59, 59),
    )
    cookie = await database_sync_to_async(session_cookie)(owner)
    tab, _ = await open_tab(cookie)

    await notify(recipient_id=owner.pk, kind=Kind.ASKED, text="Asked at night")

    frame = await receive_until(tab, lambda f: unread(f) == 1)
    assert "toasts" not in frame
    assert "Asked at night" not in frame
    await tab.disconnect()


async def test_mark_all_read_in_one_tab_clears_the_badge_in_another(owner):
    """Reading in one tab sets every other tab's badge to the new count."""
    for number in range(2):
        await notify(recipient_id=owner.pk, kind=Kind.ASKED, text=f"Question {number}")
    cookie = await database_sync_to_async(session_cookie)(owner)
    other_tab, count = await open_tab(cookie)
    assert count == 2

    def read_all_over_http():
        return post_form(open_browser(owner), "/notifications/read", {})

    response = await database_sync_to_async(read_all_over_http)()

    assert response.status_code == 303
    frame = await receive_until(other_tab, lambda f: unread(f) is not None)
    assert unread(frame) == 0
    await other_tab.disconnect()


async def test_sockets_get_only_their_own_users_notifications(owner, make_user):
    """1,000 notifications for one user reach none of another user's sockets, however
    that socket was opened."""
    intruder = await database_sync_to_async(make_user)(username="intruder")
    intruder_cookie = await database_sync_to_async(session_cookie)(intruder)
    owner_cookie = await database_sync_to_async(session_cookie)(owner)
    attempts = [
        bell(intruder_cookie),
        bell(intruder_cookie, path=f"/ws/notifications/?user={owner.pk}"),
        bell(f"{intruder_cookie}; user_id={owner.pk}"),
    ]
    for attempt in attempts:
        connected, _ = await attempt.connect()
        assert connected
        assert unread(await attempt.receive_from(timeout=DEADLINE)) == 0
    owner_tab, _ = await open_tab(owner_cookie)

    def notify_owner_many():
        for number in range(1000):
            services.notification_create(
                recipient_id=owner.pk, kind=Kind.ASKED, text=f"Private question {number}"
            )

    await database_sync_to_async(notify_owner_many)()

    await receive_until(owner_tab, lambda f: unread(f) == 1000, deadline=60)
    for attempt in attempts:
        assert await attempt.receive_nothing(timeout=0.5)
        await attempt.disconnect()
    await owner_tab.disconnect()


async def test_comments_and_close_reach_the_owners_tab(owner, owned_poll, batch_window):
    """A comment and the periodic close each arrive in the owner's open tab as they happen."""
    cookie = await database_sync_to_async(session_cookie)(owner)
    tab, _ = await open_tab(cookie)

    await database_sync_to_async(cast)(owned_poll, option=2, comment="Tacos, no question")
    comment = await receive_until(tab, lambda f: "New comment" in f)
    assert "“Tacos, no question”" in comment

    await database_sync_to_async(
        lambda: Poll.objects.filter(pk=owned_poll.pk).update(
            closes_at=timezone.now() - timedelta(seconds=1)
        )
    )()
    await database_sync_to_async(poll_services.polls_close_due)()
    closed = await receive_until(tab, lambda f: "closed." in f)
    assert "Winner: “Tacos” with 1 vote of 1 (100%)." in closed
    assert unread(closed) == 3  # the vote, the comment and the close
    await tab.disconnect()
