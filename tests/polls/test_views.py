"""Tally's HTTP contract: every vote outcome and poll creation, for htmx, plain forms and JSON."""

import json
import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from polls import services
from polls.models import Ballot, BallotChoice, IdempotentVote, Poll, TallyShard
from tests.helpers import post_form, post_htmx, post_json, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

TRANSPORTS = ["htmx", "form", "json"]


def new_voter(**defaults) -> Client:
    """A further browser that has opened the home page."""
    client = Client(enforce_csrf_checks=True, **defaults)
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value
    return client


def vote_url(poll) -> str:
    return f"/poll/{poll.code}/vote"


def send(transport, client, url, data, **headers):
    """POST data the way the given kind of client does."""
    if transport == "json":
        return post_json(client, url, data, **headers)
    if transport == "htmx":
        return post_htmx(client, url, data, **headers)
    return post_form(client, url, data, **headers)


def option_ids(poll) -> dict[str, int]:
    return {option.text: option.id for option in poll.options.all()}


def results(client, poll) -> dict:
    return client.get(f"/poll/{poll.code}/results").json()


def is_fragment(response) -> bool:
    return "<html" not in text(response)


# Accepted votes


def test_htmx_vote_is_answered_with_the_results_fragment(voter, poll):
    """An htmx vote gets 200 and a fragment with the results and "your vote is in"."""
    ids = option_ids(poll)
    response = post_htmx(voter, vote_url(poll), {"option": ids["Green"]})
    assert response.status_code == 200
    body = text(response)
    assert is_fragment(response)
    assert 'id="vote-panel"' in body
    assert "Your vote is in." in body
    assert "You voted for <strong>Green</strong>" in body
    assert "100.0% · 1" in body
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_form_vote_redirects_to_the_poll_page_which_shows_the_vote(voter, poll):
    """A vote posted without JavaScript gets 303 to the poll page, which says what you chose."""
    ids = option_ids(poll)
    response = post_form(voter, vote_url(poll), {"option": ids["Blue"]})
    assert response.status_code == 303
    assert response["Location"].split("?")[0] == f"/poll/{poll.code}"
    page = voter.get(response["Location"])
    assert page.status_code == 200
    assert "You voted for <strong>Blue</strong>" in text(page)
    assert "Your vote is in." in text(page)
    assert "100.0% · 1" in text(page)


def test_json_vote_answers_201_with_the_results_document(voter, other_voter, poll):
    """A JSON vote gets 201 and exactly the results JSON plus your_vote, percentages to 0.1."""
    ids = option_ids(poll)
    third = new_voter()
    assert post_json(other_voter, vote_url(poll), {"option": ids["Red"]}).status_code == 201
    assert post_json(third, vote_url(poll), {"option": [ids["Green"]]}).status_code == 201
    response = post_json(voter, vote_url(poll), {"option": str(ids["Red"])})
    assert response.status_code == 201
    assert response.json() == {
        "code": poll.code,
        "question": poll.question,
        "total_votes": 3,
        "closed": False,
        "results_visible": True,
        "results_revealed": False,
        "options": [
            {"id": ids["Red"], "text": "Red", "votes": 2, "percentage": 66.7},
            {"id": ids["Green"], "text": "Green", "votes": 1, "percentage": 33.3},
            {"id": ids["Blue"], "text": "Blue", "votes": 0, "percentage": 0.0},
        ],
        "themes": [],  # no comments yet
        "your_vote": [ids["Red"]],
    }


def test_vote_comment_is_stored_and_shown(voter, poll):
    """A comment sent with a vote is kept and shown on the poll page."""
    ids = option_ids(poll)
    response = post_json(voter, vote_url(poll), {"option": ids["Red"], "comment": "Warm colour"})
    assert response.status_code == 201
    assert Ballot.objects.get(poll=poll).comment == "Warm colour"
    assert "Warm colour" in text(voter.get(f"/poll/{poll.code}"))


