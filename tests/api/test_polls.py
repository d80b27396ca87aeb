"""The polls of the API: listing with cursors and search, creating, reading, the owner's
actions (refused to everyone else), results with ETag, and comments."""

from datetime import timedelta

import pytest
from django.utils import timezone

from polls import services
from polls.models import Ballot, Poll
from tests.api.conftest import error_of, option_ids
from tests.polls.factories import PollFactory

NEW_POLL = {"question": "Tea or coffee?", "options": ["Tea", "Coffee"]}


# Listing


def test_list_pages_through_listed_polls_newest_first_with_a_cursor(anonymous_api, db):
    """The list gives 20 listed polls a page, newest first, and `next` leads to the rest."""
    polls = [PollFactory() for _ in range(23)]
    PollFactory(listed=False)
    first = anonymous_api.get("/polls").json()
    assert [item["code"] for item in first["items"]] == [p.code for p in reversed(polls)][:20]
    assert first["next"]
    second = anonymous_api.get(f"/polls?cursor={first['next']}").json()
    assert [item["code"] for item in second["items"]] == [p.code for p in reversed(polls)][20:]
    assert second["next"] is None


def test_list_with_q_finds_what_search_finds(anonymous_api, db):
    """?q= runs the site's search: matching listed polls, never unlisted ones."""
    pizza = PollFactory(question="Best pizza topping?", options=["Pepperoni", "Mushroom"])
    PollFactory(question="Best pizza crust?", options=["Thin", "Thick"], listed=False)
    PollFactory(question="Favourite colour?")
    body = anonymous_api.get("/polls?q=pepperoni").json()
    assert [item["code"] for item in body["items"]] == [pizza.code]
    assert body["next"] is None


@pytest.mark.parametrize("query", ["cursor=notacursor", "cursor=eyJ0IjogMX0", "q=a%00b"])
def test_bad_list_parameters_are_refused_with_400(anonymous_api, db, query):
    """A cursor Tally did not give out, or a query with control characters, gets 400."""
    response = anonymous_api.get(f"/polls?{query}")
    assert response.status_code == 400
    assert error_of(response)["field"] == query.split("=")[0]


# Creating


def test_token_create_makes_the_accounts_poll(owner_api, owner):
    """A token's poll belongs to its account: 201 with the code and the page's links."""
    response = owner_api.post("/polls", {**NEW_POLL, "choice_type": "multiple"})
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"/poll/{body['code']}"
    assert body["share_url"] == f"/poll/{body['code']}/share"
    poll = Poll.objects.get(code=body["code"])
    assert poll.owner == owner
    assert poll.is_multiple
    assert [o.text for o in poll.options.all()] == ["Tea", "Coffee"]


def test_anonymous_program_create_gets_a_voter_token_that_owns_the_poll(anonymous_api):
    """An anonymous program's poll is managed with the voter token its answer carries."""
    from tests.api.conftest import Program

    response = anonymous_api.post("/polls", NEW_POLL)
    assert response.status_code == 201
    token = response["X-Voter-Token"]
    code = response.json()["code"]
    creator = Program({"X-Voter-Token": token})
    assert creator.get(f"/polls/{code}").json()["is_owner"] is True
    assert creator.post(f"/polls/{code}/close").status_code == 200


def test_session_create_belongs_to_the_signed_in_user(owner_browser, owner):
    """The browser's session creates polls for its user, with the CSRF token."""
    response = owner_browser.post("/polls", NEW_POLL)
    assert response.status_code == 201
    assert Poll.objects.get(code=response.json()["code"]).owner == owner


CREATE_REFUSALS = {
    "no question": ({"options": ["A", "B"]}, "question"),
    "one option": ({"question": "Q?", "options": ["A"]}, "options"),
    "duplicate options": ({"question": "Q?", "options": ["A", " a "]}, "options"),
    "question too long": ({"question": "x" * 501, "options": ["A", "B"]}, "question"),
    "unknown choice type": ({**NEW_POLL, "choice_type": "ranked"}, "choice_type"),
    "close time passed": ({**NEW_POLL, "closes_at": "2001-01-01T10:00"}, "closes_at"),
    "unknown time zone": ({**NEW_POLL, "timezone": "Mars/Olympus"}, "timezone"),
    "options not a list": ({"question": "Q?", "options": {"a": 1}}, "options"),
    "question not text": ({"question": ["Q?"], "options": ["A", "B"]}, "question"),
}


@pytest.mark.parametrize("case", list(CREATE_REFUSALS))
def test_invalid_create_is_refused_with_400_naming_the_field(case, owner_api):
    """A create the page's form refuses is refused by the API too, naming the field."""
    body, field = CREATE_REFUSALS[case]
    response = owner_api.post("/polls", body)
    assert response.status_code == 400
    assert error_of(response)["field"] == field
    assert not Poll.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[1, 2]", '"text"', "", "null"])
