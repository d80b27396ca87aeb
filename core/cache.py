"""One cache client per process, for threads and event loops alike, that degrades.

django.core.cache.cache is one client per thread and per async context: every consumer's
context would open a Redis connection pool of its own that nothing closes. Django's Redis
and local-memory backends are thread-safe, so one client serves the whole process.

With Redis unreachable the cache must not take the site down with it: ResilientRedisCache
answers as an empty cache (get finds nothing, add and set store nothing) after a short
socket timeout, and a circuit breaker then skips Redis altogether for a few seconds, so a
request pays the timeout at most once per breaker period instead of once per call. Callers
that need to know (the rate limiter falls back to a per-process count) use `strict`.
"""

import functools
import logging
import threading
import time

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


class CacheUnavailable(Exception):
    """The shared cache could not be reached (or its breaker is open)."""


class CircuitBreaker:
    """Opens after a failure and stays open for `reset_after` seconds; then one call tries."""

    def __init__(self, *, name: str, reset_after: float = 2.0):
        self.name = name
        self.reset_after = reset_after
        self.lock = threading.Lock()
        self.open_until = 0.0
        self.failures = 0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def allow(self) -> bool:
        """Whether a call may go through now; while half-open, one caller at a time."""
        with self.lock:
            now = time.monotonic()
            if now < self.open_until:
                return False
            if self.failures:
                # Half-open: let this call test the service, keep the others out meanwhile.
                self.open_until = now + self.reset_after
            return True

    def succeeded(self) -> None:
        with self.lock:
            if self.failures:
                logger.warning("%s is reachable again", self.name)
            self.failures = 0
            self.open_until = 0.0

    def failed(self, error: BaseException) -> None:
        with self.lock:
            if not self.failures:
                logger.warning("%s is unreachable (%s): degrading", self.name, error)
            self.failures += 1
            self.open_until = time.monotonic() + self.reset_after

    def call(self, function, *args, errors: tuple = (Exception,), **kwargs):
        """Run function through the breaker; raise CacheUnavailable when it is open or fails."""
        if not self.allow():
            raise CacheUnavailable(self.name)
        try:
            result = function(*args, **kwargs)
        except errors as error:
            self.failed(error)
            raise CacheUnavailable(self.name) from error
        self.succeeded()
        return result


def _redis_errors() -> tuple:
    import redis

    return (redis.RedisError, OSError)


class ResilientRedisCache(RedisCache):
    """Django's Redis cache that answers as an empty cache while Redis is unreachable."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self.breaker = CircuitBreaker(
            name="Redis cache", reset_after=float(params.get("BREAKER_RESET", 2.0))
        )

    @property
    def available(self) -> bool:
        return not self.breaker.is_open

    def strict(self, method: str, *args, **kwargs):
        """Call a RedisCache method; raise CacheUnavailable instead of degrading."""
        return self.breaker.call(
            getattr(RedisCache, method), self, *args, errors=_redis_errors(), **kwargs
        )

    def _degrade(self, fallback, method: str, *args, **kwargs):
        try:
            return self.strict(method, *args, **kwargs)
        except CacheUnavailable:
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degrade(False, "add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._degrade(default, "get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degrade(None, "set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degrade(False, "touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._degrade(False, "delete", key, version)

    def get_many(self, keys, version=None):
        return self._degrade({}, "get_many", keys, version)

    def has_key(self, key, version=None):
        return self._degrade(False, "has_key", key, version)

    def incr(self, key, delta=1, version=None):
        try:
            return self.strict("incr", key, delta, version)
        except CacheUnavailable:
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)") from None

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degrade(list(data), "set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._degrade(None, "delete_many", keys, version)

    def clear(self):
        return self._degrade(False, "clear")


def strict_call(cache, method: str, *args, **kwargs):
    """Call a cache method; raise CacheUnavailable where a resilient cache would degrade."""
    if isinstance(cache, ResilientRedisCache):
        return cache.strict(method, *args, **kwargs)
    return getattr(cache, method)(*args, **kwargs)


@functools.cache
def shared_cache():
    return caches.create_connection("default")


async def cache_call(method: str, *args, **kwargs):
    """Call a method of the shared client from async code, off the event loop."""
    return await sync_to_async(getattr(shared_cache(), method), thread_sensitive=False)(
        *args, **kwargs
    )
