"""Reaching the server's event loop, and its channel layer, from sync code.

Views run in worker threads, periodic tasks in a thread of their own and Celery tasks in
a worker process. A push from any of them must land on the loop that owns the sockets:
the in-memory channel layer's queues belong to that loop and are not thread-safe.
"""

import asyncio
import contextvars
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop(application):
    """Wrap the ASGI application so sync code (views, on-commit hooks) can reach its loop."""

    async def app(scope, receive, send):
        global _server_loop  # one event loop per server process
        _server_loop = asyncio.get_running_loop()
        return await application(scope, receive, send)

    return app


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running server's event loop, or None outside a server (a worker, a command)."""
    loop = _server_loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        return loop
    return None


def group_send_from_sync(group: str, event: dict) -> None:
    """Send event to a group from sync code, on the server's loop when there is one."""
    run_from_sync(get_channel_layer().group_send, group, event)


def run_from_sync(coroutine_function, /, *args) -> None:
    """Run coroutine_function(*args) for sync code: started on the server's loop when there
    is one (not awaited: failures are logged), else run to the end here."""
    loop = server_loop()
    if loop is None:
        async_to_sync(coroutine_function)(*args)
        return
    # A fresh context: the calling thread's (asgiref's executor among it) must not leak
    # into the task on the server's loop.
    loop.call_soon_threadsafe(_start, coroutine_function, args, context=contextvars.Context())


def _start(coroutine_function, args: tuple) -> None:
    task = asyncio.get_running_loop().create_task(coroutine_function(*args))
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("A push from sync code failed", exc_info=task.exception())