def test_a_body_that_is_not_a_json_object_is_refused_with_400(raw, owner_api):
    """A body that is not a JSON object gets 400 invalid_json and no field."""
    response = owner_api.request("POST", "/polls", raw.encode(), CONTENT_TYPE="application/json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_json"
    assert "field" not in error


def test_creating_too_fast_gets_429_with_ratelimit_headers(owner_api, settings):
    """Creation is limited per address as on the pages; answers carry RateLimit-* headers."""
    settings.RATELIMITS = {**settings.RATELIMITS, "create-ip": "2/h"}
    first = owner_api.post("/polls", NEW_POLL)
    assert first.status_code == 201
    assert first["RateLimit-Limit"] == "2"
    assert first["RateLimit-Remaining"] == "1"
    assert 1 <= int(first["RateLimit-Reset"]) <= 3600
    assert owner_api.post("/polls", NEW_POLL)["RateLimit-Remaining"] == "0"
    refused = owner_api.post("/polls", NEW_POLL)
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "rate_limited"
    assert refused["RateLimit-Remaining"] == "0"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert Poll.objects.count() == 2


# Reading


def test_read_shows_the_poll_and_whether_you_own_it(owner_api, stranger_api, owned_poll):
    """A poll reads the same for all, with is_owner true only for its owner."""
    mine = owner_api.get(f"/polls/{owned_poll.code}").json()
    theirs = stranger_api.get(f"/polls/{owned_poll.code}").json()
    assert mine["is_owner"] is True
    assert theirs["is_owner"] is False
    assert [o["text"] for o in mine["options"]] == ["Red", "Green", "Blue"]
    assert mine["results_visibility"] == "always"


@pytest.mark.parametrize("code", ["nosuchpoll", "UPPER", "x" * 40, "a%20b"])
def test_unknown_poll_is_404_with_the_error_body(anonymous_api, db, code):
    """Any code that names no poll gets 404 not_found, on every poll operation."""
    for response in (
        anonymous_api.get(f"/polls/{code}"),
        anonymous_api.get(f"/polls/{code}/results"),
        anonymous_api.get(f"/polls/{code}/comments"),
        anonymous_api.post(f"/polls/{code}/vote", {"option": 1}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_unknown_api_path_is_404_with_the_error_body(anonymous_api, db):
    """An address under /api/v1/ that is no endpoint answers the error body, not HTML."""
    response = anonymous_api.get("/no/such/thing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# The owner's actions


def test_owner_edits_text_and_settings(owner_api, owned_poll):
    """PATCH changes only the fields sent; the rest keep their values."""
    response = owner_api.patch(
        f"/polls/{owned_poll.code}", {"question": "Which colour?", "visibility": "unlisted"}
    )
    assert response.status_code == 200
    assert response.json()["question"] == "Which colour?"
    owned_poll.refresh_from_db()
    assert owned_poll.question == "Which colour?"
    assert owned_poll.listed is False
    assert owned_poll.allow_comments is True


def test_options_are_locked_once_votes_arrive(owner_api, voter_api, owned_poll):
    """After the first vote, changing the options is refused with 400 options_locked."""
    voter_api.post(f"/polls/{owned_poll.code}/vote", {"option": option_ids(owned_poll)["Red"]})
    response = owner_api.patch(f"/polls/{owned_poll.code}", {"options": ["Red", "Green"]})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "options_locked"
    assert error["field"] == "options"


def test_invalid_edit_is_refused_with_400(owner_api, owned_poll):
    """An edit the edit form refuses is refused, naming the field, and nothing changes."""
    response = owner_api.patch(f"/polls/{owned_poll.code}", {"question": ""})
    assert response.status_code == 400
    assert error_of(response)["field"] == "question"
    owned_poll.refresh_from_db()
    assert owned_poll.question.startswith("Which option")


def owner_actions(poll, ballot_id=0):
    code = poll.code
    return [
        ("PATCH", f"/polls/{code}", {"question": "Hijacked?"}),
        ("POST", f"/polls/{code}/close", {}),
        ("POST", f"/polls/{code}/reopen", {}),
        ("DELETE", f"/polls/{code}/comments/{ballot_id}", None),
        ("DELETE", f"/polls/{code}", None),
    ]


@pytest.mark.parametrize("who", ["stranger_api", "voter_api", "anonymous_api", "anonymous_browser"])
def test_owner_actions_refuse_everyone_else_with_403(who, request, owned_poll):
    """Editing, closing, reopening, removing a comment and deleting refuse non-owners."""
    client = request.getfixturevalue(who)
    ballot = Ballot.objects.create(poll=owned_poll, voter_key="t:x", comment="hi")
    for method, path, body in owner_actions(owned_poll, ballot.pk):
        response = client.request(method, path, body)
        assert response.status_code == 403, (method, path)
        assert error_of(response)["code"] == "forbidden"
    owned_poll.refresh_from_db()
    assert owned_poll.question.startswith("Which option")
    assert owned_poll.closed_at is None
    ballot.refresh_from_db()
    assert not ballot.comment_removed


@pytest.mark.parametrize("who", ["owner_api", "owner_browser"])
def test_owner_closes_reopens_and_deletes(who, request, owned_poll):
    """The owner (by token or session) closes (final results), reopens and deletes."""
    client = request.getfixturevalue(who)
    closed = client.post(f"/polls/{owned_poll.code}/close")
    assert closed.status_code == 200
    assert closed.json()["closed"] is True
    assert closed.json()["results_visible"] is True
    reopened = client.post(f"/polls/{owned_poll.code}/reopen")
    assert reopened.json()["closed"] is False
    deleted = client.delete(f"/polls/{owned_poll.code}")
    assert deleted.status_code == 204
    assert not Poll.objects.filter(pk=owned_poll.pk).exists()


# Results


def test_results_answer_an_etag_and_304_while_unchanged(anonymous_api, voter_api, poll):
    """Results carry an ETag; If-None-Match with it gets 304 until a vote changes them."""
    first = anonymous_api.get(f"/polls/{poll.code}/results")
    assert first.status_code == 200
    etag = first["ETag"]
    assert first.json()["total_votes"] == 0
    same = anonymous_api.get(f"/polls/{poll.code}/results", **{"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    voter_api.post(f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"]})
    changed = anonymous_api.get(f"/polls/{poll.code}/results", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["total_votes"] == 1
    assert changed["ETag"] != etag


@pytest.mark.parametrize("visibility", ["after_vote", "after_close"])
def test_hidden_results_stay_hidden(visibility, voter_api, anonymous_api, owner_api, owner):
    """Where the poll hides results, non-owners get null counts; the owner sees them."""
    poll = PollFactory(results_visibility=visibility, owner=owner)
    voter_api.post(f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"]})
    hidden = anonymous_api.get(f"/polls/{poll.code}/results").json()
    assert hidden["results_visible"] is False
    assert {o["votes"] for o in hidden["options"]} == {None}
    assert {o["percentage"] for o in hidden["options"]} == {None}
    shown = owner_api.get(f"/polls/{poll.code}/results").json()
    assert shown["results_visible"] is True
    assert shown["options"][0]["votes"] == 1
    after_vote = voter_api.get(f"/polls/{poll.code}/results").json()
    assert after_vote["results_visible"] is (visibility == "after_vote")


def test_results_hidden_until_close_show_after_it(anonymous_api, owner_api, owner):
    """An after-close poll shows its numbers to everyone once it closes."""
    poll = PollFactory(results_visibility="after_close", owner=owner)
    owner_api.post(f"/polls/{poll.code}/close")
    assert anonymous_api.get(f"/polls/{poll.code}/results").json()["results_visible"] is True


# Comments


def commented(poll, texts):
    from core.voters import Voter, new_voter_token

    ids = option_ids(poll)
    for text in texts:
        services.vote_cast(
            poll=poll,
            voter=Voter(token=new_voter_token(), ip=""),
            option_ids=[ids["Red"]],
            comment=text,
        )
    return list(Ballot.objects.filter(poll=poll).exclude(comment="").order_by("-created_at"))


def test_comments_list_newest_first_and_the_owner_removes_one(owner_api, anonymous_api, owned_poll):
    """Comments list newest first; the owner's removal hides one from the list."""
    ballots = commented(owned_poll, ["First!", "Second", "Third"])
    listed = anonymous_api.get(f"/polls/{owned_poll.code}/comments").json()
    assert [c["text"] for c in listed["items"]] == ["Third", "Second", "First!"]
    removed = owner_api.delete(f"/polls/{owned_poll.code}/comments/{ballots[1].pk}")
    assert removed.status_code == 204
    listed = anonymous_api.get(f"/polls/{owned_poll.code}/comments").json()
    assert [c["text"] for c in listed["items"]] == ["Third", "First!"]


def test_removing_an_unknown_comment_is_404(owner_api, owned_poll):
    """The owner removing a comment that is not on this poll gets 404."""
    other = PollFactory()
    ballot = commented(other, ["Elsewhere"])[0]
    for comment_id in (ballot.pk, 999_999, 0):
        response = owner_api.delete(f"/polls/{owned_poll.code}/comments/{comment_id}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_a_poll_closing_on_its_own_reads_closed(anonymous_api):
    """A poll whose close time has passed reads closed."""
    poll = PollFactory(closes_at=timezone.now() + timedelta(hours=1))
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    assert anonymous_api.get(f"/polls/{poll.code}").json()["closed"] is True
