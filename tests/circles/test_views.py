"""The circle pages end to end: create, invite, join, refusals, rotate, remove, leave, and
creating a circle's poll."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from circles.models import Circle, Membership
from polls.models import Poll
from tests.accounts.factories import UserFactory
from tests.circles.factories import CircleFactory, member_of
from tests.helpers import open_browser, post_form, post_htmx, post_json, text

pytestmark = pytest.mark.django_db

OPTIONS = ["Dune", "Emma"]


def circle_page(circle):
    return f"/circles/{circle.slug}/"


def test_circle_pages_need_an_account():
    """Signed out, /circles/ and /circles/new send to the log-in page and back."""
    browser = open_browser()
    for path in ("/circles/", "/circles/new"):
        response = browser.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_create_a_circle_with_the_form(admin):
    """The form creates the circle and shows its page, with its invite link."""
    browser = open_browser(admin)
    page = text(browser.get("/circles/new"))
    assert 'name="max_members"' in page
    response = post_form(
        browser, "/circles/new", {"name": "Reading group", "max_members": "10", "description": ""}
    )
    assert response.status_code == 303
    circle = Circle.objects.get()
    assert response["Location"] == circle_page(circle)
    page = text(browser.get(circle_page(circle)))
    assert f"/join/{circle.invite_code}" in page
    assert "Make a new link" in page
    assert "ada" in page
    assert circle.name in text(browser.get("/circles/"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "max_members": "10"}, "name"),
        ({"name": "!!!", "max_members": "10"}, "name"),
        ({"name": "Club", "max_members": "1"}, "max_members"),
        ({"name": "Club", "max_members": "many"}, "max_members"),
        (
            {"name": "Club", "max_members": "5", "invite_expires_at": "2001-01-01T10:00"},
            "invite_expires_at",
        ),
        ({"name": "Club", "max_members": "5", "invite_expires_at": "someday"}, "invite_expires_at"),
    ],
)
def test_a_bad_field_is_refused_with_400_naming_it(admin, fields, field):
    """Each bad field answers 400: the form with its error, or the JSON error body."""
    browser = open_browser(admin)
    page = post_form(browser, "/circles/new", fields)
    assert page.status_code == 400
    assert f'id="id_{field}_error"' in text(page)
    response = post_json(browser, "/circles/new", fields)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Circle.objects.exists()


def test_the_htmx_form_answers_a_fragment(admin):
    browser = open_browser(admin)
    refused = post_htmx(browser, "/circles/new", {"name": "", "max_members": "3"})
    assert refused.status_code == 400
    assert "<html" not in text(refused)
    created = post_htmx(browser, "/circles/new", {"name": "Team", "max_members": "3"})
    assert created["HX-Redirect"] == "/circles/team/"


def test_join_by_invite_link(circle):
    """Signed out the invite page offers a log-in that returns; signed in, Join works."""
    invite = f"/join/{circle.invite_code}"
    page = text(open_browser().get(invite))
    assert circle.name in page
    assert f"/accounts/login/?next={invite}" in page
    newcomer = UserFactory()
    browser = open_browser(newcomer)
    assert "Join the circle" in text(browser.get(invite))
    response = post_form(browser, invite, {})
    assert response.status_code == 303
    assert response["Location"] == circle_page(circle)
    assert browser.get(circle_page(circle)).status_code == 200
    again = post_json(browser, invite, {})
    assert again.status_code == 200
    assert again.json()["joined"] is False


def test_a_full_circle_refuses_with_409(admin):
    circle = CircleFactory(user=admin, max_members=2)
    member_of(circle)
    browser = open_browser(UserFactory())
    page = browser.get(f"/join/{circle.invite_code}")
    assert page.status_code == 409
    assert "This circle is full" in text(page)
    assert post_form(browser, f"/join/{circle.invite_code}", {}).status_code == 409
    assert circle.memberships.count() == 2


def test_an_expired_invite_refuses_with_410(admin):
    circle = CircleFactory(user=admin, invite_expires_at=timezone.now() + timedelta(days=1))
    Circle.objects.filter(pk=circle.pk).update(invite_expires_at=timezone.now())
    browser = open_browser(UserFactory())
    page = browser.get(f"/join/{circle.invite_code}")
    assert page.status_code == 410
    assert "expired" in text(page)
    response = post_json(browser, f"/join/{circle.invite_code}", {})
    assert (response.status_code, response.json()["error"]["code"]) == (410, "invite_expired")


def test_an_unknown_invite_answers_404(db):
    page = open_browser(UserFactory()).get("/join/not-a-real-invite-code")
    assert page.status_code == 404
    assert "does not work" in text(page)


def test_rotating_the_invite_invalidates_the_old_link(circle, admin):
    """The admin's rotation answers htmx with the new link; the old one then 404s."""
    old = circle.invite_code
    browser = open_browser(admin)
    fragment = post_htmx(browser, f"/circles/{circle.slug}/invite/rotate", {})
    circle.refresh_from_db()
    assert fragment.status_code == 200
    assert f"/join/{circle.invite_code}" in text(fragment)
    assert "<html" not in text(fragment)
    assert open_browser(UserFactory()).get(f"/join/{old}").status_code == 404
    plain = post_form(browser, f"/circles/{circle.slug}/invite/rotate", {})
    assert plain.status_code == 303
    as_json = post_json(browser, f"/circles/{circle.slug}/invite/rotate", {})
    circle.refresh_from_db()
    assert as_json.json()["invite_url"].endswith(f"/join/{circle.invite_code}")


