"""Fan-out: one read and one render per push per process, the same frame to every socket
of a poll, each socket's right to the poll checked afresh on every push."""

import asyncio
import socket

import pytest
import redis.asyncio
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from twisted.internet import abstract

from core import outlets
from polls import fanout, frames
from polls.models import Poll
from tests.helpers import receive_until, session_id
from tests.polls.factories import PollFactory
from tests.polls.test_consumers import DEADLINE, cast, connect, total_votes
from tests.polls.test_my_polls import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def signed_in_socket(poll, session: str):
    page = connect(poll)
    page.scope["headers"].append((b"cookie", f"sessionid={session}".encode()))
    return page


async def opened(page):
    connected, _ = await page.connect()
    assert connected
    await page.receive_from(timeout=DEADLINE)  # the snapshot
    return page


async def closed_by_server(page) -> bool:
    """Read until the server closes the socket; False if it sends a tally first."""
    while True:
        message = await page.receive_output(timeout=DEADLINE)
        if message["type"] == "websocket.close":
            return True
        if 'id="tally"' in message.get("text", ""):
            return False


async def test_a_socket_that_loses_the_right_to_the_poll_gets_nothing_more_and_is_closed():
    """Once a poll is hidden, a stranger's open socket is closed at the next push instead of
    getting it, while the owner's socket goes on following the votes."""
    owner = await database_sync_to_async(UserFactory)()
    poll = await database_sync_to_async(PollFactory)(owner=owner)
    stranger = await opened(connect(poll))
    own_page = await opened(signed_in_socket(poll, await database_sync_to_async(session_id)(owner)))

    await database_sync_to_async(
        lambda: Poll.objects.filter(pk=poll.pk).update(hidden_at=timezone.now())
    )()
    await cast(poll)

    assert await closed_by_server(stranger)
    frame = await receive_until(own_page, lambda html: total_votes(html) == 1)
    assert 'id="tally"' in frame
    await own_page.disconnect()


async def test_hiding_a_poll_closes_the_sockets_of_those_who_may_no_longer_see_it():
    """Staff hiding a poll closes its open pages at once, without waiting for a vote."""
    from polls.services.hiding import poll_hide

    poll = await database_sync_to_async(PollFactory)()
    page = await opened(connect(poll))
    await database_sync_to_async(poll_hide)(poll=poll, reason="Spam", actor=None)
    assert await closed_by_server(page)


async def test_one_render_per_push_per_visibility_class(monkeypatch):
    """However many sockets watch a poll, each push renders its tally once for those who see
    the numbers (the owner among them) and once for those who do not."""
    owner = await database_sync_to_async(UserFactory)()
    poll = await database_sync_to_async(PollFactory)(
        owner=owner, results_visibility=Poll.ResultsVisibility.AFTER_VOTE
    )
    hidden_pages = [await opened(connect(poll)) for _ in range(4)]
    session = await database_sync_to_async(session_id)(owner)
    owner_pages = [await opened(signed_in_socket(poll, session)) for _ in range(2)]
    renders = []
    render_tally = frames.render_tally
    monkeypatch.setattr(
        frames, "render_tally", lambda **kw: renders.append(kw["visible"]) or render_tally(**kw)
    )

    await cast(poll)
    for page in owner_pages:
        assert total_votes(await receive_until(page, lambda html: "%" in html)) == 1
    for page in hidden_pages:
        await receive_until(page, lambda html: "so far" in html and "1</span>" in html)

    assert sorted(renders) == [False, True]
    for page in hidden_pages + owner_pages:
        await page.disconnect()


# Slow sockets, on daphne's fast path: frames written straight to a Twisted transport.


class FakeReactor:
    def addWriter(self, writer):
        pass

    def removeWriter(self, writer):
        pass


class Transport(abstract.FileDescriptor):
    """Twisted's own send buffer; a reading client drains it after every write."""

    def __init__(self, *, reads: bool):
        super().__init__(reactor=FakeReactor())
        self.connected = 1
        self.reads = reads
        self.received: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.reads:
            self.received.append(b"".join(self._tempDataBuffer))
            self._tempDataBuffer, self._tempDataLen = [], 0

    def abortConnection(self):
        self.aborted = True


