"""Fixed-window rate limits kept in the cache, so Redis shares them across processes.

While the shared cache is unreachable each process counts on its own (a dict of windows
under a lock): a limit is then per process rather than site-wide, which is looser but
never lets the outage turn into an error or unlimited requests.
"""

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from core.cache import CacheUnavailable, shared_cache, strict_call
from core.security import address_group, keyed_hash

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LOCAL_MAX_KEYS = 100_000


@dataclass(frozen=True)
class RateLimited(Exception):
    """Too many requests; retry_after says how many seconds until the window resets."""

    scope: str
    retry_after: int
    limit: int = 0


@dataclass(frozen=True)
class RateLimitState:
    """Where a client stands in a window, as the RateLimit-* headers tell it."""

    limit: int
    remaining: int
    reset: int  # seconds until the window resets


def parse_rate(rate: str) -> tuple[int, int]:
    """Turn "20/m" into (20, 60)."""
    count, _, unit = rate.partition("/")
    return int(count), PERIODS[unit.strip().lower()[:1]]


class LocalCounter:
    """Per-process fixed windows: the fallback while the shared cache is unreachable."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, period: int) -> int:
        now = time.time()
        with self.lock:
            if len(self.counts) > LOCAL_MAX_KEYS:
                self.counts = {k: v for k, v in self.counts.items() if v[0] > now}
            expires, count = self.counts.get(key, (0.0, 0))
            if expires <= now:
                expires, count = now + period + 1, 0
            self.counts[key] = (expires, count + 1)
            return count + 1

    def clear(self) -> None:
        with self.lock:
            self.counts.clear()


local_counter = LocalCounter()


def _shared_hit(key: str, period: int) -> int:
    cache = shared_cache()
    if strict_call(cache, "add", key, 1, timeout=period + 1):
        return 1
    try:
        return strict_call(cache, "incr", key)
    except ValueError:  # the window expired between add and incr
        strict_call(cache, "add", key, 1, timeout=period + 1)
        return 1


def rate_ident(ident: str) -> str:
    """Count an IPv6 address (bare or as "ip:<address>") by its /64, as the vote rule does."""
    if ident.startswith("ip:"):
        return "ip:" + address_group(ident[3:])
    return address_group(ident)


def ratelimit_hit(*, scope: str, ident: str) -> RateLimitState | None:
    """Count one request for ident under scope; raise RateLimited once over the limit.

    Returns where the client stands (None while limits are off).
    """
    if not settings.RATELIMIT_ENABLE:
        return None
    limit, period = parse_rate(settings.RATELIMITS[scope])
    now = time.time()
    window = int(now // period)
    key = f"rl:{scope}:{keyed_hash(rate_ident(ident), purpose='ratelimit')[:32]}:{window}"
    try:
        count = _shared_hit(key, period)
    except CacheUnavailable:
        count = local_counter.hit(key, period)
    reset = max(1, math.ceil(period - (now % period)))
    if count > limit:
        raise RateLimited(scope=scope, retry_after=reset, limit=limit)
    return RateLimitState(limit=limit, remaining=limit - count, reset=reset)
