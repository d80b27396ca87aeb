"""Redis killed under load: votes are still recorded and answered, pages still render, and
every open tab is correct again within seconds of Redis returning."""

import asyncio
import time

import httpx
import pytest
import websockets

from polls.models import Ballot
from tests.faults.load import Answer, vote_steadily
from tests.polls.factories import PollFactory
from tests.polls.test_live_server import shown_total
from tests.server import run_daphne

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RATE = 50  # votes a second
BEFORE, OUTAGE, AFTER = 3.0, 10.0, 2.0
SOCKETS = 5
CATCH_UP = 5.0  # seconds after Redis returns by which every tab must be right
SLOW = 2.0  # seconds: no answer may take this long


async def vote_steadily_on(server, poll, option_id, *, seconds: float, log: list) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        csrf = (await client.get("/")).cookies["csrftoken"]
        await vote_steadily(client, poll.code, option_id, csrf, rate=RATE, seconds=seconds, log=log)


async def follow(sock, seen: list[int], index: int) -> None:
    try:
        async for frame in sock:
            total = shown_total(frame)
            if total >= 0:
                seen[index] = total
    except websockets.ConnectionClosed:
        seen[index] = -2


def make_poll():
    poll = PollFactory()
    return poll, poll.options.first().id


async def test_votes_survive_redis_being_killed(on_postgres, private_redis, tmp_path, capsys):
    """Redis killed for 10 s while 50 votes/s arrive: no vote lost or invented, no 500, no
    slow answer, the poll page renders with "—" watching, and open tabs catch up."""
    poll, option_id = await asyncio.to_thread(make_poll)
    env = {
        "REDIS_URL": private_redis.url,
        # Limits on (and generous) so the per-process fallback limiter is what serves them.
        "RATELIMIT_ENABLE": "true",
        "RATELIMIT_VOTE_PER_IP": "100000/m",
        "RATELIMIT_VOTE_PER_VOTER": "100/m",
    }
    with run_daphne(log_dir=tmp_path, env=env) as server:
        ws_url = server.url.replace("http://", "ws://") + f"/ws/poll/{poll.code}/"
        sockets = [
            await websockets.connect(ws_url, origin="http://127.0.0.1", ping_interval=None)
            for _ in range(SOCKETS)
        ]
        seen = [-1] * SOCKETS
        readers = [asyncio.create_task(follow(sock, seen, i)) for i, sock in enumerate(sockets)]
        log: list[Answer] = []
        load = asyncio.create_task(
            vote_steadily_on(server, poll, option_id, seconds=BEFORE + OUTAGE + AFTER, log=log)
        )
        await asyncio.sleep(BEFORE)
        private_redis.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(1.0)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            page_started = time.monotonic()
            page = await client.get(f"/poll/{poll.code}")
            page_seconds = time.monotonic() - page_started
        await asyncio.sleep(max(0.0, killed_at + OUTAGE - time.monotonic()))
        private_redis.start()
        returned_at = time.monotonic()
        await load

        accepted = sum(1 for answer in log if answer.status == 201)
        counted = await asyncio.to_thread(Ballot.objects.filter(poll_id=poll.pk).count)
        while any(total != counted for total in seen) and time.monotonic() < returned_at + 30:
            await asyncio.sleep(0.05)
        caught_up = time.monotonic() - returned_at
        for sock in sockets:
            await sock.close()
        await asyncio.gather(*readers)

    during = [answer for answer in log if killed_at <= answer.started < returned_at]
    statuses = sorted({answer.status for answer in log})
    slowest = max(answer.seconds for answer in log)
    accepted_during = sum(1 for answer in during if answer.status == 201)
    with capsys.disabled():
        print(
            f"\n[redis outage] {len(log)} votes sent at {RATE}/s, Redis down {OUTAGE:.0f} s: "
            f"{accepted} answered 201 ({accepted_during} during the "
            f"outage), {counted} counted, lost {max(0, accepted - counted)}, statuses "
            f"{statuses}, slowest answer {slowest:.2f} s, poll page during the outage "
            f"{page.status_code} in {page_seconds:.2f} s, {SOCKETS} open tabs right "
            f"{caught_up:.1f} s after Redis returned"
        )
    assert counted == accepted, "every 201 is counted and nothing else is"
    assert 500 not in statuses
    assert 0 not in statuses, "no connection dropped"
    assert set(statuses) <= {201, 503}
    assert sum(1 for answer in during if answer.status == 201) > len(during) * 0.9, (
        "votes go on without Redis"
    )
    assert slowest < SLOW
    assert page.status_code == 200
    assert "—" in page.text
    assert seen == [counted] * SOCKETS
    assert caught_up <= CATCH_UP
