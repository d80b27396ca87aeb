"""The notification list, marking read, preferences and the bell in the header."""

import pytest

from notifications import services
from notifications.models import Kind, Notification, Preferences
from tests.helpers import open_browser, post_form, post_htmx, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner):
    """The owner's browser: signed in, CSRF checks on, holding a CSRF token."""
    return open_browser(owner)


@pytest.fixture
def inbox(owner):
    """Three unread notifications, oldest first."""
    return [
        services.notification_create(recipient_id=owner.pk, kind=Kind.ASKED, text=f"Asked {n}")
        for n in range(3)
    ]


def unread_ids(user) -> set[int]:
    return set(
        Notification.objects.filter(recipient=user, read_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def test_list_needs_sign_in(client):
    """Anonymous visitors are sent to log in first."""
    response = client.get("/notifications/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_list_shows_own_notifications_newest_first(owner_client, inbox, make_user):
    """The list shows the user's notifications, newest first, and nobody else's."""
    services.notification_create(
        recipient_id=make_user().pk, kind=Kind.ASKED, text="Someone else's"
    )

    page = owner_client.get("/notifications/").content.decode()

    assert page.index("Asked 2") < page.index("Asked 1") < page.index("Asked 0")
    assert "Someone else" not in page
    assert "3 unread" in page


def test_header_bell_shows_unread_count(owner_client, inbox):
    """Signed-in pages carry the bell with its unread count and the socket to update it."""
    page = owner_client.get("/").content.decode()

    assert 'id="bell-badge" data-unread="3"' in page
    assert 'ws-connect="/ws/notifications/"' in page


def test_anonymous_pages_have_no_bell(client, db):
    """Visitors who are not signed in get no bell and open no bell socket."""
    page = client.get("/").content.decode()

    assert "bell-badge" not in page
    assert "/ws/notifications/" not in page


def test_mark_one_read_without_js(owner_client, owner, inbox):
    """A plain form marks one notification read and comes back to the list."""
    response = post_form(owner_client, f"/notifications/{inbox[0].pk}/read", {})

    assert response.status_code == 303
    assert response["Location"] == "/notifications/"
    assert unread_ids(owner) == {inbox[1].pk, inbox[2].pk}


def test_mark_one_read_with_htmx_updates_item_and_badge(owner_client, owner, inbox):
    """htmx gets the item in its read state and the new badge out of band."""
    response = post_htmx(owner_client, f"/notifications/{inbox[1].pk}/read", {})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="notification-{inbox[1].pk}"' in html
    assert 'data-read="true"' in html
    assert 'id="bell-badge" data-unread="2" hx-swap-oob="true"' in html


def test_mark_one_read_as_json(owner_client, owner, inbox):
    """A JSON client gets the remaining unread count."""
    response = post_json(owner_client, f"/notifications/{inbox[2].pk}/read", {})

    assert response.status_code == 200
    assert response.json() == {"unread": 2}


def test_cannot_mark_another_users_notification(owner_client, make_user):
    """Another user's notification is not found, and stays unread."""
    stranger = make_user()
    theirs = services.notification_create(recipient_id=stranger.pk, kind=Kind.ASKED, text="x")

    response = post_form(owner_client, f"/notifications/{theirs.pk}/read", {})

    assert response.status_code == 404
    assert unread_ids(stranger) == {theirs.pk}


def test_mark_all_read(owner_client, owner, inbox):
    """Mark all read empties the unread set, with htmx returning the list and a zero badge."""
    response = post_htmx(owner_client, "/notifications/read", {})

    html = response.content.decode()
    assert response.status_code == 200
    assert unread_ids(owner) == set()
    assert 'id="inbox"' in html
    assert 'id="bell-badge" data-unread="0" hx-swap-oob="true"' in html
    assert "Mark read" not in html


@pytest.mark.parametrize(
    "url", ["/notifications/read", "/notifications/{id}/read", "/notifications/settings"]
)
def test_state_changes_need_csrf(owner_client, owner, inbox, url):
    """Every POST without the CSRF token is refused and changes nothing."""
    response = owner_client.post(url.format(id=inbox[0].pk), {"emails_per_day": "1"})

    assert response.status_code == 403
    assert len(unread_ids(owner)) == 3
    assert services.preferences_for(user_id=owner.pk).emails_per_day == 10


def test_state_changes_need_sign_in(client, inbox):
    """Anonymous posts are sent to log in and change nothing."""
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value

    response = post_form(client, "/notifications/read", {})

    assert response.status_code == 302
    assert Notification.objects.filter(read_at__isnull=True).count() == 3


def preferences_form(**changes) -> dict:
    data = {
        "votes_in_app": "on",
        "comment_in_app": "on",
        "closed_in_app": "on",
        "closed_email": "on",
        "asked_in_app": "on",
        "quiet_start": "",
        "quiet_end": "",
        "timezone": "UTC",
        "emails_per_day": "10",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_preferences_page_shows_every_kind(owner_client):
    """The settings page offers in-app and email for each kind, and quiet hours."""
    page = owner_client.get("/notifications/settings").content.decode()

    for label in ("New votes on your polls", "New comments", "Someone asked"):
        assert label in page
    assert 'name="votes_email"' in page
    assert 'type="time"' in page


def test_preferences_save(owner_client, owner):
    """Saved preferences are what the services then apply."""
    response = post_form(
        owner_client,
        "/notifications/settings",
        preferences_form(
            votes_in_app=None,
            comment_email="on",
            quiet_start="22:00",
            quiet_end="07:30",
            timezone="Europe/Berlin",
            emails_per_day="3",
        ),
    )

    assert response.status_code == 303
    preferences = Preferences.objects.get(user=owner)
    assert not preferences.votes_in_app
    assert preferences.comment_email
    assert str(preferences.quiet_start) == "22:00:00"
    assert str(preferences.quiet_end) == "07:30:00"
    assert preferences.timezone == "Europe/Berlin"
    assert preferences.emails_per_day == 3
    assert "Notification settings saved." in owner_client.get(response["Location"]).text


def test_preferences_htmx_save_says_saved(owner_client):
    """With htmx the form comes back in place with a confirmation."""
    response = post_htmx(owner_client, "/notifications/settings", preferences_form())

    assert response.status_code == 200
    assert "Saved." in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"quiet_end": "06:00"}, "quiet_start"),
        ({"quiet_start": "25:99", "quiet_end": "06:00"}, "quiet_start"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"emails_per_day": "-1"}, "emails_per_day"),
        ({"emails_per_day": "many"}, "emails_per_day"),
    ],
)
def test_bad_preferences_are_refused_per_field(owner_client, owner, changes, field):
    """Invalid settings answer 400 with the error tied to its field, and save nothing."""
    response = post_htmx(owner_client, "/notifications/settings", preferences_form(**changes))

    html = response.content.decode()
    assert response.status_code == 400
    assert f'aria-describedby="id_{field}-error"' in html
    assert f'id="id_{field}-error"' in html
    assert services.preferences_for(user_id=owner.pk).quiet_start is None


def test_htmx_list_request_gets_the_inbox_fragment(owner_client, inbox):
    """The open list refreshes itself through htmx: it gets the inbox alone."""
    response = owner_client.get("/notifications/", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="inbox"')
    assert "Asked 2" in html
    assert "<header" not in html
