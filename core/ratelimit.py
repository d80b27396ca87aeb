"""Fixed-window rate limits kept in the cache, so Redis shares them across processes."""

import math
import time
from dataclasses import dataclass

from django.conf import settings

from core.cache import shared_cache
from core.security import keyed_hash

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RateLimited(Exception):
    """Too many requests; retry_after says how many seconds until the window resets."""

    scope: str
    retry_after: int


def parse_rate(rate: str) -> tuple[int, int]:
    """Turn "20/m" into (20, 60)."""
    count, _, unit = rate.partition("/")
    return int(count), PERIODS[unit.strip().lower()[:1]]


def ratelimit_hit(*, scope: str, ident: str) -> None:
    """Count one request for ident under scope; raise RateLimited once over the limit."""
    if not settings.RATELIMIT_ENABLE:
        return
    limit, period = parse_rate(settings.RATELIMITS[scope])
    now = time.time()
    window = int(now // period)
    cache = shared_cache()
    key = f"rl:{scope}:{keyed_hash(ident, purpose='ratelimit')[:32]}:{window}"
    if cache.add(key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            count = 1
    if count > limit:
        raise RateLimited(scope=scope, retry_after=max(1, math.ceil(period - (now % period))))
