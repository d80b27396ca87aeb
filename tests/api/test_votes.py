"""Voting through the API: the page's vote rules, driven through both the page and the API
with the same table, so the two cannot drift apart; voter tokens; Idempotency-Key."""

from datetime import timedelta

import pytest
from django.utils import timezone

from polls.models import Ballot, Poll
from tests.api.conftest import Program, error_of, option_ids
from tests.helpers import open_browser, post_json
from tests.polls.factories import PollFactory
from tests.polls.test_views import BAD_VOTES, resolve_options


def page_vote(poll, body, browser=None):
    browser = browser or open_browser()
    return post_json(browser, f"/poll/{poll.code}/vote", body)


def api_vote(poll, body, program=None):
    program = program or Program({})
    return program.post(f"/polls/{poll.code}/vote", body)


TRANSPORTS = {"page": page_vote, "api": api_vote}


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("case", list(BAD_VOTES))
def test_bad_votes_are_refused_alike_by_page_and_api(case, transport, poll):
    """Each bad vote of the page's table gets the same 400, code and field from both."""
    body, field = BAD_VOTES[case]
    response = TRANSPORTS[transport](poll, resolve_options(body, option_ids(poll)))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid", field)
    assert not Ballot.objects.exists()


def outcome_cases():
    """(name, poll fields, what happens before the vote, expected status, error code)."""
    return {
        "accepted": ({}, None, 201, None),
        "again": ({}, "vote", 409, "already_voted"),
        "closed": ({}, "close", 409, "closed"),
        "close time passed": ({"closes_at": "past"}, None, 409, "closed"),
        "signed-in only": ({"protection": Poll.Protection.ACCOUNT}, None, 403, "login_required"),
    }


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("case", list(outcome_cases()))
def test_vote_outcomes_agree_between_page_and_api(case, transport, db):
    """Accepted, repeated, closed and signed-in-only votes answer alike on page and API."""
    fields, before, status, code = outcome_cases()[case]
    closes_at = fields.pop("closes_at", None)
    poll = PollFactory(
        **fields, closes_at=timezone.now() + timedelta(hours=1) if closes_at else None
    )
    if closes_at:
        Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
        poll.refresh_from_db()
    client = open_browser() if transport == "page" else Program({})
    if transport == "api":
        token = client.post("/voter-token").json()["voter_token"]
        client = Program({"X-Voter-Token": token})
    vote = TRANSPORTS[transport]
    body = {"option": option_ids(poll)["Red"]}
    if before == "vote":
        assert vote(poll, body, client).status_code == 201
    if before == "close":
        from polls import services

        services.poll_close(poll=poll)
    response = vote(poll, body, client)
    assert response.status_code == status
    document = response.json()
    if code is None:
        assert document["your_vote"] == [option_ids(poll)["Red"]]
        assert document["total_votes"] == 1
        assert document["options"][0]["votes"] == 1
    else:
        assert error_of(response)["code"] == code
        assert document["results"]["code"] == poll.code


def test_vote_without_a_voter_token_is_answered_with_one(poll):
    """An anonymous program's first vote counts; X-Voter-Token in the answer is its voter."""
    anonymous = Program({})
    first = api_vote(poll, {"option": option_ids(poll)["Red"]}, anonymous)
    assert first.status_code == 201
    token = first["X-Voter-Token"]
    again = api_vote(poll, {"option": option_ids(poll)["Blue"]}, Program({"X-Voter-Token": token}))
    assert again.status_code == 409
    assert "X-Voter-Token" not in again
    assert again.json()["results"]["total_votes"] == 1


def test_voter_token_endpoint_issues_distinct_valid_tokens(anonymous_api):
    """POST /voter-token answers 201 with a fresh token each time."""
    tokens = {anonymous_api.post("/voter-token").json()["voter_token"] for _ in range(3)}
    assert len(tokens) == 3
    assert all(len(token) >= 32 for token in tokens)


def test_token_user_votes_once_on_a_signed_in_only_poll(owner_api, owner):
    """A personal token votes as its account: once, on a signed-in-only poll too."""
    poll = PollFactory(protection=Poll.Protection.ACCOUNT)
    ids = option_ids(poll)
    assert owner_api.post(f"/polls/{poll.code}/vote", {"option": ids["Red"]}).status_code == 201
    assert owner_api.post(f"/polls/{poll.code}/vote", {"option": ids["Blue"]}).status_code == 409
    assert Ballot.objects.get(poll=poll).user == owner


def test_multiple_choice_vote_takes_a_list(voter_api):
    """A multiple-choice poll takes a list of option ids."""
    poll = PollFactory(choice_type=Poll.ChoiceType.MULTIPLE)
    ids = option_ids(poll)
    response = voter_api.post(f"/polls/{poll.code}/vote", {"option": [ids["Red"], ids["Blue"]]})
    assert response.status_code == 201
    assert response.json()["your_vote"] == sorted([ids["Red"], ids["Blue"]])


def test_replayed_idempotency_key_gets_the_first_answer_and_no_second_vote(voter_api, poll):
    """A retry with the same Idempotency-Key gets the first status and body, counted once."""
    ids = option_ids(poll)
    first = voter_api.post(
        f"/polls/{poll.code}/vote", {"option": ids["Red"]}, **{"Idempotency-Key": "k1"}
    )
    retry = voter_api.post(
        f"/polls/{poll.code}/vote", {"option": ids["Blue"]}, **{"Idempotency-Key": "k1"}
    )
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_vote_rate_limit_answers_429_with_headers(voter_api, poll, settings):
    """Votes over the per-voter limit get 429 with Retry-After and RateLimit-* headers."""
    settings.RATELIMITS = {**settings.RATELIMITS, "vote-voter": "1/m"}
    ok = voter_api.post(f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"]})
    assert ok.status_code == 201
    assert ok["RateLimit-Limit"] == "1"
    assert ok["RateLimit-Remaining"] == "0"
    refused = voter_api.post(f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"]})
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert refused["RateLimit-Remaining"] == "0"


def test_vote_comment_is_listed_with_the_comments(voter_api, anonymous_api, poll):
    """A vote's comment shows in the poll's comments."""
    voter_api.post(
        f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"], "comment": "Red!"}
    )
    items = anonymous_api.get(f"/polls/{poll.code}/comments").json()["items"]
    assert [item["text"] for item in items] == ["Red!"]


@pytest.mark.parametrize("endpoint", ["vote", "ask"])
def test_a_form_body_from_a_browser_session_is_refused_with_415(endpoint, db):
    """A form post to a JSON endpoint, through the cookie session's CSRF check (which reads
    the form), gets 415 and what to send instead, not a server error."""
    poll = PollFactory()
    browser = open_browser()
    response = browser.post(
        f"/api/v1/polls/{poll.code}/{endpoint}",
        {"option": "1"},
        HTTP_X_CSRFTOKEN=browser.csrf_token,
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
