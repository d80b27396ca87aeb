"""Exactly-once voting under real concurrency: many requests released together against a
daphne process on PostgreSQL, each in its own connection, thread and transaction."""

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import pytest
from django.conf import settings
from django.db import connection

from core.voters import Voter, new_voter_token
from polls import services
from polls.models import Ballot, BallotChoice, Poll
from tests.polls.factories import PollFactory
from tests.server import LiveServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REQUEST_TIMEOUT = 60.0
BURST_DEADLINE = 240.0


@pytest.fixture(autouse=True)
def _quiet_httpx(caplog):
    """httpx logs every request at INFO: thousands of lines that bury a failure."""
    caplog.set_level(logging.WARNING, logger="httpx")


@pytest.fixture(scope="module")
def csrf_token(live_daphne: LiveServer) -> str:
    """A CSRF cookie value from the server; Django only compares cookie and header."""
    response = httpx.get(f"{live_daphne.url}/", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200, live_daphne.log_tail()
    return response.cookies["csrftoken"]


@asynccontextmanager
async def http_client(server: LiveServer, size: int):
    """An async client with a connection for each concurrent request and no shared cookies.

    The cookie jar refuses everything, so each request carries exactly the voter cookie
    it was given and nothing one voter received leaks to another.
    """
    async with httpx.AsyncClient(
        base_url=server.url,
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        timeout=REQUEST_TIMEOUT,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    ) as client:
        yield client


async def release_together(
    count: int, send: Callable[[int], Awaitable[httpx.Response]]
) -> list[httpx.Response | BaseException]:
    """Start count requests, hold them at one gate, then let them all go at once."""
    gate = asyncio.Event()

    async def one(index: int) -> httpx.Response:
        await gate.wait()
        return await send(index)

    tasks = [asyncio.create_task(one(index)) for index in range(count)]
    await asyncio.sleep(0)  # every task is now waiting at the gate
    gate.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def vote_request(
    client: httpx.AsyncClient,
    *,
    code: str,
    token: str,
    csrf: str,
    option_id: int,
    idempotency_key: str = "",
) -> Awaitable[httpx.Response]:
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Cookie": f"{settings.VOTER_COOKIE_NAME}={token}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return client.post(
        f"/poll/{code}/vote", content=json.dumps({"option": option_id}), headers=headers
    )


def run_burst(coroutine):
    """Run one burst of requests with a generous overall deadline."""
    return asyncio.run(asyncio.wait_for(coroutine, BURST_DEADLINE))


def only_responses(
    results: list[httpx.Response | BaseException], server: LiveServer
) -> list[httpx.Response]:
    failures = [result for result in results if isinstance(result, BaseException)]
    assert not failures, (
        f"{len(failures)} requests failed, first: {failures[0]!r}\n{server.log_tail()}"
    )
    return results


def status_counts(responses: list[httpx.Response]) -> Counter:
    return Counter(response.status_code for response in responses)


def explain(responses: list[httpx.Response], server: LiveServer) -> str:
    """Say what came back and what the server logged, for a failed assertion."""
    lines = [f"statuses: {dict(status_counts(responses))}"]
    failed = next((r for r in responses if r.status_code >= 500), None)
    if failed is not None:
        lines.append(f"first {failed.status_code}: {failed.text[:300]}")
    lines.append(f"server log:\n{server.log_tail(12)}")
    return "\n".join(lines)


def public_results(server: LiveServer, poll: Poll) -> dict:
    response = httpx.get(f"{server.url}/poll/{poll.code}/results", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200
    return response.json()


def option_votes(results: dict) -> dict[int, int]:
    return {option["id"]: option["votes"] for option in results["options"]}


def voter_key(token: str) -> str:
    return Voter(token=token, ip="").key


def close_poll_in_thread(poll_id: int) -> bool:
    """Close the poll through the service, from a thread with its own connection."""
    try:
        return services.poll_close(poll=Poll.objects.get(pk=poll_id))
    finally:
        connection.close()


def test_distinct_voters_at_once_are_each_counted_once(on_postgres, live_daphne, csrf_token):
    """500 distinct voters voting at once are all accepted and the tally counts exactly 500."""
    voters = 500
    poll = PollFactory()
    option_ids = list(poll.options.values_list("id", flat=True))
    tokens = [new_voter_token() for _ in range(voters)]
    chosen = [option_ids[index % len(option_ids)] for index in range(voters)]

    async def burst():
        async with http_client(live_daphne, voters) as client:
            return await release_together(
                voters,
                lambda index: vote_request(
                    client,
                    code=poll.code,
                    token=tokens[index],
                    csrf=csrf_token,
                    option_id=chosen[index],
                ),
            )

    responses = only_responses(run_burst(burst()), live_daphne)

    assert status_counts(responses) == {201: voters}, explain(responses, live_daphne)
    assert [response.json()["your_vote"] for response in responses] == [[o] for o in chosen]
    results = public_results(live_daphne, poll)
    assert results["total_votes"] == voters
    assert option_votes(results) == Counter(chosen)
    assert Ballot.objects.filter(poll=poll).count() == voters
    assert BallotChoice.objects.filter(ballot__poll=poll).count() == voters


def test_one_browser_voting_at_once_is_counted_once(on_postgres, live_daphne, csrf_token):
    """200 votes at once from one browser token: one is accepted, 199 are refused with 409."""
    attempts = 200
    poll = PollFactory()
    option_ids = list(poll.options.values_list("id", flat=True))
    token = new_voter_token()

    async def burst():
        async with http_client(live_daphne, attempts) as client:
            return await release_together(
                attempts,
                lambda index: vote_request(
                    client,
                    code=poll.code,
                    token=token,
                    csrf=csrf_token,
                    option_id=option_ids[index % len(option_ids)],
                ),
            )

    responses = only_responses(run_burst(burst()), live_daphne)

    assert status_counts(responses) == {201: 1, 409: attempts - 1}, explain(responses, live_daphne)
    accepted = next(response.json() for response in responses if response.status_code == 201)
    refusals = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refusals == {"already_voted"}
    results = public_results(live_daphne, poll)
    assert results["total_votes"] == 1
    assert option_votes(results) == {
        option_id: int(accepted["your_vote"] == [option_id]) for option_id in option_ids
    }
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_votes_racing_a_close_count_exactly_the_accepted_ones(
    on_postgres,
    live_daphne,
    csrf_token,
):
    """Votes racing a close: every accepted vote is counted, every "closed" refusal is not.

    The votes go in waves of 20 at once, so that whatever the speed of the vote path some
    are in flight while the close waits for them and some arrive after it.
    """
    voters = 200
    close_after = 50
    wave, wave_seconds = 20, 0.2
    poll = PollFactory()
    option_ids = list(poll.options.values_list("id", flat=True))
    tokens = [new_voter_token() for _ in range(voters)]
    chosen = [option_ids[index % len(option_ids)] for index in range(voters)]

    async def burst():
        answered = 0
        midway = asyncio.Event()

        async with http_client(live_daphne, voters) as client:

            async def send(index: int) -> httpx.Response:
                nonlocal answered
                await asyncio.sleep(wave_seconds * (index // wave))
                try:
                    return await vote_request(
                        client,
                        code=poll.code,
                        token=tokens[index],
                        csrf=csrf_token,
                        option_id=chosen[index],
                    )
                finally:
                    answered += 1
                    if answered >= close_after:
                        midway.set()

            async def close_midway() -> tuple[bool, float]:
                await midway.wait()
                started = time.monotonic()
                closed = await asyncio.to_thread(close_poll_in_thread, poll.pk)
                return closed, time.monotonic() - started

            closer = asyncio.create_task(close_midway())
            responses = await release_together(voters, send)
            return responses, await closer

    results_list, (closed_now, close_seconds) = run_burst(burst())
    responses = only_responses(results_list, live_daphne)

    assert closed_now
    statuses = status_counts(responses)
    assert set(statuses) <= {201, 409}, explain(responses, live_daphne)
    refusals = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refusals <= {"closed"}
    accepted = [index for index, r in enumerate(responses) if r.status_code == 201]
    refused = [index for index, r in enumerate(responses) if r.status_code == 409]
    # The close landed in the middle of the burst, or the test proved nothing.
    assert accepted
    assert refused, f"the close took {close_seconds:.2f}s and came after every vote"

    results = public_results(live_daphne, poll)
    assert results["closed"] is True
    assert results["total_votes"] == len(accepted)
    assert option_votes(results) == Counter(
        dict.fromkeys(option_ids, 0) | Counter(chosen[i] for i in accepted)
    )
    ballot_keys = set(Ballot.objects.filter(poll=poll).values_list("voter_key", flat=True))
    assert ballot_keys == {voter_key(tokens[index]) for index in accepted}
    assert ballot_keys.isdisjoint(voter_key(tokens[index]) for index in refused)
    poll.refresh_from_db()
    assert poll.closed_at is not None
    late = Ballot.objects.filter(poll=poll, created_at__gt=poll.closed_at)
    assert list(late.values_list("created_at", flat=True)) == [], (
        f"ballots recorded after the poll closed at {poll.closed_at}; "
        f"the close took {close_seconds:.2f}s"
    )


def test_replayed_idempotency_key_at_once_votes_once(on_postgres, live_daphne, csrf_token):
    """One Idempotency-Key sent 50 times at once records one vote and gives 50 equal answers."""
    replays = 50
    poll = PollFactory()
    option_id = poll.options.first().id
    token = new_voter_token()

    async def burst():
        async with http_client(live_daphne, replays) as client:
            return await release_together(
                replays,
                lambda index: vote_request(
                    client,
                    code=poll.code,
                    token=token,
                    csrf=csrf_token,
                    option_id=option_id,
                    idempotency_key="retry-me-0001",
                ),
            )

    responses = only_responses(run_burst(burst()), live_daphne)

    assert status_counts(responses) == {201: replays}, explain(responses, live_daphne)
    bodies = [response.json() for response in responses]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["your_vote"] == [option_id]
    assert bodies[0]["total_votes"] == 1
    assert public_results(live_daphne, poll)["total_votes"] == 1
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_changes_by_one_voter_racing_new_voters_count_every_ballot_once(
    on_postgres, live_daphne, csrf_token, capsys
):
    """One voter changes their vote 50 times at once while 200 others vote: 201 ballots,
    each counted once, on the option it ends on."""
    changes, newcomers = 50, 200
    poll = PollFactory(vote_changes=Poll.VoteChanges.ALLOWED)
    option_ids = list(poll.options.values_list("id", flat=True))
    changer = new_voter_token()
    tokens = [new_voter_token() for _ in range(newcomers)]

    async def first_vote():
        async with http_client(live_daphne, 1) as client:
            return await vote_request(
                client, code=poll.code, token=changer, csrf=csrf_token, option_id=option_ids[0]
            )

    assert run_burst(first_vote()).status_code == 201

    def send(client, index: int):
        if index < changes:
            token, option_id = changer, option_ids[1 + index % (len(option_ids) - 1)]
        else:
            token = tokens[index - changes]
            option_id = option_ids[index % len(option_ids)]
        return vote_request(
            client, code=poll.code, token=token, csrf=csrf_token, option_id=option_id
        )

    async def burst():
        async with http_client(live_daphne, changes + newcomers) as client:
            return await release_together(changes + newcomers, lambda index: send(client, index))

    responses = only_responses(run_burst(burst()), live_daphne)

    counts = status_counts(responses)
    assert counts == {200: changes, 201: newcomers}, explain(responses, live_daphne)
    results = public_results(live_daphne, poll)
    with capsys.disabled():
        print(
            f"\n[vote changes] {changes} changes by one voter + {newcomers} new voters at once:"
            f" {results['total_votes']} votes counted"
        )
    assert results["total_votes"] == 1 + newcomers
    ballots = Ballot.objects.filter(poll=poll)
    assert ballots.count() == 1 + newcomers
    ended_on = Counter(
        BallotChoice.objects.filter(ballot__poll=poll).values_list("option_id", flat=True)
    )
    assert option_votes(results) == {option_id: ended_on[option_id] for option_id in option_ids}
    changer_choice = BallotChoice.objects.get(ballot__voter_key=voter_key(changer)).option_id
    assert changer_choice != option_ids[0]
