"""The fast vote route and its group-commit writer: exactly-once under concurrency (the
burst tests in test_concurrency.py run through it as well), one failing vote alone in its
failure, 503 with nothing written when it is overloaded, and a poll changed under a vote."""

import asyncio
import json
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from config.asgi import django_asgi_app
from core.voters import new_voter_token
from polls import services
from polls.fast_vote.route import FastVoteRoute, conninfo
from polls.fast_vote.writer import BallotDraft, GroupCommitWriter, Overloaded, Written
from polls.models import Ballot, Poll
from polls.selectors import poll_tally
from tests.polls.factories import PollFactory
from tests.polls.test_concurrency import (
    http_client,
    only_responses,
    public_results,
    release_together,
    run_burst,
    status_counts,
    vote_request,
)

CSRF = "f" * 32


@pytest.mark.django_db(transaction=True)
def test_distinct_voters_are_counted_as_answered(live_daphne):
    """200 distinct voters at once: the count equals the accepted answers, on either
    database (SQLite may answer 503 "try again", never count wrong)."""
    voters = 200
    poll = PollFactory()
    option_id = poll.options.first().id
    csrf = httpx.get(f"{live_daphne.url}/").cookies["csrftoken"]

    async def burst():
        async with http_client(live_daphne, voters) as client:
            return await release_together(
                voters,
                lambda index: vote_request(
                    client, code=poll.code, token=new_voter_token(), csrf=csrf, option_id=option_id
                ),
            )

    responses = only_responses(run_burst(burst()), live_daphne)
    statuses = status_counts(responses)
    assert set(statuses) <= {201, 503}
    assert public_results(live_daphne, poll)["total_votes"] == statuses[201]
    assert Ballot.objects.filter(poll=poll).count() == statuses[201]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_live_server_writes_votes_through_the_fast_route(on_postgres, live_daphne):
    """On PostgreSQL the server's votes are written on the fast route's own pool."""
    poll = PollFactory()
    option_id = poll.options.first().id
    csrf = httpx.get(f"{live_daphne.url}/").cookies["csrftoken"]

    async def one():
        async with http_client(live_daphne, 1) as client:
            return await vote_request(
                client, code=poll.code, token=new_voter_token(), csrf=csrf, option_id=option_id
            )

    assert run_burst(one()).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [connection.settings_dict["NAME"], "tally-fast-vote"],
        )
        assert cursor.fetchone()[0] > 0


@dataclass
class DraftVote:
    """A vote handed to the writer without a request: its outcome is what was written."""

    draft: BallotDraft

    def decide(self, written: Written):
        return written


async def answers_as_written(decided):
    return [outcome for _vote, outcome in decided]


def draft(poll: Poll, option_id: int, **changes) -> BallotDraft:
    values = {
        "poll_id": poll.pk,
        "version": poll.updated_at,
        "voter_key": "t:" + new_voter_token(),
        "ip_key": "",
        "option_ids": [option_id],
        "comment": "",
        "record_key": "",
    } | changes
    return BallotDraft(**values)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_one_failing_vote_does_not_fail_its_batch(on_postgres):
    """A vote the database refuses (a NUL byte in its comment) fails alone with Overloaded
    (503); the votes written in the same batch are all recorded and counted."""
    poll = await sync_to_async(PollFactory)()
    option_id = await sync_to_async(lambda: poll.options.first().id)()
    writer = GroupCommitWriter(
        conninfo=conninfo(),
        pool_size=1,
        batch_max=50,
        queue_max=100,
        timeout=10,
        after_commit=answers_as_written,
    )
    drafts = [draft(poll, option_id) for _ in range(20)]
    drafts[7] = draft(poll, option_id, comment="bad\x00byte")
    try:
        results = await asyncio.gather(
            *(writer.submit(DraftVote(each)) for each in drafts), return_exceptions=True
        )
    finally:
        await writer.close()
    assert isinstance(results[7], Overloaded)
    written = [result for index, result in enumerate(results) if index != 7]
    assert all(result.ballot_id is not None for result in written)
    assert await sync_to_async(Ballot.objects.filter(poll=poll).count)() == 19
    assert (await sync_to_async(poll_tally)(poll=poll)).total_votes == 19


def vote_json(poll: Poll, option_id: int, token: str) -> dict:
    return {
        "url": f"/poll/{poll.code}/vote",
        "headers": {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": CSRF,
            "Cookie": f"{settings.VOTER_COOKIE_NAME}={token}; csrftoken={CSRF}",
        },
        "content": json.dumps({"option": option_id}),
    }


async def post(app, request: dict) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(**request)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_overloaded_fast_route_answers_503_and_writes_nothing(on_postgres, settings):
    """With no room left in the queue a vote is answered 503 "try again", not recorded."""
    settings.FAST_VOTE_QUEUE_MAX = 0
    poll = await sync_to_async(PollFactory)()
    option_id = await sync_to_async(lambda: poll.options.first().id)()
    route = FastVoteRoute(django_asgi_app)
    try:
        response = await post(route, vote_json(poll, option_id, new_voter_token()))
    finally:
        await route.close()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"]
    assert await sync_to_async(Ballot.objects.filter(poll=poll).count)() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_vote_on_a_poll_changed_since_it_was_read_sees_the_change(on_postgres):
    """A poll revealed or closed after the route read it: the next vote is decided on the
    poll as it now is."""
    poll = await sync_to_async(PollFactory)(results_visibility=Poll.ResultsVisibility.AFTER_CLOSE)
    option_id = await sync_to_async(lambda: poll.options.first().id)()
    route = FastVoteRoute(django_asgi_app)
    try:
        first = await post(route, vote_json(poll, option_id, new_voter_token()))
        assert first.status_code == 201
        assert first.json()["results_visible"] is False
        await sync_to_async(services.poll_reveal)(poll=poll, revealed=True)
        second = await post(route, vote_json(poll, option_id, new_voter_token()))
        assert second.status_code == 201
        assert second.json()["results_visible"] is True
        assert second.json()["total_votes"] == 2
        await sync_to_async(services.poll_close)(poll=poll)
        third = await post(route, vote_json(poll, option_id, new_voter_token()))
    finally:
        await route.close()
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "closed"
    assert await sync_to_async(Ballot.objects.filter(poll=poll).count)() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_polls_the_fast_route_does_not_take_go_to_the_page_path(on_postgres):
    """Votes on polls open to changes go to Django's path and are counted the same."""
    poll = await sync_to_async(PollFactory)(vote_changes=Poll.VoteChanges.ALLOWED)
    option_ids = await sync_to_async(lambda: list(poll.options.values_list("id", flat=True)))()
    route = FastVoteRoute(django_asgi_app)
    token = new_voter_token()
    try:
        first = await post(route, vote_json(poll, option_ids[0], token))
        change = await post(route, vote_json(poll, option_ids[1], token))
        wrote = bool(route.writers)
    finally:
        await route.close()
    assert (first.status_code, change.status_code) == (201, 200)
    assert change.json()["your_vote"] == [option_ids[1]]
    assert not wrote
    chosen = await sync_to_async(
        lambda: Counter(Ballot.objects.filter(poll=poll).values_list("choices__option", flat=True))
    )()
    assert chosen == {option_ids[1]: 1}


def test_fast_route_is_off_without_postgresql():
    """The embedded default (SQLite) has no async driver: votes take Django's path."""
    assert settings.FAST_VOTE is (connection.vendor == "postgresql")
