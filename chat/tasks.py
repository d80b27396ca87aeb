"""Celery tasks: embed a poll's text or a comment, tag the poll, regroup its comment themes;
each only calls the chat services, tags and themes."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.core.cache import cache
from django.db import connections

from chat import search, services, tags, themes

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def embed_poll(poll_id: int) -> None:
    services.poll_snippets_sync(poll_id=poll_id)
    tags.poll_tags_assign(poll_id=poll_id)


@shared_task(ignore_result=True)
def embed_comment(ballot_id: int) -> None:
    services.comment_snippet_sync(ballot_id=ballot_id)


@shared_task(ignore_result=True)
def refresh_themes(poll_id: int) -> None:
    cache.delete(_themes_key(poll_id))  # comments from now on queue the next refresh
    themes.poll_themes_refresh(poll_id=poll_id)


# On the embedded default Celery runs tasks eagerly, in the caller: the first embedding
# would load the model (seconds) inside someone's request. Instead, eager embedding tasks
# run one at a time on a single background thread, which also loads the model there, so
# the request that saved the poll or the comment returns at once. With a Redis broker the
# worker does the work and warms the model as it starts (see _warm_worker below).
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _background() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embeddings")
        return _executor


def _run(task, args: tuple) -> None:
    try:
        task.apply(args=args, throw=True)
    except Exception:
        logger.exception("Embedding task %s%r failed", task.name, args)
    finally:
        connections.close_all()  # this thread's connections only


def enqueue(task, *args, countdown: float = 0) -> None:
    """Queue an embedding task; a failure is logged, never raised into a vote or a poll."""
    try:
        if task.app.conf.task_always_eager and getattr(settings, "EMBED_IN_BACKGROUND", True):
            _background().submit(_run, task, args)
        elif countdown and not task.app.conf.task_always_eager:
            task.apply_async(args=args, countdown=countdown)
        else:
            task.delay(*args)
    except Exception:
        logger.exception("Could not queue %s%r", task.name, args)


def wait_for_background(timeout: float = 60.0) -> None:
    """Block until the embedding tasks queued so far on the background thread have run."""
    with _executor_lock:
        executor = _executor
    if executor is not None:
        executor.submit(lambda: None).result(timeout=timeout)


def queue_poll_embedding(poll_id: int) -> None:
    enqueue(embed_poll, poll_id)


def queue_comment_embedding(ballot_id: int) -> None:
    enqueue(embed_comment, ballot_id)


def _themes_key(poll_id: int) -> str:
    return f"chat:themes-queued:{poll_id}"


def queue_themes(poll_id: int) -> None:
    """Queue one regrouping of the poll's themes for all comments of the next few seconds.

    The first comment queues it THEMES_COALESCE_SECONDS ahead and marks it queued; later
    ones see the mark and add nothing. Without the cache, every comment queues its own.
    """
    delay = settings.THEMES_COALESCE_SECONDS
    try:
        first = cache.add(_themes_key(poll_id), 1, timeout=max(1, int(delay * 3)))
    except Exception:
        logger.warning("Could not coalesce the themes of poll %s", poll_id, exc_info=True)
        first = True
    if first:
        enqueue(refresh_themes, poll_id, countdown=delay)


@worker_process_init.connect
def _warm_worker(**kwargs) -> None:
    # A pool process must report ready within seconds: load the model beside it.
    search.warm_up_in_background()
