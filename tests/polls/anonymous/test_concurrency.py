"""Exactly once in an anonymous poll under real concurrency: the voter mark decides, in the
transaction that writes the ballot and the tally, on PostgreSQL through a daphne process."""

from collections import Counter

import pytest

from core.voters import new_voter_token
from polls.models import Ballot, BallotChoice, Poll, VoterMark
from tests.polls.factories import PollFactory
from tests.polls.test_concurrency import (
    _quiet_httpx,  # noqa: F401 - an autouse fixture, used here by its name
    csrf_token,  # noqa: F401 - a fixture, used here by its name
    explain,
    http_client,
    only_responses,
    option_votes,
    public_results,
    release_together,
    run_burst,
    status_counts,
    vote_request,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def burst_of_votes(server, *, code: str, tokens: list[str], csrf: str, chosen: list[int]):
    async def burst():
        async with http_client(server, len(tokens)) as client:
            return await release_together(
                len(tokens),
                lambda index: vote_request(
                    client, code=code, token=tokens[index], csrf=csrf, option_id=chosen[index]
                ),
            )

    return only_responses(run_burst(burst()), server)


def assert_nothing_names_a_voter(poll: Poll) -> None:
    ballots = Ballot.objects.filter(poll=poll)
    assert not ballots.exclude(voter_key__isnull=True).exists()
    assert not ballots.exclude(ip_key="").exists()
    assert not ballots.exclude(user__isnull=True).exists()


def test_distinct_voters_at_once_are_each_counted_once(on_postgres, live_daphne, csrf_token):  # noqa: F811
    """500 distinct voters at once: all accepted, exactly 500 counted, 500 marks, and no
    ballot names any of them."""
    voters = 500
    poll = PollFactory(anonymous=True)
    option_ids = list(poll.options.values_list("id", flat=True))
    tokens = [new_voter_token() for _ in range(voters)]
    chosen = [option_ids[index % len(option_ids)] for index in range(voters)]

    responses = burst_of_votes(
        live_daphne, code=poll.code, tokens=tokens, csrf=csrf_token, chosen=chosen
    )

    assert status_counts(responses) == {201: voters}, explain(responses, live_daphne)
    assert {response.json()["your_vote"] for response in responses} == {None}
    results = public_results(live_daphne, poll)
    assert results["total_votes"] == voters
    assert option_votes(results) == Counter(chosen)
    assert Ballot.objects.filter(poll=poll).count() == voters
    assert BallotChoice.objects.filter(ballot__poll=poll).count() == voters
    assert VoterMark.objects.filter(poll=poll).count() == voters
    assert_nothing_names_a_voter(poll)


def test_one_browser_voting_at_once_is_counted_once(on_postgres, live_daphne, csrf_token):  # noqa: F811
    """200 votes at once from one browser token: one accepted, 199 refused with 409."""
    attempts = 200
    poll = PollFactory(anonymous=True)
    option_ids = list(poll.options.values_list("id", flat=True))
    token = new_voter_token()

    responses = burst_of_votes(
        live_daphne,
        code=poll.code,
        tokens=[token] * attempts,
        csrf=csrf_token,
        chosen=[option_ids[index % len(option_ids)] for index in range(attempts)],
    )

    assert status_counts(responses) == {201: 1, 409: attempts - 1}, explain(responses, live_daphne)
    refusals = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refusals == {"already_voted"}
    assert public_results(live_daphne, poll)["total_votes"] == 1
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert VoterMark.objects.filter(poll=poll).count() == 1


def test_browsers_on_one_address_at_once_are_counted_once(on_postgres, live_daphne, csrf_token):  # noqa: F811
    """Token-and-address protection: 100 browsers from one address at once count once."""
    attempts = 100
    poll = PollFactory(anonymous=True, protection=Poll.Protection.TOKEN_IP)
    option = poll.options.first().pk

    responses = burst_of_votes(
        live_daphne,
        code=poll.code,
        tokens=[new_voter_token() for _ in range(attempts)],
        csrf=csrf_token,
        chosen=[option] * attempts,
    )

    assert status_counts(responses) == {201: 1, 409: attempts - 1}, explain(responses, live_daphne)
    assert public_results(live_daphne, poll)["total_votes"] == 1
    assert VoterMark.objects.filter(poll=poll).count() == 1
    assert_nothing_names_a_voter(poll)
