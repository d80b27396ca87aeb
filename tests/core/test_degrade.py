"""Without Redis: the cache answers as empty, limits count per process, viewers show "—"."""

import time

import pytest

from core import cache as core_cache
from core import ratelimit
from core.cache import CacheUnavailable, ResilientRedisCache
from core.ratelimit import RateLimited, ratelimit_hit
from polls import viewers
from tests.faults.services import free_port

DEAD = f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def dead_cache(monkeypatch):
    """The shared cache pointed at a port where no Redis listens."""
    dead = ResilientRedisCache(DEAD, {"OPTIONS": {"socket_connect_timeout": 0.2}})
    monkeypatch.setattr(core_cache, "shared_cache", lambda: dead)
    monkeypatch.setattr(ratelimit, "shared_cache", lambda: dead)
    ratelimit.local_counter.clear()
    return dead


def test_unreachable_cache_answers_as_empty_and_fast(dead_cache):
    """get finds nothing and add stores nothing, at once, instead of raising."""
    started = time.monotonic()
    assert dead_cache.get("k", "default") == "default"
    assert dead_cache.add("k", 1) is False
    assert dead_cache.get_many(["a", "b"]) == {}
    with pytest.raises(CacheUnavailable):
        dead_cache.strict("get", "k")
    assert time.monotonic() - started < 1.0
    assert not dead_cache.available


def test_limits_fall_back_to_a_per_process_count(dead_cache, settings):
    """With Redis down a limit still holds, counted by this process alone."""
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "vote-ip": "3/m"}
    for _ in range(3):
        ratelimit_hit(scope="vote-ip", ident="198.51.100.5")
    with pytest.raises(RateLimited):
        ratelimit_hit(scope="vote-ip", ident="198.51.100.5")
    ratelimit_hit(scope="vote-ip", ident="198.51.100.6")


def test_viewer_count_is_unknown_without_redis(settings, monkeypatch):
    """The viewer count is None (shown as "—") when Redis cannot be reached."""
    settings.REDIS_URL = DEAD
    viewers._sync_client.cache_clear()
    monkeypatch.setattr(viewers, "breaker", core_cache.CircuitBreaker(name="test"))
    try:
        assert viewers.viewer_count(1) is None
    finally:
        viewers._sync_client.cache_clear()


@pytest.mark.django_db
def test_poll_page_shows_a_dash_for_an_unknown_viewer_count(client, poll, monkeypatch):
    """A poll page renders while the viewer count is unknown, with "—" watching."""
    monkeypatch.setattr("polls.views.pages.viewer_count", lambda poll_id: None)
    response = client.get(poll.get_absolute_url())
    assert response.status_code == 200
    assert "—</span> watching live" in response.content.decode()