def test_multiple_choice_percentages_are_over_ballots(voter, other_voter):
    """On a multiple-choice poll each option's percentage is of ballots, not of choices."""
    poll = PollFactory(choice_type=Poll.ChoiceType.MULTIPLE)
    ids = option_ids(poll)
    form = post_form(voter, vote_url(poll), {"option": [ids["Red"], ids["Green"]]})
    assert form.status_code == 303
    assert post_json(other_voter, vote_url(poll), {"option": [ids["Red"]]}).status_code == 201
    last = post_json(new_voter(), vote_url(poll), {"option": [ids["Blue"]]})
    assert last.status_code == 201
    body = last.json()
    assert body["total_votes"] == 3
    assert [(o["votes"], o["percentage"]) for o in body["options"]] == [
        (2, 66.7),
        (1, 33.3),
        (1, 33.3),
    ]
    assert results(voter, poll)["total_votes"] == 3
    assert "You voted for <strong>Red, Green</strong>" in text(voter.get(f"/poll/{poll.code}"))


def test_returning_voter_sees_what_they_voted_for(voter, poll):
    """A voter who comes back to the poll sees "You voted for …" instead of the form."""
    ids = option_ids(poll)
    post_json(voter, vote_url(poll), {"option": ids["Green"]})
    page = text(voter.get(f"/poll/{poll.code}"))
    assert "You voted for <strong>Green</strong>" in page
    assert f'action="/poll/{poll.code}/vote"' not in page


