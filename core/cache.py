"""One cache client per process, for threads and event loops alike.

django.core.cache.cache is one client per thread and per async context: every consumer's
context would open a Redis connection pool of its own that nothing closes. Django's Redis
and local-memory backends are thread-safe, so one client serves the whole process.
"""

import functools

from asgiref.sync import sync_to_async
from django.core.cache import caches


@functools.cache
def shared_cache():
    return caches.create_connection("default")


async def cache_call(method: str, *args, **kwargs):
    """Call a method of the shared client from async code, off the event loop."""
    return await sync_to_async(getattr(shared_cache(), method), thread_sensitive=False)(
        *args, **kwargs
    )