class DaphneSocket:
    """What the Outlet reads of daphne's protocol for one socket."""

    STATE_OPEN = 3

    def __init__(self, *, reads: bool):
        self.state = self.STATE_OPEN
        self.transport = Transport(reads=reads)
        self._perMessageCompress = None


def fast_path_socket(poll, protocol: DaphneSocket):
    page = connect(poll)
    page.scope[outlets.SCOPE_KEY] = protocol
    return page


def last_total_written(transport: Transport) -> int:
    totals = [total_votes(frame.decode(errors="replace")) for frame in transport.received]
    return max(totals, default=-1)


async def test_a_socket_that_never_reads_is_dropped_and_the_others_reach_the_final_tally(
    monkeypatch,
):
    """A client that stops reading is dropped once its unsent frames pass the limit; the
    others get every push and end at the final total, and nothing grows without bound."""
    monkeypatch.setattr(outlets, "BACKLOG_LIMIT", 8 * 1024)
    poll = await database_sync_to_async(PollFactory)()
    readers = [DaphneSocket(reads=True) for _ in range(3)]
    stalled = DaphneSocket(reads=False)
    pages = [await opened(fast_path_socket(poll, p)) for p in [*readers, stalled]]

    for _ in range(12):  # a dozen pushes, each a few kB
        await asyncio.gather(*(cast(poll) for _ in range(3)))
        await asyncio.sleep(0.15)
    end = asyncio.get_running_loop().time() + DEADLINE
    while asyncio.get_running_loop().time() < end and not all(
        last_total_written(p.transport) == 36 for p in readers
    ):
        await asyncio.sleep(0.1)

    assert [last_total_written(p.transport) for p in readers] == [36, 36, 36]
    assert stalled.transport.aborted
    frame_size = max(len(frame) for frame in readers[0].transport.received)
    assert outlets.unsent_bytes(stalled.transport) <= outlets.BACKLOG_LIMIT + frame_size
    for page in pages:
        await page.disconnect()


async def test_frames_on_the_fast_path_are_websocket_text_frames():
    """A frame written straight to the transport is what the client's WebSocket reads."""
    small, large = outlets.Frame("é" * 10), outlets.Frame("x" * 70_000)
    assert small.wire == b"\x81\x14" + "é".encode() * 10
    assert large.wire[:10] == b"\x81\x7f" + (70_000).to_bytes(8, "big")
    assert large.wire[10:] == large.payload
    medium = outlets.Frame("y" * 300)
    assert medium.wire[:4] == b"\x81\x7e\x01\x2c"


async def test_sockets_that_come_and_go_leave_no_watchers_or_subscriptions():
    """After rounds of pages opening and closing on several polls, the process watches no
    poll and (with Redis) holds no subscription."""
    polls = [await database_sync_to_async(PollFactory)() for _ in range(3)]
    for _ in range(3):
        pages = [await opened(connect(poll)) for poll in polls for _ in range(4)]
        await cast(polls[0])
        for page in pages:
            await page.disconnect()
    assert fanout.hub().sockets == {}
    if not settings.REDIS_URL:
        return
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    channels = [fanout.channel_of(poll.pk) for poll in polls]
    end = asyncio.get_running_loop().time() + DEADLINE
    while asyncio.get_running_loop().time() < end:
        counts = [count for _, count in await client.pubsub_numsub(*channels)]
        if counts == [0, 0, 0] and fanout.hub().listener is None:
            break
        await asyncio.sleep(0.2)
    await client.aclose()
    assert counts == [0, 0, 0]
    assert fanout.hub().listener is None


def test_a_frame_is_sent_at_once_and_only_the_rest_waits_in_the_transport():
    """With nothing queued, a frame goes out in one send; what the socket cannot take yet
    waits in the transport's buffer, and later frames queue behind it."""
    near, far = socket.socketpair()
    near.setblocking(False)
    try:
        transport = Transport(reads=False)
        transport.socket = near
        outlets.send_or_queue(transport, b"first")
        assert far.recv(100) == b"first"
        assert outlets.unsent_bytes(transport) == 0

        big = b"x" * (8 * 1024 * 1024)  # more than the kernel buffers take
        outlets.send_or_queue(transport, big)
        waiting = outlets.unsent_bytes(transport)
        assert 0 < waiting < len(big)
        outlets.send_or_queue(transport, b"last")
        assert outlets.unsent_bytes(transport) == waiting + 4
    finally:
        near.close()
        far.close()