# Refused votes


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_second_vote_from_the_same_browser_is_refused_with_409(transport, voter, poll):
    """A second vote from the same browser is refused with 409, "you already voted" and results."""
    ids = option_ids(poll)
    assert post_json(voter, vote_url(poll), {"option": ids["Red"]}).status_code == 201
    response = send(transport, voter, vote_url(poll), {"option": ids["Blue"]})
    assert response.status_code == 409
    if transport == "json":
        body = response.json()
        assert body["error"]["code"] == "already_voted"
        assert "already voted" in body["error"]["message"]
        assert body["results"]["total_votes"] == 1
        assert body["results"]["options"][0]["votes"] == 1
    else:
        assert "You already voted" in text(response)
        assert "100.0% · 1" in text(response)
        assert "You voted for <strong>Red</strong>" in text(response)
        assert is_fragment(response) == (transport == "htmx")
    assert list(BallotChoice.objects.values_list("option_id", flat=True)) == [ids["Red"]]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_vote_on_a_closed_poll_is_refused_with_final_results(transport, voter, other_voter, poll):
    """A vote on a closed poll gets 409, "This poll is closed" and the final results."""
    ids = option_ids(poll)
    post_json(other_voter, vote_url(poll), {"option": ids["Green"]})
    services.poll_close(poll=poll)
    response = send(transport, voter, vote_url(poll), {"option": ids["Red"]})
    assert response.status_code == 409
    if transport == "json":
        body = response.json()
        assert body["error"]["code"] == "closed"
        assert body["error"]["message"] == "This poll is closed."
        assert body["results"]["closed"] is True
        assert body["results"]["total_votes"] == 1
        assert body["results"]["options"][1]["votes"] == 1
    else:
        assert "This poll is closed." in text(response)
        assert "final results" in text(response)
        assert "100.0% · 1" in text(response)
    assert Ballot.objects.filter(poll=poll).count() == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_vote_on_a_poll_with_a_close_time_ahead_is_accepted(transport, voter):
    """A poll whose close time is still ahead accepts votes."""
    poll = PollFactory(closes_at=timezone.now() + timedelta(hours=1))
    response = send(transport, voter, vote_url(poll), {"option": option_ids(poll)["Red"]})
    assert response.status_code == {"htmx": 200, "form": 303, "json": 201}[transport]
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_vote_after_the_close_time_is_refused(voter):
    """A vote that arrives after the poll's close time gets 409 "This poll is closed"."""
    poll = PollFactory(closes_at=timezone.now() + timedelta(hours=1))
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    response = post_json(voter, vote_url(poll), {"option": option_ids(poll)["Red"]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "closed"
    assert not Ballot.objects.exists()


BAD_VOTES = {
    "unknown option": ({"option": 999_999_999}, "option"),
    "missing option": ({"comment": "no choice"}, "option"),
    "two options on a single-choice poll": ({"option": ["Red", "Green"]}, "option"),
    "non-numeric option": ({"option": "Red!"}, "option"),
    "comment too long": ({"option": "Red", "comment": "x" * 1001}, "comment"),
    "comment with a NUL byte": ({"option": "Red", "comment": "a\x00b"}, "comment"),
}


def resolve_options(body: dict, ids: dict[str, int]) -> dict:
    """Replace option texts by their ids, leaving other values alone."""

    def one(value):
        return ids.get(value, value) if isinstance(value, str) else value

    resolved = dict(body)
    if isinstance(body.get("option"), list):
        resolved["option"] = [one(value) for value in body["option"]]
    elif "option" in body:
        resolved["option"] = one(body["option"])
    return resolved


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", list(BAD_VOTES))
def test_bad_vote_is_refused_with_400_naming_the_field(case, transport, voter, poll):
    """A vote with a wrong or missing field gets 400 naming that field, and nothing is stored."""
    body, field = BAD_VOTES[case]
    response = send(transport, voter, vote_url(poll), resolve_options(body, option_ids(poll)))
    assert response.status_code == 400
    if transport == "json":
        error = response.json()["error"]
        assert error["field"] == field
        assert error["code"] == "invalid"
        assert error["message"]
    else:
        page = text(response)
        assert is_fragment(response) == (transport == "htmx")
        assert f'id="{field}-error"' in page
        assert f'aria-describedby="{field}-error"' in page
        if field == "comment":
            assert 'aria-invalid="true"' in page
        # The form is shown again so the voter can correct it.
        assert f'action="/poll/{poll.code}/vote"' in page
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"option": ', None),
        ("[1, 2]", None),
        ('"Red"', None),
        ("", None),
        ('{"option": {"id": 1}}', "option"),
        ('{"option": true}', "option"),
        ('{"option": 1.5}', "option"),
        ('{"option": [[1]]}', "option"),
        ('{"option": RED, "comment": ["a", "b"]}', "comment"),
        ('{"option": RED, "comment": false}', "comment"),
        ('{"option": RED, "comment": "\\ud800"}', "comment"),
    ],
)
def test_malformed_json_vote_is_refused_with_400(raw, field, voter, poll):
    """A JSON vote body that is not an object, or holds wrong types, gets 400 naming the field."""
    response = voter.post(
        vote_url(poll),
        data=raw.replace("RED", str(option_ids(poll)["Red"])).encode(),
        content_type="application/json",
        headers={"X-CSRFToken": voter.csrf_token},
        # The test client drops the content type of an empty body; a real client keeps it.
        CONTENT_TYPE="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    if field is None:
        assert error["code"] == "invalid_json"
        assert "field" not in error
    else:
        assert error["field"] == field
    assert not Ballot.objects.exists()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_vote_on_an_unknown_poll_is_404(transport, voter):
    """A vote on a poll that does not exist gets 404 with a helpful page or a JSON error."""
    response = send(transport, voter, "/poll/nosuchpoll/vote", {"option": 1})
    assert response.status_code == 404
    if transport == "json":
        assert response.json()["error"]["code"] == "not_found"
    else:
        assert "find that poll" in text(response)
        assert 'href="/"' in text(response)


def test_unknown_poll_page_is_a_helpful_404(client, db):
    """Opening a poll link that does not exist shows a not-found page with a way on."""
    response = client.get("/poll/nosuchpoll")
    assert response.status_code == 404
    assert "find that poll" in text(response)
    assert "Create a poll" in text(response)
    json_response = client.get("/poll/nosuchpoll/results", headers={"Accept": "application/json"})
    assert json_response.status_code == 404
    assert json_response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_too_many_votes_get_429_with_retry_after(transport, voter, poll, settings):
    """Votes over the per-voter limit get 429 with a Retry-After hint and are not counted."""
    settings.RATELIMITS = {**settings.RATELIMITS, "vote-voter": "1/m"}
    ids = option_ids(poll)
    assert send(transport, voter, vote_url(poll), {"option": ids["Red"]}).status_code in (
        200,
        201,
        303,
    )
    response = send(transport, voter, vote_url(poll), {"option": ids["Red"]})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    if transport == "json":
        assert response.json()["error"]["code"] == "rate_limited"
    else:
        assert "Too many requests" in text(response)
        assert "Try again in" in text(response)
    if transport == "htmx":
        # The notice replaces only the notice region: the form and tally stay on the page.
        assert response["HX-Retarget"] == "#notice"
        assert 'id="notice"' in text(response)
    if transport == "form":
        assert "<html" in text(response)
    assert Ballot.objects.filter(poll=poll).count() == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_database_failure_mid_vote_answers_503_and_keeps_nothing(transport, voter, poll):
    """When the database fails mid-vote the voter gets 503 "try again" and no part is stored."""
    ids = option_ids(poll)
    failure = OperationalError("database is locked")
    with mock.patch.object(BallotChoice.objects, "bulk_create", side_effect=failure):
        response = send(
            transport,
            voter,
            vote_url(poll),
            {"option": ids["Red"], "idempotency_key": "k-503"},
        )
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    if transport == "json":
        assert response.json()["error"]["code"] == "unavailable"
        assert "try again" in response.json()["error"]["message"]
    else:
        assert "try again" in text(response)
    assert not Ballot.objects.exists()
    assert not IdempotentVote.objects.exists()
    assert TallyShard.objects.filter(poll=poll).aggregate(total=Sum("count"))["total"] == 0
    # The same vote, sent again once the database is back, is accepted.
    retry = post_json(voter, vote_url(poll), {"option": ids["Red"], "idempotency_key": "k-503"})
    assert retry.status_code == 201
    assert retry.json()["total_votes"] == 1


# Who may vote, and how often


def test_first_page_view_sets_a_long_lived_httponly_voter_cookie(client, db):
    """The first page view gives the browser a year-long HttpOnly, SameSite=Lax voter token."""
    response = client.get("/")
    cookie = response.cookies[settings.VOTER_COOKIE_NAME]
    assert len(cookie.value) >= 32
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert 360 * 86400 <= int(cookie["max-age"]) <= 366 * 86400
    again = client.get("/")
    assert settings.VOTER_COOKIE_NAME not in again.cookies


def test_vote_without_a_voter_cookie_gets_one(poll):
    """A vote that arrives without a voter token is counted and the answer sets one."""
    client = Client()
    ids = option_ids(poll)
    response = client.post(vote_url(poll), {"option": ids["Red"]}, content_type="application/json")
    assert response.status_code == 201
    cookie = response.cookies[settings.VOTER_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    again = client.post(vote_url(poll), {"option": ids["Red"]}, content_type="application/json")
    assert again.status_code == 409


def test_ip_address_is_never_stored_raw(poll):
    """On a browser-and-address poll the address is kept only as a keyed hash."""
    poll = PollFactory(protection=Poll.Protection.TOKEN_IP)
    address = "203.0.113.77"
    voter = new_voter(REMOTE_ADDR=address)
    response = post_json(voter, vote_url(poll), {"option": option_ids(poll)["Red"]})
    assert response.status_code == 201
    ballot = Ballot.objects.get(poll=poll)
    assert re.fullmatch(r"[0-9a-f]{64}", ballot.ip_key)
    stored = json.dumps(list(Ballot.objects.filter(poll=poll).values()), default=str)
    assert address not in stored
    assert voter.cookies[settings.VOTER_COOKIE_NAME].value not in stored


def test_token_ip_poll_refuses_a_second_browser_on_the_same_address(db):
    """On a browser-and-address poll a second browser from the same address gets 409."""
    poll = PollFactory(protection=Poll.Protection.TOKEN_IP)
    ids = option_ids(poll)
    first = new_voter(REMOTE_ADDR="198.51.100.1")
    second = new_voter(REMOTE_ADDR="198.51.100.1")
    elsewhere = new_voter(REMOTE_ADDR="198.51.100.2")
    assert post_json(first, vote_url(poll), {"option": ids["Red"]}).status_code == 201
    refused = post_json(second, vote_url(poll), {"option": ids["Blue"]})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "already_voted"
    assert post_json(elsewhere, vote_url(poll), {"option": ids["Blue"]}).status_code == 201
    assert results(first, poll)["total_votes"] == 2


def test_token_poll_lets_two_browsers_on_one_address_vote(voter, other_voter, poll):
    """On a default (browser token) poll two browsers behind one address both vote."""
    ids = option_ids(poll)
    assert post_json(voter, vote_url(poll), {"option": ids["Red"]}).status_code == 201
    assert post_json(other_voter, vote_url(poll), {"option": ids["Red"]}).status_code == 201


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_account_poll_refuses_anonymous_voters_with_403(transport, voter):
    """On a signed-in-only poll an anonymous vote gets 403 and is not counted."""
    poll = PollFactory(protection=Poll.Protection.ACCOUNT)
    response = send(transport, voter, vote_url(poll), {"option": option_ids(poll)["Red"]})
    assert response.status_code == 403
    if transport == "json":
        assert response.json()["error"]["code"] == "login_required"
    else:
        assert "Sign in to vote" in text(response)
    assert not Ballot.objects.exists()


def test_account_poll_counts_one_vote_per_signed_in_user(voter, django_user_model):
    """On a signed-in-only poll a signed-in user votes once, whatever the browser."""
    poll = PollFactory(protection=Poll.Protection.ACCOUNT)
    ids = option_ids(poll)
    user = django_user_model.objects.create_user(username="ada", password="pw-123456789")
    voter.force_login(user)
    assert post_json(voter, vote_url(poll), {"option": ids["Red"]}).status_code == 201
    laptop = new_voter()
    laptop.force_login(user)
    assert post_json(laptop, vote_url(poll), {"option": ids["Blue"]}).status_code == 409
    assert Ballot.objects.get(poll=poll).user == user


# Idempotency-Key


def test_replayed_idempotency_key_header_returns_the_first_answer(voter, other_voter, poll):
    """A vote resent with the same Idempotency-Key gets the first status and body, counted once."""
    ids = option_ids(poll)
    headers = {"Idempotency-Key": "retry-1"}
    first = post_json(voter, vote_url(poll), {"option": ids["Red"]}, **headers)
    post_json(other_voter, vote_url(poll), {"option": ids["Green"]})
    replay = post_json(voter, vote_url(poll), {"option": ids["Blue"]}, **headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.json()["your_vote"] == [ids["Red"]]
    assert Ballot.objects.filter(poll=poll).count() == 2
    fresh_key = post_json(voter, vote_url(poll), {"option": ids["Red"]}, **{"Idempotency-Key": "2"})
    assert fresh_key.status_code == 409


def test_replayed_idempotency_key_of_a_refusal_returns_the_same_refusal(voter, poll):
    """A refused vote resent with its Idempotency-Key gets the same 409 body again."""
    ids = option_ids(poll)
    post_json(voter, vote_url(poll), {"option": ids["Red"]})
    headers = {"Idempotency-Key": "retry-409"}
    first = post_json(voter, vote_url(poll), {"option": ids["Blue"]}, **headers)
    replay = post_json(voter, vote_url(poll), {"option": ids["Blue"]}, **headers)
    assert first.status_code == replay.status_code == 409
    assert replay.json() == first.json()


def test_replayed_idempotency_key_form_field_redirects_again_without_a_second_vote(voter, poll):
    """A plain form vote resent with the same idempotency_key field gets the same 303."""
    ids = option_ids(poll)
    data = {"option": ids["Green"], "idempotency_key": "form-retry"}
    first = post_form(voter, vote_url(poll), data)
    replay = post_form(voter, vote_url(poll), data)
    assert first.status_code == replay.status_code == 303
    assert replay["Location"] == first["Location"]
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert results(voter, poll)["total_votes"] == 1


def test_replayed_idempotency_key_from_json_body_is_honoured(voter, poll):
    """A JSON vote resent with the same idempotency_key field gets the same 201 body."""
    ids = option_ids(poll)
    body = {"option": ids["Green"], "idempotency_key": "json-field"}
    first = post_json(voter, vote_url(poll), body)
    replay = post_json(voter, vote_url(poll), body)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert Ballot.objects.count() == 1


# Results visibility


def test_after_vote_results_are_hidden_until_the_browser_votes(voter, other_voter):
    """With "after voting" visibility, counts are null until this browser has voted."""
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.AFTER_VOTE)
    ids = option_ids(poll)
    post_json(other_voter, vote_url(poll), {"option": ids["Red"]})
    hidden = results(voter, poll)
    assert hidden["results_visible"] is False
    assert all(o["votes"] is None and o["percentage"] is None for o in hidden["options"])
    page = text(voter.get(f"/poll/{poll.code}"))
    assert "Results appear once you have voted." in page
    assert "100.0%" not in page
    voted = post_json(voter, vote_url(poll), {"option": ids["Green"]})
    assert voted.json()["results_visible"] is True
    assert [o["votes"] for o in voted.json()["options"]] == [1, 1, 0]
    assert results(voter, poll)["options"][0]["percentage"] == 50.0


def test_after_close_results_are_hidden_until_the_poll_closes(voter, other_voter):
    """With "after close" visibility, even voters see null counts until the poll closes."""
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.AFTER_CLOSE)
    ids = option_ids(poll)
    voted = post_json(voter, vote_url(poll), {"option": ids["Red"]})
    assert voted.status_code == 201
    assert voted.json()["results_visible"] is False
    assert voted.json()["options"][0]["votes"] is None
    assert voted.json()["your_vote"] == [ids["Red"]]
    assert "Results appear when the poll closes." in text(voter.get(f"/poll/{poll.code}"))
    services.poll_close(poll=poll)
    for client in (voter, other_voter):
        shown = results(client, poll)
        assert shown["results_visible"] is True
        assert shown["options"][0] == {
            "id": ids["Red"],
            "text": "Red",
            "votes": 1,
            "percentage": 100.0,
        }


@pytest.mark.parametrize("visibility", ["after_vote", "after_close"])
def test_poll_owner_always_sees_results(visibility, voter, other_voter):
    """The browser that created a poll sees its counts whatever the visibility setting."""
    created = post_json(
        voter,
        "/create",
        {
            "question": "Tea or coffee?",
            "options": ["Tea", "Coffee"],
            "results_visibility": visibility,
        },
    )
    poll = Poll.objects.get(code=created.json()["code"])
    post_json(other_voter, vote_url(poll), {"option": option_ids(poll)["Tea"]})
    assert results(voter, poll)["options"][0]["votes"] == 1
    assert results(other_voter, poll)["results_visible"] is (visibility == "after_vote")
    assert results(new_voter(), poll)["options"][0]["votes"] is None


# CSRF


def test_single_choice_vote_naming_one_option_twice_is_one_answer(voter, poll):
    """Sending the same option twice on a one-answer poll counts as that one answer."""
    red = option_ids(poll)["Red"]
    response = post_json(voter, vote_url(poll), {"option": [red, red]})
    assert response.status_code == 201
    assert response.json()["your_vote"] == [red]


def test_vote_without_csrf_token_is_refused(client, poll):
    """A vote without the CSRF token is refused with 403, JSON included, and not counted."""
    client.get("/")
    option = option_ids(poll)["Red"]
    assert client.post(vote_url(poll), {"option": option}).status_code == 403
    json_vote = client.post(vote_url(poll), {"option": option}, content_type="application/json")
    assert json_vote.status_code == 403
    assert json_vote.json()["error"]["code"] == "csrf_failed"
    htmx_vote = client.post(vote_url(poll), {"option": option}, headers={"HX-Request": "true"})
    assert htmx_vote.status_code == 403
    assert not Ballot.objects.exists()


def test_create_without_csrf_token_is_refused(client, db):
    """Creating a poll without the CSRF token is refused with 403, JSON included."""
    client.get("/")
    body = {"question": "Forged?", "options": ["Yes", "No"]}
    assert client.post("/create", body).status_code == 403
    assert client.post("/create", body, content_type="application/json").status_code == 403
    assert not Poll.objects.exists()


# Creating polls


def test_json_create_answers_201_with_code_and_links(voter):
    """A JSON create gets 201 with the poll's code, page URL and share URL."""
    response = post_json(
        voter,
        "/create",
        {"question": "Best pet?", "description": "Be honest.", "options": ["Cat", " Dog ", ""]},
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "code": body["code"],
        "url": f"/poll/{body['code']}",
        "share_url": f"/poll/{body['code']}/share",
    }
    poll = Poll.objects.get(code=body["code"])
    assert poll.description == "Be honest."
    assert [o.text for o in poll.options.all()] == ["Cat", "Dog"]
    assert voter.get(body["url"]).status_code == 200


def test_form_create_redirects_to_the_share_page(voter):
    """A create posted without JavaScript gets 303 to the new poll's share page."""
    response = post_form(voter, "/create", {"question": "Lunch?", "options": ["Soup", "Salad"]})
    assert response.status_code == 303
    poll = Poll.objects.get()
    assert response["Location"] == f"/poll/{poll.code}/share"
    assert "Your poll is live." in text(voter.get(response["Location"]))


def test_htmx_create_redirects_the_browser_with_hx_redirect(voter):
    """An htmx create answers with HX-Redirect to the share page."""
    response = post_htmx(voter, "/create", {"question": "Lunch?", "options": ["Soup", "Salad"]})
    poll = Poll.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/poll/{poll.code}/share"


def test_create_applies_defaults_when_settings_are_absent(voter):
    """A poll created with only a question and options gets the documented defaults."""
    response = post_json(voter, "/create", {"question": "Defaults?", "options": ["A", "B"]})
    poll = Poll.objects.get(code=response.json()["code"])
    assert poll.choice_type == Poll.ChoiceType.SINGLE
    assert poll.results_visibility == Poll.ResultsVisibility.ALWAYS
    assert poll.allow_comments is True
    assert poll.protection == Poll.Protection.TOKEN
    assert poll.listed is True
    assert poll.closes_at is None
    assert poll.timezone == "UTC"


def test_create_honours_the_settings_fields(voter):
    """A poll created with settings fields keeps them, the close time in the creator's zone."""
    response = post_form(
        voter,
        "/create",
        {
            "question": "Settings?",
            "options": ["A", "B", "C"],
            "choice_type": "multiple",
            "results_visibility": "after_close",
            "comments": "off",
            "protection": "token_ip",
            "visibility": "unlisted",
            "closes_at": "2099-06-01T12:00",
            "timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 303
    poll = Poll.objects.get()
    assert poll.is_multiple
    assert poll.results_visibility == "after_close"
    assert poll.allow_comments is False
    assert poll.protection == "token_ip"
    assert poll.listed is False
    assert poll.timezone == "Europe/Paris"
    assert poll.closes_at.isoformat() == "2099-06-01T10:00:00+00:00"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "", "options": ["A", "B"]}, "question"),
        ({"question": "Q" * 501, "options": ["A", "B"]}, "question"),
        ({"question": "One option?", "options": ["Only"]}, "options"),
        ({"question": "Twice?", "options": ["Same", " same "]}, "options"),
        (
            {"question": "Closes?", "options": ["A", "B"], "closes_at": "2000-01-01T00:00"},
            "closes_at",
        ),
        ({"question": "Type?", "options": ["A", "B"], "choice_type": "triple"}, "choice_type"),
    ],
)
def test_invalid_create_is_refused_with_400_naming_the_field(body, field, transport, voter):
    """An invalid poll gets 400 naming the field, the form shown again with its error."""
    response = send(transport, voter, "/create", body)
    assert response.status_code == 400
    if transport == "json":
        assert response.json()["error"]["field"] == field
        assert response.json()["error"]["message"]
    else:
        page = text(response)
        assert is_fragment(response) == (transport == "htmx")
        assert 'id="create-form"' in page
        if field in ("question", "closes_at"):
            assert f'aria-invalid="true" aria-describedby="{field}-error"' in page
            assert f'id="{field}-error"' in page
        elif field == "options":
            assert 'id="options-error"' in page
        else:
            assert "Select a valid choice" in page
        # What was typed is kept.
        assert f'value="{body["options"][0]}"' in page
    assert not Poll.objects.exists()


