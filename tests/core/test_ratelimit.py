"""Rate limits: per address and per voter on voting, per address on creating polls."""

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client

from core import ratelimit
from core.ratelimit import RateLimited, parse_rate, ratelimit_hit
from polls.models import Ballot, Poll
from tests.helpers import post_json
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

on_redis = pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="shared counters need Redis: set REDIS_URL"
)


def browser(address: str = "127.0.0.1") -> Client:
    """A new browser with its own voter token, at the given address."""
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value
    return client


def vote(client, poll, option_text="Red"):
    option = poll.options.get(text=option_text)
    return post_json(client, f"/poll/{poll.code}/vote", {"option": option.id})


@pytest.fixture
def limits(settings):
    """Set some limits low; the others stay as configured."""

    def set_limits(**rates):
        settings.RATELIMIT_ENABLE = True
        settings.RATELIMITS = {**settings.RATELIMITS, **rates}

    return set_limits


def test_parse_rate_reads_count_and_period():
    """Rates are written "<count>/<period>" with s, m, h or d."""
    assert parse_rate("20/m") == (20, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("100/hour") == (100, 3600)
    assert parse_rate("1/d") == (1, 86400)


def test_votes_per_address_are_limited_across_browsers(limits):
    """Many browsers behind one address share that address's vote limit."""
    limits(**{"vote-ip": "3/m"})
    polls = [PollFactory() for _ in range(4)]
    answers = [vote(browser("198.51.100.7"), poll).status_code for poll in polls]
    assert answers == [201, 201, 201, 429]
    assert vote(browser("198.51.100.8"), polls[3]).status_code == 201


def test_votes_per_voter_are_limited_across_addresses(limits):
    """One browser is limited however many addresses it votes from."""
    limits(**{"vote-voter": "2/m"})
    voter = browser()
    answers = []
    for number, poll in enumerate(PollFactory() for _ in range(3)):
        voter.defaults["REMOTE_ADDR"] = f"203.0.113.{number + 1}"
        answers.append(vote(voter, poll).status_code)
    assert answers == [201, 201, 429]
    assert Ballot.objects.count() == 2


def test_refused_vote_carries_a_sensible_retry_after(limits):
    """A vote over the limit says when to retry: within the limit's period, at least 1 s."""
    limits(**{"vote-voter": "1/h"})
    voter = browser()
    vote(voter, PollFactory())
    response = vote(voter, PollFactory())
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert f"{retry_after} seconds" in response.json()["error"]["message"]


def test_polls_created_per_address_are_limited(limits):
    """Creating polls is limited per address, whatever the browser."""
    limits(**{"create-ip": "2/h"})
    body = {"question": "Lunch?", "options": ["Soup", "Salad"]}
    first, second = browser("192.0.2.10"), browser("192.0.2.10")
    assert post_json(first, "/create", body).status_code == 201
    assert post_json(second, "/create", body).status_code == 201
    refused = post_json(first, "/create", body)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert post_json(browser("192.0.2.11"), "/create", body).status_code == 201
    assert Poll.objects.count() == 3


def test_html_create_over_the_limit_shows_a_retry_hint(limits):
    """Without JavaScript, a create over the limit gets a 429 page with the retry hint."""
    limits(**{"create-ip": "1/h"})
    client = browser("192.0.2.20")
    data = {"question": "Q?", "options": ["A", "B"], "csrfmiddlewaretoken": client.csrf_token}
    assert client.post("/create", data).status_code == 303
    refused = client.post("/create", data)
    assert refused.status_code == 429
    assert "Try again in" in refused.content.decode()
    assert refused["Retry-After"].isdigit()


def test_ratelimit_enable_false_turns_every_limit_off(limits, settings):
    """With RATELIMIT_ENABLE off, no vote or create is refused for rate."""
    limits(**{"vote-ip": "1/m", "vote-voter": "1/m", "create-ip": "1/h"})
    settings.RATELIMIT_ENABLE = False
    voter = browser("192.0.2.30")
    assert [vote(voter, PollFactory()).status_code for _ in range(3)] == [201] * 3
    body = {"question": "Again?", "options": ["Yes", "No"]}
    assert [post_json(voter, "/create", body).status_code for _ in range(3)] == [201] * 3


def test_limit_resets_in_the_next_window(limits, monkeypatch):
    """Once the window has passed, requests are allowed again."""
    limits(**{"vote-ip": "1/m"})
    now = [1_000_000_040.0]  # 20 s into a minute
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    ratelimit_hit(scope="vote-ip", ident="192.0.2.40")
    with pytest.raises(RateLimited) as refused:
        ratelimit_hit(scope="vote-ip", ident="192.0.2.40")
    assert refused.value.retry_after == 40
    now[0] += 40
    ratelimit_hit(scope="vote-ip", ident="192.0.2.40")


@on_redis
def test_counters_are_shared_through_redis(limits, monkeypatch):
    """A second process's cache client sees the same counters, kept in Redis."""
    import redis

    limits(**{"vote-ip": "2/m"})
    ratelimit_hit(scope="vote-ip", ident="192.0.2.50")
    ratelimit_hit(scope="vote-ip", ident="192.0.2.50")
    # Another process: a cache client with its own connection pool to the same Redis.
    other_process_cache = caches.create_connection("default")
    assert other_process_cache is not ratelimit.shared_cache()
    monkeypatch.setattr(ratelimit, "shared_cache", lambda: other_process_cache)
    with pytest.raises(RateLimited):
        ratelimit_hit(scope="vote-ip", ident="192.0.2.50")
    raw = redis.Redis.from_url(django_settings.REDIS_URL)
    keys = raw.keys("*rl:vote-ip:*")
    assert len(keys) == 1
    assert b"192.0.2.50" not in keys[0]
    assert int(raw.get(keys[0])) == 3
    assert 0 < raw.ttl(keys[0]) <= 61
