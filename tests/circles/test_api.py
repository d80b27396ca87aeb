"""Circles in the JSON API: list, create and members, for token, session and anonymous
clients; a circle's polls through the polls endpoints."""

from datetime import UTC, datetime

import pytest

from circles.models import Circle
from polls.models import Poll
from tests.accounts.factories import UserFactory
from tests.api.conftest import Browser, Program, bearer, error_of
from tests.circles.factories import member_of
from tests.helpers import open_browser

pytestmark = pytest.mark.django_db


def test_a_token_lists_its_circles(circle, admin, member):
    response = bearer(admin).get("/circles")
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert (item["slug"], item["members"], item["role"]) == (circle.slug, 2, "admin")
    assert item["invite_url"].endswith(f"/join/{circle.invite_code}")
    assert bearer(member).get("/circles").json()["items"][0]["role"] == "member"
    assert bearer(UserFactory()).get("/circles").json() == {"items": []}


def test_a_token_creates_a_circle(admin):
    response = bearer(admin).post(
        "/circles",
        {"name": "Team A", "max_members": 8, "invite_expires_at": "2999-01-01T09:30:00+02:00"},
    )
    assert response.status_code == 201
    assert response.json()["url"] == "/circles/team-a/"
    circle = Circle.objects.get()
    assert circle.memberships.get().user == admin
    assert circle.max_members == 8
    assert circle.invite_expires_at == datetime(2999, 1, 1, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Team", "max_members": 1}, "max_members"),
        ({"name": "Team", "max_members": "lots"}, "max_members"),
        ({"name": "Team", "invite_expires_at": "2000-01-01T00:00:00Z"}, "invite_expires_at"),
        ({"name": "Team\u0000"}, "name"),
        ({}, "name"),
    ],
)
def test_a_bad_field_answers_400_naming_it(admin, body, field):
    response = bearer(admin).post("/circles", body)
    assert response.status_code == 400
    assert error_of(response)["field"] == field


def test_the_session_needs_csrf_to_create(admin):
    browser = Browser(open_browser(admin))
    assert browser.post("/circles", {"name": "With CSRF"}).status_code == 201
    refused = browser.post("/circles", {"name": "No CSRF"}, csrf=False)
    assert (refused.status_code, error_of(refused)["code"]) == (403, "csrf_failed")
    assert browser.get("/circles").json()["items"][0]["name"] == "With CSRF"


def test_anonymous_clients_are_refused_with_401(circle):
    anonymous = Program(headers={})
    voter = Program(headers={"X-Voter-Token": anonymous.post("/voter-token").json()["voter_token"]})
    for client in (anonymous, voter, Browser(open_browser())):
        for response in (
            client.get("/circles"),
            client.post("/circles", {"name": "Nope"}),
            client.get(f"/circles/{circle.slug}/members"),
        ):
            assert response.status_code == 401
            assert error_of(response)["code"] == "unauthorized"
    assert Circle.objects.count() == 1


def test_members_are_listed_to_members_only(circle, admin, member):
    response = bearer(member).get(f"/circles/{circle.slug}/members")
    assert response.status_code == 200
    assert [(item["username"], item["role"]) for item in response.json()["items"]] == [
        ("ada", "admin"),
        ("bo", "member"),
    ]
    stranger = bearer(UserFactory()).get(f"/circles/{circle.slug}/members")
    assert (stranger.status_code, error_of(stranger)["code"]) == (404, "not_found")
    assert bearer(admin).get("/circles/no-such-circle/members").status_code == 404


def test_a_circle_poll_is_created_and_read_by_members_only(circle, admin):
    member = member_of(circle)
    api = bearer(member)
    created = api.post(
        "/polls", {"question": "API circle?", "options": ["A", "B"], "circle": circle.slug}
    )
    assert created.status_code == 201
    code = created.json()["code"]
    assert Poll.objects.get(code=code).circle == circle
    assert api.get(f"/polls/{code}").status_code == 200
    assert bearer(admin).get(f"/polls/{code}/results").status_code == 200
    for outsider in (bearer(UserFactory()), Program(headers={})):
        response = outsider.get(f"/polls/{code}")
        assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
        assert code not in [item["code"] for item in outsider.get("/polls").json()["items"]]


def test_a_circle_you_are_not_in_is_refused_on_create(circle):
    response = bearer(UserFactory()).post(
        "/polls", {"question": "Sneak?", "options": ["A", "B"], "circle": circle.slug}
    )
    assert (response.status_code, error_of(response)["field"]) == (400, "circle")
    assert not Poll.objects.exists()
