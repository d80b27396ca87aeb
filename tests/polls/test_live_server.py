"""Live tallies through real daphne processes: across processes, slow clients, churn."""

import asyncio
import re
import socket
import time

import httpx
import psutil
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from core.voters import new_voter_token
from tests.polls.factories import PollFactory
from tests.server import run_daphne

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 60
FILES_HEADROOM = 25
TOTAL = re.compile(r"tabular-nums[^>]*>(\d+)</span> vote")
VIEWERS = re.compile(r'tabular-nums">(\d+)</span> watching')


def shown_total(html: str) -> int:
    match = TOTAL.search(html)
    return int(match.group(1)) if match else -1


def ws_url(server, poll) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/poll/{poll.code}/"


def open_socket(server, poll):
    return websockets.connect(
        ws_url(server, poll), origin="http://127.0.0.1", open_timeout=30, ping_interval=None
    )


async def cast_votes(server, poll, count: int, *, concurrency: int = 16) -> list[int]:
    """Vote `count` times through HTTP, each time as a new browser; return the statuses."""
    option_id = poll.first_option_id
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        csrf = (await client.get("/")).cookies["csrftoken"]
        gate = asyncio.Semaphore(concurrency)

        async def one() -> int:
            async with gate:
                client.cookies.clear()  # each vote is a browser of its own
                cookie = f"csrftoken={csrf}; {settings.VOTER_COOKIE_NAME}={new_voter_token()}"
                response = await client.post(
                    f"/poll/{poll.code}/vote",
                    json={"option": option_id},
                    headers={"X-CSRFToken": csrf, "Cookie": cookie},
                )
                return response.status_code

        return await asyncio.gather(*(one() for _ in range(count)))


async def follow(sock, seen: list[int], index: int) -> None:
    """Keep the latest total this socket was shown in seen[index], as a page would."""
    async for frame in sock:
        total = shown_total(frame)
        if total >= 0:
            seen[index] = total


async def wait_for_totals(seen: list[int], expected: int) -> list[int]:
    end = time.monotonic() + DEADLINE
    while any(total != expected for total in seen) and time.monotonic() < end:
        await asyncio.sleep(0.1)
    return seen


async def last_total(sock, expected: int, deadline: float = DEADLINE) -> int:
    """Read frames until the tally shows `expected` votes (or the deadline passes)."""
    end = time.monotonic() + deadline
    total = -1
    while total != expected and time.monotonic() < end:
        try:
            frame = await asyncio.wait_for(sock.recv(), timeout=end - time.monotonic())
        except TimeoutError:
            break
        total = shown_total(frame)
    return total


def open_stalled_socket(server, poll) -> socket.socket:
    """A poll socket opened by hand, with a tiny receive buffer, whose client never reads."""
    stalled = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(
        (
            f"GET /ws/poll/{poll.code}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ).encode()
    )
    return stalled


def database_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
            [connection.settings_dict["NAME"]],
        )
        return cursor.fetchone()[0]


def make_poll():
    poll = PollFactory()
    poll.first_option_id = poll.options.first().id
    return poll


@pytest.mark.postgres
async def test_vote_on_one_process_reaches_socket_on_another(on_postgres, tmp_path):
    """With Redis, a vote served by one server process is pushed to a page held by another."""
    poll = await asyncio.to_thread(make_poll)
    with (
        run_daphne(log_dir=tmp_path) as first,
        run_daphne(log_dir=tmp_path) as second,
    ):
        async with open_socket(second, poll) as sock:
            assert shown_total(await sock.recv()) == 0
            statuses = await cast_votes(first, poll, 3)
            assert statuses == [201, 201, 201]
            assert await last_total(sock, 3) == 3


