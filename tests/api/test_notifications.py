"""The signed-in user's notifications through the API: listing (with the unread count and
cursors) and marking read, by token or session; nobody else's."""

from notifications import services
from notifications.models import Kind, Notification
from tests.api.conftest import error_of
from tests.polls.factories import PollFactory


def notify(user, count=1, poll=None):
    return [
        services.notification_create(
            recipient_id=user.pk, kind=Kind.COMMENT, text=f"New comment {n}", poll=poll
        )
        for n in range(count)
    ]


def test_list_shows_your_notifications_newest_first_with_unread(owner_api, owner, user):
    """The list holds only your notifications, newest first, and counts the unread."""
    poll = PollFactory(owner=owner)
    notify(owner, 3, poll=poll)
    notify(user)
    body = owner_api.get("/notifications").json()
    assert [item["text"] for item in body["items"]] == [f"New comment {n}" for n in (2, 1, 0)]
    assert body["unread"] == 3
    assert body["items"][0]["poll"] == poll.code
    assert body["items"][0]["read"] is False
    assert body["next"] is None


def test_list_pages_with_a_cursor(owner_api, owner):
    """More than a page of notifications continues through `next`."""
    notify(owner, 25)
    first = owner_api.get("/notifications").json()
    second = owner_api.get(f"/notifications?cursor={first['next']}").json()
    texts = [item["text"] for item in first["items"] + second["items"]]
    assert len(texts) == len(set(texts)) == 25
    assert second["next"] is None


def test_mark_one_and_all_read(owner_api, owner):
    """Marking one read, then all, leaves nothing unread."""
    first, *_ = notify(owner, 3)
    one = owner_api.post(f"/notifications/{first.pk}/read")
    assert one.json() == {"marked": 1, "unread": 2}
    everything = owner_api.post("/notifications/read")
    assert everything.json() == {"marked": 2, "unread": 0}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_someone_elses_notification_is_404(owner_api, user):
    """Marking another user's notification read is 404 and leaves it unread."""
    (theirs,) = notify(user)
    response = owner_api.post(f"/notifications/{theirs.pk}/read")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_session_marks_read_with_csrf(owner_browser, owner):
    """The browser's session marks read with its CSRF token, and is refused without it."""
    notify(owner, 2)
    refused = owner_browser.request("POST", "/notifications/read", {}, csrf=False)
    assert refused.status_code == 403
    assert owner_browser.post("/notifications/read").json()["marked"] == 2


def test_voter_token_is_not_an_account(voter_api):
    """A voter token reads polls but has no notifications: 401."""
    response = voter_api.get("/notifications")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
