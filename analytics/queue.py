"""Opens on their way to the database: a request only appends to this process's queue.

A flusher thread of the process takes what is queued every FLUSH_INTERVAL seconds and hands
it on in batches: to a Celery task when there is a broker (production), or, on the embedded
default, writes the batch itself. Nothing here runs on the request path but the append, so a
page never waits on analytics; opens still queued when a process dies are lost, and past
MAX_QUEUED (the writer is failing) the oldest are dropped.
"""

import collections
import logging
import threading
import time

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

MAX_QUEUED = 10_000
BATCH_SIZE = 500
FLUSH_INTERVAL = 1.0

_queue: collections.deque = collections.deque(maxlen=MAX_QUEUED)
_started = threading.Lock()
_flusher: threading.Thread | None = None


def record_open(*, code: str, source: str) -> None:
    """Queue one open of a poll (by code) from a source; written later, in a batch."""
    _queue.append((code, source, time.time()))
    _start_flusher()


def queued() -> int:
    return len(_queue)


def take_batch(limit: int = BATCH_SIZE) -> list[tuple[str, str, float]]:
    batch = []
    while len(batch) < limit:
        try:
            batch.append(_queue.popleft())
        except IndexError:
            break
    return batch


def flush() -> int:
    """Hand every queued open on in batches; return how many were taken."""
    taken = 0
    while batch := take_batch():
        taken += len(batch)
        try:
            hand_off(batch)
        except Exception:
            logger.exception("Could not record %d opens; they are dropped", len(batch))
    return taken


def hand_off(batch: list[tuple[str, str, float]]) -> None:
    from analytics import services, tasks

    if settings.CELERY_TASK_ALWAYS_EAGER:
        services.opens_write(rows=batch)
    else:
        tasks.write_opens.delay([list(row) for row in batch])


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_INTERVAL)
        try:
            flush()
        finally:
            connections.close_all()  # this thread's connections only


def _start_flusher() -> None:
    global _flusher
    if _flusher is not None:
        return
    with _started:
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_forever, name="opens-flusher", daemon=True)
            _flusher.start()
