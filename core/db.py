"""Database work from async code, off the event loop, that hands its connection back."""

from asgiref.sync import sync_to_async
from django.db import close_old_connections


async def in_worker_thread(func, /, *args, **kwargs):
    """Run ORM code in a worker thread and hand its connection back there.

    channels' database_sync_to_async closes connections outside the context the code ran
    in, and asgiref binds Django's connections to that context, so each task that used
    it would keep a pooled connection for good. A worker thread, not the thread-sensitive
    one, leaves a synchronous caller's own connection alone.
    """

    def call():
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()