async def test_stalled_client_does_not_hold_back_others(live_daphne):
    """A socket that never reads does not stop the others reaching the true final tally."""
    poll = await asyncio.to_thread(make_poll)
    server = psutil.Process(live_daphne.process.pid)
    stalled = open_stalled_socket(live_daphne, poll)
    try:
        sockets = [await open_socket(live_daphne, poll) for _ in range(10)]
        seen = [-1] * len(sockets)
        readers = [asyncio.create_task(follow(sock, seen, i)) for i, sock in enumerate(sockets)]
        rss_before = server.memory_info().rss
        statuses = await cast_votes(live_daphne, poll, 1000, concurrency=8)
        # SQLite may shed load with 503 ("try again"); whatever was accepted must show.
        assert set(statuses) <= {201, 503}
        accepted = statuses.count(201)
        assert accepted > 500
        assert await wait_for_totals(seen, accepted) == [accepted] * len(sockets)
        growth = server.memory_info().rss - rss_before
        assert growth < 64 * 1024 * 1024, f"server grew by {growth / 1e6:.1f} MB"
        for sock in sockets:
            await sock.close()
        await asyncio.gather(*readers)
    finally:
        stalled.close()


async def test_connection_churn_returns_to_baseline(live_daphne):
    """A thousand sockets opening and closing (some abruptly) leave no viewers, open files
    or database connections behind."""
    poll = await asyncio.to_thread(make_poll)
    server = psutil.Process(live_daphne.process.pid)

    async def cycle(index: int) -> None:
        sock = await open_socket(live_daphne, poll)
        await sock.recv()
        if index % 3 == 0:
            sock.transport.abort()  # the tab vanished: no closing handshake
        else:
            await sock.close()

    async def churn(cycles: int) -> int:
        for start in range(0, cycles, 50):
            await asyncio.gather(*(cycle(index) for index in range(start, start + 50)))
        await asyncio.sleep(2)
        return server.num_fds()

    # The first round warms the server's connection pools; the second must not leak.
    files_warm = await churn(500)
    files_after = await churn(500)

    async with httpx.AsyncClient(base_url=live_daphne.url, timeout=30) as client:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            page = (await client.get(f"/poll/{poll.code}")).text
            if not VIEWERS.search(page):
                break
            await asyncio.sleep(0.5)
        assert not VIEWERS.search(page), "viewer count did not return to zero"

    # The server's pools are bounded (PostgreSQL's at DATABASE_POOL_MAX_SIZE, one Redis and
    # one SQLite connection per worker thread) but may still grow towards their bounds in
    # the second round, depending on how many threads the churn kept busy at once. A
    # per-socket leak would add a file per socket: hundreds here.
    assert files_after <= files_warm + FILES_HEADROOM, (files_warm, files_after)
    if connection.vendor == "postgresql":
        pool_size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
        assert await sync_to_async(database_sessions)() <= pool_size + 2


async def test_server_drops_a_socket_that_never_reads(live_daphne):
    """Once its unsent pushes pass the limit, the server drops a socket whose client has
    stopped reading, instead of buffering for it without bound."""
    options = [f"{index} " + "a long option label " * 9 for index in range(20)]
    poll = await asyncio.to_thread(lambda: PollFactory(options=options))
    poll.first_option_id = await asyncio.to_thread(lambda: poll.options.first().id)
    stalled = open_stalled_socket(live_daphne, poll)
    try:
        end = time.monotonic() + DEADLINE
        dropped = False
        rounds = 0
        while not dropped and time.monotonic() < end:
            await cast_votes(live_daphne, poll, 20, concurrency=4)
            rounds += 1
            server_side = [
                c
                for c in psutil.Process(live_daphne.process.pid).net_connections(kind="tcp")
                if c.raddr and c.raddr.port == stalled.getsockname()[1]
            ]
            dropped = not any(c.status == psutil.CONN_ESTABLISHED for c in server_side)
        assert dropped, "the server still holds the stalled socket"
        assert rounds > 1, "dropped before any push could pile up: the handshake failed"
    finally:
        stalled.close()
