"""Who is watching a poll: one entry per open socket, each expiring unless refreshed.

Entries expire so that sockets lost without a goodbye (a crashed or restarted server
process) stop counting within VIEWER_TTL seconds. With Redis every process shares the
registry (a sorted set per poll, scored by expiry time); otherwise it lives in-process.

While Redis is unreachable the count is unknown: the functions answer None (pages show
"—") after a short socket timeout, and a circuit breaker skips Redis for a few seconds.
"""

import functools
import time
import weakref

import redis
import redis.asyncio
from django.conf import settings

from core.cache import CacheUnavailable, CircuitBreaker

VIEWER_TTL = 30
HEARTBEAT_INTERVAL = 10


def _key(poll_id: int) -> str:
    return f"tally:viewers:{poll_id}"


# Bounded pools that make a burst of sockets wait for a connection instead of failing.
POOL_SIZE = 50
POOL_TIMEOUT = 10

breaker = CircuitBreaker(name="Redis (viewer counts)")
ERRORS = (redis.RedisError, OSError)


@functools.cache
def _sync_client() -> redis.Redis:
    return redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=POOL_SIZE,
            timeout=POOL_TIMEOUT,
            **settings.REDIS_OPTIONS,
        )
    )


_async_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _async_client() -> redis.asyncio.Redis:
    import asyncio

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = redis.asyncio.Redis(
            connection_pool=redis.asyncio.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=POOL_SIZE,
                timeout=POOL_TIMEOUT,
                **settings.REDIS_OPTIONS,
            )
        )
    return client


_local: dict[int, dict[str, float]] = {}


def _local_count(poll_id: int) -> int:
    now = time.time()
    entries = _local.get(poll_id, {})
    for channel in [channel for channel, expiry in entries.items() if expiry <= now]:
        del entries[channel]
    return len(entries)


async def _guarded(call):
    """Await call() through the breaker; None when Redis is unreachable."""
    if not breaker.allow():
        return None
    try:
        result = await call()
    except ERRORS as error:
        breaker.failed(error)
        return None
    breaker.succeeded()
    return result


async def viewers_seen(poll_id: int, sockets: list[str]) -> int | None:
    """Count these sockets as watching (again) for the next VIEWER_TTL seconds, in one call;
    return the number of viewers now (None while the count is unknown)."""
    expiry = time.time() + VIEWER_TTL
    if not settings.REDIS_URL:
        _local.setdefault(poll_id, {}).update(dict.fromkeys(sockets, expiry))
        return _local_count(poll_id)

    async def seen():
        async with _async_client().pipeline(transaction=False) as pipe:
            pipe.zadd(_key(poll_id), dict.fromkeys(sockets, expiry))
            pipe.expire(_key(poll_id), VIEWER_TTL)
            pipe.zremrangebyscore(_key(poll_id), "-inf", expiry - VIEWER_TTL)
            pipe.zcard(_key(poll_id))
            return (await pipe.execute())[-1]

    return await _guarded(seen)


async def viewer_left(poll_id: int, channel: str) -> None:
    if not settings.REDIS_URL:
        _local.get(poll_id, {}).pop(channel, None)
        return
    await _guarded(lambda: _async_client().zrem(_key(poll_id), channel))


def _count(poll_id: int) -> int:
    with _sync_client().pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(_key(poll_id), "-inf", time.time())
        pipe.zcard(_key(poll_id))
        return pipe.execute()[1]


def viewer_count(poll_id: int) -> int | None:
    """The number of open sockets on the poll, or None while it cannot be known."""
    if not settings.REDIS_URL:
        return _local_count(poll_id)
    try:
        return breaker.call(_count, poll_id, errors=ERRORS)
    except CacheUnavailable:
        return None
