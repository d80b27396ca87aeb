"""Live pages: coalesced pushes of a poll's tally, state, comments and viewer count.

The viewer count travels the same way in its own small fragment, at most every
VIEWERS_PUSH_INTERVAL seconds: tabs opening and closing must not cost a tally push each.

A vote marks its poll dirty. Each server process runs one coalescer on its event loop; it
pushes a dirty poll at most once per PUSH_INTERVAL window, and the window's slot is claimed
in the shared cache, so all processes together send at most ~10 pushes a second per poll.
A push is published to every process (polls.fanout), which reads the state once after
receiving it, so the last vote is always in a later push.
"""

import asyncio
import contextvars
import functools
import logging
import time
import weakref

from channels.layers import get_channel_layer
from django.utils import timezone

from core import push
from core.cache import cache_call
from core.db import in_worker_thread
from core.security import keyed_hash
from polls import fanout, frames
from polls.models import Poll

logger = logging.getLogger(__name__)

PUSH_INTERVAL = 0.1
PUSH_RETRY_DELAY = 0.5
VIEWERS_PUSH_INTERVAL = 2.0


def owner_group(user_id: int) -> str:
    """The user's open "My polls" pages, which follow their polls' vote counts."""
    return f"polls.owner.{user_id}"


def voter_tag(voter_key: str) -> str:
    """How pushes name one voter's own pages of a poll, without naming the voter."""
    return keyed_hash(voter_key, purpose="group")[:32]


async def push_tally(poll_id: int) -> None:
    await fanout.publish(poll_id, frames.TALLY)
    owner = await in_worker_thread(frames.owner_count, poll_id)
    if owner is not None:
        owner_id, html = owner
        await get_channel_layer().group_send(
            owner_group(owner_id), {"type": "poll.count", "html": html}
        )


push_state = functools.partial(fanout.publish, kind=frames.STATE)
push_comments = functools.partial(fanout.publish, kind=frames.COMMENTS)
push_viewers = functools.partial(fanout.publish, kind=frames.VIEWERS)


class Coalescer:
    """Pushes each dirty poll at most once per window, always after its latest change."""

    def __init__(self, *, name: str, interval: float, push):
        self.name = name
        self.interval = interval
        self.push = push
        self.dirty: set[int] = set()
        self.runner: asyncio.Task | None = None

    def mark(self, poll_id: int) -> None:
        self.dirty.add(poll_id)
        if self.runner is None or self.runner.done():
            self.runner = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        while self.dirty:
            window = int(time.time() / self.interval)
            for poll_id in list(self.dirty):
                slot = f"{self.name}-push:{poll_id}:{window}"
                if not await cache_call("add", slot, 1, timeout=int(self.interval) + 5):
                    continue  # another process pushed this poll in this window
                self.dirty.discard(poll_id)
                try:
                    await self.push(poll_id)
                except Exception:
                    # Redis is down (the fan-out's publish, or the channel layer's): keep
                    # the poll dirty and try again shortly, so open pages catch up later.
                    logger.exception("Could not push the %s of poll %s", self.name, poll_id)
                    self.dirty.add(poll_id)
                    await asyncio.sleep(PUSH_RETRY_DELAY)
            if self.dirty:
                next_window = (window + 1) * self.interval
                await asyncio.sleep(max(0.0, next_window - time.time()) + 0.001)


class LoopCoalescers:
    """The coalescers of one event loop: tallies fast, viewer counts slowly."""

    def __init__(self):
        self.tally = Coalescer(name="tally", interval=PUSH_INTERVAL, push=push_tally)
        self.state = Coalescer(name="state", interval=PUSH_INTERVAL, push=push_state)
        self.comments = Coalescer(name="comments", interval=PUSH_INTERVAL, push=push_comments)
        self.viewers = Coalescer(name="viewers", interval=VIEWERS_PUSH_INTERVAL, push=push_viewers)


_coalescers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopCoalescers]" = (
    weakref.WeakKeyDictionary()
)


def _loop_coalescers() -> LoopCoalescers:
    loop = asyncio.get_running_loop()
    coalescers = _coalescers.get(loop)
    if coalescers is None:
        coalescers = _coalescers[loop] = LoopCoalescers()
    return coalescers


def _mark_dirty(poll_id: int, kind: str = "tally") -> None:
    getattr(_loop_coalescers(), kind).mark(poll_id)


def announce_viewers(poll_id: int) -> None:
    """Mark the poll's viewer count dirty: pushed every few seconds at most."""
    _loop_coalescers().viewers.mark(poll_id)


_close_timers: dict[int, asyncio.TimerHandle] = {}


def push_at_close_time(poll: Poll) -> None:
    """Push the final tally the moment a poll's close time passes.

    Each process with watchers keeps one timer per poll; the coalescer's shared slot
    keeps the pushes from several processes down to one or two.
    """
    if poll.closes_at is None or poll.is_closed() or poll.pk in _close_timers:
        return
    delay = (poll.closes_at - timezone.now()).total_seconds()
    loop = asyncio.get_running_loop()

    def fire():
        _close_timers.pop(poll.pk, None)
        _mark_dirty(poll.pk)
        _mark_dirty(poll.pk, "state")  # the badge and the form follow too

    _close_timers[poll.pk] = loop.call_later(max(0.0, delay) + 0.05, fire)


def announce_tally_soon(poll_id: int) -> None:
    """From sync code: hand the change to the server's coalescer without waiting for it.

    Outside a server (a worker, a management command) there is no loop to coalesce on,
    so the new state is pushed straight away.
    """
    _announce_soon(poll_id, "tally", push_tally)


def announce_state_soon(poll_id: int) -> None:
    """The poll closed, reopened, was edited or revealed: every page shows it as it is now."""
    _announce_soon(poll_id, "state", push_state)


def announce_comments_soon(poll_id: int) -> None:
    """A comment came or went: every page gets the comments list again."""
    _announce_soon(poll_id, "comments", push_comments)


def _announce_soon(poll_id: int, kind: str, push_now) -> None:
    loop = push.server_loop()
    if loop is not None:
        # A fresh context: the caller's (a sync worker thread's) must not leak into the
        # coalescer, or asgiref would take its executor for one that is busy.
        loop.call_soon_threadsafe(_mark_dirty, poll_id, kind, context=contextvars.Context())
    else:
        push.run_from_sync(push_now, poll_id)


def announce_voted(*, poll_id: int, voter_key: str) -> None:
    """Tell this voter's open pages that they voted (or changed their vote): they show it,
    and may now see the numbers."""
    _announce_to_voter(poll_id, voter_key)


def announce_withdrawn(*, poll_id: int, voter_key: str) -> None:
    """Tell this voter's open pages that their vote is withdrawn: the form is back."""
    _announce_to_voter(poll_id, voter_key)


def _announce_to_voter(poll_id: int, voter_key: str) -> None:
    push.run_from_sync(fanout.publish, poll_id, fanout.VOTER_KIND + voter_tag(voter_key))
