"""Live pushes hand every database connection back to the pool.

A connection kept by a push is one the site cannot use again: after enough of them every
page and vote waits for the pool and fails. A server runs pushes in tasks of its own
loop, so the test follows votes on open pages across many loops and asks PostgreSQL's
pool, by its own figures, whether the pushes returned what they took.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from polls import services
from tests.helpers import receive_until
from tests.polls.factories import PollFactory
from tests.polls.test_consumers import cast, connect, total_votes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LOOPS = 12


def checked_out() -> int:
    stats = connection.pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


async def follow_a_vote_and_a_close(poll) -> None:
    page = connect(poll)
    assert (await page.connect())[0]
    await cast(poll)
    await receive_until(page, lambda html: total_votes(html) >= 1, deadline=20)
    await database_sync_to_async(services.poll_close)(poll=poll)
    await receive_until(page, lambda html: 'id="ballot"' in html, deadline=20)
    await page.disconnect()


def test_pushes_from_many_loops_return_every_connection(on_postgres):
    connection.close()
    before = checked_out()
    for _ in range(LOOPS):
        poll = PollFactory()
        connection.close()
        asyncio.run(follow_a_vote_and_a_close(poll))
    after = checked_out()
    assert after <= before + 2, f"{after - before} connections kept after {LOOPS} loops"
