"""Fan-out: each server process delivers a poll's pushes to its own open pages of it.

Every process keeps a registry of its open poll sockets by poll and subscribes once per
watched poll: to a Redis channel with REDIS_URL (pushes published by any process), else
to nothing (the embedded default has one process; a publication is delivered on the spot).
A push names only its poll and its kind. On receiving it, the process reads the poll once
(polls.frames.read_push), renders each frame once, and writes the same frame to every local
socket of the poll (core.outlets). Per push and per socket it applies, from that one read,
the one rule for who may reach the poll (polls.visibility.PollAccess: a socket whose viewer
no longer passes gets nothing more and is closed) and the one rule for who sees numbers.

Pushes of one poll are delivered one after another; kinds that arrive meanwhile wait as a
set and go out together next, so a slow delivery coalesces instead of queueing.
"""

import asyncio
import logging
import weakref
from collections import Counter
from typing import Protocol

import redis
import redis.asyncio
from django.conf import settings
from django.db import connection

from core import push
from core.db import in_worker_thread
from core.outlets import Outlet
from core.voters import Voter
from polls import frames, viewers
from polls.selectors import Visibility

logger = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0
LISTEN_TIMEOUT = 1.0
REDIS_ERRORS = (redis.RedisError, OSError)
VOTER_KIND = "voter."  # + the voter's tag: that viewer's own pages render their snapshot


class PollSocket(Protocol):
    """What the fan-out needs of an open poll page (polls.consumers.PollTallyConsumer)."""

    voter: Voter
    is_staff: bool
    is_owner: bool
    present: bool
    voter_tag: str | None
    socket_id: str
    shown_version: int
    shown_viewers: int | None
    outlet: Outlet

    def sees_results(self, visibility: Visibility) -> bool: ...

    async def send_snapshot(self) -> None: ...

    async def close(self, code=None) -> None: ...


def channel_of(poll_id: int) -> str:
    # Redis pub/sub channels span its numbered databases: name the site's database too, so
    # two sites (or test runs) sharing one Redis never get each other's pushes.
    return f"tally:{connection.settings_dict['NAME']}:poll:{poll_id}"