def test_add_option_without_javascript_posts_back_one_more_field(voter):
    """Without JavaScript, "Add option" shows the form again with one more empty option."""
    response = post_form(
        voter,
        "/create",
        {"question": "Pizza?", "options": ["Cheese", "Mushroom", "Olive"], "add_option": "1"},
    )
    assert response.status_code == 200
    page = text(response)
    inputs = re.findall(r'<input type="text" name="options"[^>]*value="([^"]*)"', page)
    assert inputs == ["Cheese", "Mushroom", "Olive", ""]
    assert 'value="Pizza?"' in page
    assert "aria-invalid" not in page
    assert not Poll.objects.exists()


def test_add_option_with_htmx_returns_one_numbered_input(client, db):
    """The htmx "Add option" returns a single option input with the next number."""
    response = client.get("/create/option", {"n": "4"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert text(response).count('name="options"') == 1
    assert 'id="id_option_4"' in text(response)


def test_create_rate_limit_per_ip_answers_429(voter, settings):
    """Creating polls over the per-address limit gets 429 with Retry-After."""
    settings.RATELIMITS = {**settings.RATELIMITS, "create-ip": "2/h"}
    body = {"question": "Again?", "options": ["Yes", "No"]}
    assert post_json(voter, "/create", body).status_code == 201
    assert post_json(voter, "/create", body).status_code == 201
    response = post_json(voter, "/create", body)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert Poll.objects.count() == 2


# Pages


def test_share_page_shows_a_selectable_link_and_a_qr_code(voter, poll):
    """The share page offers the poll's full link in a selectable field and its QR code."""
    page = text(voter.get(f"/poll/{poll.code}/share"))
    link = re.search(r'<input id="share-link"[^>]*>', page).group(0)
    assert f'value="http://testserver/poll/{poll.code}"' in link
    assert "readonly" in link
    assert f'src="/poll/{poll.code}/qr.svg"' in page


def test_qr_code_is_an_svg(client, poll):
    """The QR code route answers an SVG image."""
    response = client.get(f"/poll/{poll.code}/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content[:200]
    assert b"</svg>" in response.content


def test_htmx_get_of_the_poll_returns_only_the_tally_fragment(voter, poll):
    """An htmx GET of a poll page returns just the tally fragment, for polling."""
    post_json(voter, vote_url(poll), {"option": option_ids(poll)["Blue"]})
    response = voter.get(f"/poll/{poll.code}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<section id="tally"')
    assert "100.0% · 1" in page
    assert "<form" not in page


def test_poll_with_no_votes_invites_the_first_vote(client, poll):
    """A poll with no votes says "Be the first to vote!"."""
    assert "Be the first to vote!" in text(client.get(f"/poll/{poll.code}"))


def test_health_is_ok(client, db):
    """The liveness check answers 200."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readiness_checks_database_channel_layer_and_broker(client, db):
    """The readiness check answers 200 with the database, channel layer and broker ok."""
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "ok",
        "broker": "ok",
    }


def test_close_time_is_shown_in_the_creators_time_zone(client, db):
    """A close time reads as the creator's wall-clock time, labelled with their zone."""
    closes_at = datetime(2030, 1, 15, 17, 30, tzinfo=UTC)
    poll = PollFactory(closes_at=closes_at, timezone_name="America/New_York")
    page = client.get(f"/poll/{poll.code}").content.decode()
    assert "closes Jan 15, 2030 12:30 (America/New_York)" in page