def test_a_member_cannot_rotate_or_remove(circle, member, admin):
    browser = open_browser(member)
    assert post_form(browser, f"/circles/{circle.slug}/invite/rotate", {}).status_code == 403
    removal = post_json(browser, f"/circles/{circle.slug}/members/{admin.pk}/remove", {})
    assert removal.status_code == 403
    assert "Make a new link" not in text(browser.get(circle_page(circle)))


def test_removal_revokes_access_at_once(circle, member, admin, private_poll):
    """A removed member gets 404 from the circle and its polls right after."""
    browser = open_browser(member)
    assert browser.get(private_poll.get_absolute_url()).status_code == 200
    fragment = post_htmx(
        open_browser(admin), f"/circles/{circle.slug}/members/{member.pk}/remove", {}
    )
    assert fragment.status_code == 200
    assert "bo" not in text(fragment).split("Removed:")[1]
    assert browser.get(circle_page(circle)).status_code == 404
    assert browser.get(private_poll.get_absolute_url()).status_code == 404


def test_leaving_asks_first_and_warns_the_last_member(circle, member, admin):
    page = text(open_browser(member).get(f"/circles/{circle.slug}/leave"))
    assert "You will no longer see the circle" in page
    assert "last member" not in page
    circle.memberships.filter(user=member).delete()
    assert "You are its last member" in text(
        open_browser(admin).get(f"/circles/{circle.slug}/leave")
    )


def test_leaving_revokes_access_at_once(circle, member, private_poll):
    browser = open_browser(member)
    response = post_form(browser, f"/circles/{circle.slug}/leave", {})
    assert (response.status_code, response["Location"]) == (303, "/circles/")
    assert not Membership.objects.filter(user=member).exists()
    assert browser.get(circle_page(circle)).status_code == 404
    assert browser.get(private_poll.get_absolute_url()).status_code == 404
    assert circle.name not in text(browser.get("/circles/"))


def test_non_members_get_404_from_every_circle_route(circle, outsider, admin):
    """The circle's page and actions do not confirm it exists to anyone outside it."""
    assert open_browser(outsider).get(f"/circles/{circle.slug}/leave").status_code == 404
    paths = [
        circle_page(circle),
        f"/circles/{circle.slug}/leave",
        f"/circles/{circle.slug}/invite/rotate",
        f"/circles/{circle.slug}/members/{admin.pk}/remove",
    ]
    for browser in (open_browser(), open_browser(outsider)):
        assert browser.get(paths[0]).status_code == 404
        for path in paths[1:]:
            assert post_form(browser, path, {}).status_code == 404, path
    assert circle.memberships.count() == 1


def test_the_circle_page_lists_its_polls_and_a_new_poll_link(circle, admin, private_poll):
    page = text(open_browser(admin).get(circle_page(circle)))
    assert private_poll.question in page
    assert f"/create?circle={circle.slug}" in page


def test_create_a_circle_poll(circle, member):
    """A member creates a poll in the circle from the form; it is not listed."""
    browser = open_browser(member)
    form = text(browser.get(f"/create?circle={circle.slug}"))
    assert f'<option value="{circle.slug}" selected>' in form
    response = post_form(
        browser,
        "/create",
        {"question": "Meet on Friday?", "options": OPTIONS, "circle": circle.slug},
    )
    assert response.status_code == 303
    poll = Poll.objects.get(question="Meet on Friday?")
    assert (poll.circle, poll.listed) == (circle, False)


def test_a_circle_you_are_not_in_is_refused_on_the_circle_field(circle, outsider):
    browser = open_browser(outsider)
    page = post_form(
        browser, "/create", {"question": "Sneak in?", "options": OPTIONS, "circle": circle.slug}
    )
    assert page.status_code == 400
    assert 'id="circle-error"' in text(page)
    response = post_json(
        browser, "/create", {"question": "Sneak in?", "options": OPTIONS, "circle": circle.slug}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "circle"
    anonymous = post_json(
        open_browser(), "/create", {"question": "Q?", "options": OPTIONS, "circle": circle.slug}
    )
    assert anonymous.json()["error"]["field"] == "circle"
    assert not Poll.objects.exists()


def test_the_circle_select_shows_only_to_members_of_circles(circle, admin, outsider):
    assert 'name="circle"' in text(open_browser(admin).get("/"))
    assert 'name="circle"' not in text(open_browser(outsider).get("/"))
    assert 'name="circle"' not in text(open_browser().get("/"))


def test_the_header_links_to_circles_when_signed_in(admin):
    assert 'href="/circles/"' in text(open_browser(admin).get("/"))
    assert 'href="/circles/"' not in text(open_browser().get("/"))


def test_a_json_client_creates_and_joins(admin):
    browser = open_browser(admin)
    created = post_json(browser, "/circles/new", {"name": "API club", "max_members": "4"})
    assert created.status_code == 201
    assert json.loads(created.content)["url"] == "/circles/api-club/"


def test_the_poll_and_share_pages_name_the_circle(circle, admin, private_poll):
    browser = open_browser(admin)
    assert f"Circle: {circle.name}" in text(browser.get(private_poll.get_absolute_url()))
    share = text(browser.get(f"/poll/{private_poll.code}/share"))
    assert "Only members of the circle" in share