class Hub:
    """One event loop's open poll sockets, its subscriptions, and their deliveries."""

    def __init__(self):
        self.sockets: dict[int, set[PollSocket]] = {}
        self.voter_tags: dict[int, Counter[str]] = {}  # the voters behind each poll's sockets
        self.pending: dict[int, set[str]] = {}
        self.deliveries: dict[int, asyncio.Task] = {}
        self.pubsub = None
        self.listener: asyncio.Task | None = None
        self.heartbeat: asyncio.Task | None = None

    def watch(self, poll_id: int, socket: PollSocket) -> None:
        """Deliver the poll's pushes to this socket until the task calling this (the socket's
        consumer) ends, however it ends: a disconnect, or the server killing it."""
        asyncio.current_task().add_done_callback(lambda _: self.unwatch(poll_id, socket))
        first = poll_id not in self.sockets
        self.sockets.setdefault(poll_id, set()).add(socket)
        self.voter_tags.setdefault(poll_id, Counter())[socket.voter_tag] += 1
        if self.heartbeat is None or self.heartbeat.done():
            self.heartbeat = asyncio.get_running_loop().create_task(self._keep_counted())
        if first and settings.REDIS_URL:
            self._ensure_listener()
            if self.pubsub is not None:
                self._spawn(self.pubsub.subscribe(channel_of(poll_id)))

    def unwatch(self, poll_id: int, socket: PollSocket) -> None:
        sockets = self.sockets.get(poll_id)
        if sockets is None or socket not in sockets:
            return
        sockets.remove(socket)
        self.voter_tags[poll_id][socket.voter_tag] -= 1
        if not sockets:
            del self.sockets[poll_id], self.voter_tags[poll_id]
            if self.pubsub is not None:
                self._spawn(self.pubsub.unsubscribe(channel_of(poll_id)))

    def receive(self, poll_id: int, kind: str) -> None:
        """A push of this poll was published: deliver it to the local sockets, if any."""
        if poll_id not in self.sockets:
            return
        if kind.startswith(VOTER_KIND) and not self.voter_tags[poll_id][kind[len(VOTER_KIND) :]]:
            return  # a vote from a browser that has no page of the poll open here
        self.pending.setdefault(poll_id, set()).add(kind)
        if poll_id not in self.deliveries:
            task = asyncio.get_running_loop().create_task(self._deliver(poll_id))
            self.deliveries[poll_id] = task

    async def _deliver(self, poll_id: int) -> None:
        try:
            while kinds := self.pending.pop(poll_id, None):
                try:
                    await self._push(poll_id, frozenset(kinds))
                except Exception:
                    logger.exception("Could not deliver a push of poll %s", poll_id)
        finally:
            del self.deliveries[poll_id]

    async def _push(self, poll_id: int, kinds: frozenset[str]) -> None:
        update = await in_worker_thread(frames.read_push, poll_id, kinds)
        snapshot_all = frames.STATE in kinds
        voters = {kind[len(VOTER_KIND) :] for kind in kinds if kind.startswith(VOTER_KIND)}
        snapshots = []
        for socket in list(self.sockets.get(poll_id, ())):
            if update is None or not update.access.admits(
                voter=socket.voter, is_staff=socket.is_staff
            ):
                self.unwatch(poll_id, socket)
                await socket.close()
                continue
            if update.tally is not None and update.version > socket.shown_version:
                socket.shown_version = update.version
                await socket.outlet.write(update.tally[socket.sees_results(update.visibility)])
            if update.comments is not None and not socket.present:
                await socket.outlet.write(update.comments[socket.is_owner])
            if update.viewers_frame is not None:
                socket.shown_viewers = update.viewers
                await socket.outlet.write(update.viewers_frame)
            if snapshot_all or socket.voter_tag in voters:
                snapshots.append(socket.send_snapshot())
        await asyncio.gather(*snapshots)

    async def _keep_counted(self) -> None:
        """Refresh the viewer entries of this process's sockets, one call per poll.

        A socket that ends leaves the registry, so its entry stops being refreshed and
        expires on its own, even if it never said goodbye.
        """
        while self.sockets:
            await asyncio.sleep(viewers.HEARTBEAT_INTERVAL)
            for poll_id, sockets in list(self.sockets.items()):
                watching = await viewers.viewers_seen(poll_id, [s.socket_id for s in sockets])
                if any(s.shown_viewers != watching for s in sockets):
                    # Someone left without a goodbye and their entry expired: update the pages.
                    await publish(poll_id, frames.VIEWERS)

    # Redis: one subscriber connection per process, one channel per watched poll.

    def _ensure_listener(self) -> None:
        if self.listener is None or self.listener.done():
            self.listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT
        )
        resumed = False
        try:
            while self.sockets:
                self.pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    await self._relay(self.pubsub, resumed=resumed)
                except REDIS_ERRORS as error:
                    logger.warning("Live pushes lost their Redis subscription: %s", error)
                    resumed = True
                    await asyncio.sleep(RECONNECT_DELAY)
                finally:
                    pubsub, self.pubsub = self.pubsub, None
                    await pubsub.aclose()
        finally:
            self.listener = None  # from here on, a socket that comes starts a new listener
            await client.aclose()

    async def _relay(self, pubsub, *, resumed: bool) -> None:
        await pubsub.subscribe(*(channel_of(poll_id) for poll_id in self.sockets))
        if resumed:  # catch up on what the pages missed while Redis was away
            for poll_id in list(self.sockets):
                self.receive(poll_id, frames.TALLY)
                self.receive(poll_id, frames.STATE)
        while self.sockets:
            message = await pubsub.get_message(timeout=LISTEN_TIMEOUT)
            if message is not None and message["type"] == "message":
                poll_id = int(message["channel"].rsplit(b":", 1)[1])
                self.receive(poll_id, message["data"].decode())

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("A live-push subscription change failed: %s", task.exception())


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (a server process has one loop; tests have many)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found


_publishers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis]" = (
    weakref.WeakKeyDictionary()
)


async def publish(poll_id: int, kind: str) -> None:
    """Have every server process deliver this kind of push to its pages of the poll."""
    if not settings.REDIS_URL:
        hub().receive(poll_id, kind)
        return
    loop = asyncio.get_running_loop()
    if loop is not push.server_loop():  # a one-off loop (a worker, a command): no reuse
        async with redis.asyncio.Redis.from_url(
            settings.REDIS_URL, **settings.REDIS_OPTIONS
        ) as client:
            await client.publish(channel_of(poll_id), kind)
        return
    client = _publishers.get(loop)
    if client is None:
        client = _publishers[loop] = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, **settings.REDIS_OPTIONS
        )
    await client.publish(channel_of(poll_id), kind)
