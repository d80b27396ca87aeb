"""The client address: believed from X-Forwarded-For only when a trusted proxy sent it."""

import pytest
from django.test import Client

from core.security import address_group, resolve_client_address, scope_client_ip
from core.voters import Voter, voter_from_scope
from polls.models import Ballot
from tests.helpers import post_json
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

SPOOF = "203.0.113.99"


def browser(address: str, **headers) -> Client:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address, headers=headers)
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value
    return client


def vote(client, poll):
    return post_json(client, f"/poll/{poll.code}/vote", {"option": poll.options.first().id})


def test_forwarded_for_from_a_client_is_ignored_without_trusted_proxies(settings):
    """With no trusted proxy, a client naming any address in X-Forwarded-For keeps its own."""
    settings.TRUSTED_PROXIES = []
    assert resolve_client_address("198.51.100.1", SPOOF) == "198.51.100.1"
    assert resolve_client_address("198.51.100.1", f"{SPOOF}, 10.0.0.1") == "198.51.100.1"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    """A trusted proxy exists, but a client reaching Tally directly cannot borrow its word."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert resolve_client_address("198.51.100.1", SPOOF) == "198.51.100.1"


def test_trusted_proxy_forwarded_for_gives_the_client(settings):
    """Behind a trusted proxy the client is the right-most address that is not a proxy."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.5"]
    assert resolve_client_address("10.1.2.3", "198.51.100.1") == "198.51.100.1"
    # A client that sends its own header in front of the proxy's append gains nothing.
    assert resolve_client_address("10.1.2.3", f"{SPOOF}, 198.51.100.1") == "198.51.100.1"
    assert resolve_client_address("10.1.2.3", f"{SPOOF}, 198.51.100.1, 192.0.2.5") == (
        "198.51.100.1"
    )
    assert resolve_client_address("10.1.2.3", "not-an-address") == "10.1.2.3"


def test_spoofed_forwarded_for_cannot_dodge_the_per_address_vote_rule(settings):
    """Two browsers at one address cannot both vote on a token+address poll by spoofing XFF."""
    settings.TRUSTED_PROXIES = []
    poll = PollFactory(protection="token_ip")
    assert vote(browser("198.51.100.20", X_Forwarded_For="203.0.113.1"), poll).status_code == 201
    second = vote(browser("198.51.100.20", X_Forwarded_For="203.0.113.2"), poll)
    assert second.status_code == 409
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_behind_a_trusted_proxy_each_client_address_votes_once(settings):
    """Behind the trusted proxy, clients are told apart by the address the proxy saw."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    poll = PollFactory(protection="token_ip")
    first = browser("10.0.0.2", X_Forwarded_For="198.51.100.30")
    assert vote(first, poll).status_code == 201
    assert vote(browser("10.0.0.2", X_Forwarded_For="198.51.100.31"), poll).status_code == 201
    # The same client again, having prepended a made-up address: still the same client.
    again = browser("10.0.0.2", X_Forwarded_For=f"{SPOOF}, 198.51.100.30")
    assert vote(again, poll).status_code == 409


def test_ipv6_clients_are_grouped_by_their_64(settings):
    """Addresses in one IPv6 /64 count as one address for limits and the per-address rule."""
    settings.TRUSTED_PROXIES = []
    assert address_group("2001:db8:1:2::1") == address_group("2001:db8:1:2:ffff::9")
    assert address_group("2001:db8:1:3::1") != address_group("2001:db8:1:2::1")
    assert address_group("::ffff:198.51.100.4") == "198.51.100.4"
    poll = PollFactory(protection="token_ip")
    assert vote(browser("2001:db8:1:2::1"), poll).status_code == 201
    assert vote(browser("2001:db8:1:2:abcd::7"), poll).status_code == 409
    assert vote(browser("2001:db8:1:3::1"), poll).status_code == 201


def test_ipv6_rate_limit_counts_the_64(settings):
    """Rotating addresses inside one IPv6 /64 does not earn more votes per minute."""
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "vote-ip": "2/m"}
    polls = [PollFactory() for _ in range(3)]
    answers = [
        vote(browser(f"2001:db8:9:9::{index + 1}"), poll).status_code
        for index, poll in enumerate(polls)
    ]
    assert answers == [201, 201, 429]


def scope(peer: str, forwarded: str | None = None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 5000), "headers": headers, "cookies": {}}


def test_socket_address_follows_the_same_rule(settings):
    """A socket's address is the peer's unless a trusted proxy vouches for another."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    assert scope_client_ip(scope("198.51.100.1", SPOOF)) == "198.51.100.1"
    assert scope_client_ip(scope("10.0.0.2", f"{SPOOF}, 198.51.100.1")) == "198.51.100.1"
    voter = voter_from_scope(scope("10.0.0.2", "2001:db8:5:5::1"))
    assert voter.address == address_group("2001:db8:5:5::99")
    assert voter.ip_key == Voter(token="", ip="2001:db8:5:5::42").ip_key


def test_shipped_commands_do_not_let_daphne_trust_any_forwarded_for():
    """No documented way to start Tally runs daphne with --proxy-headers, and the bundled
    nginx replaces a client's X-Forwarded-For instead of appending to it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name in ("Dockerfile", "docker-compose.yml", "README.md"):
        text = (root / name).read_text()
        commands = [
            line
            for line in text.splitlines()
            if ("daphne" in line and "asgi" in line) or "manage.py serve" in line
        ]
        assert commands, name
        assert not any("--proxy-headers" in line.split("#")[0] for line in commands), name
    # `manage.py serve` starts the daphne processes itself, with no proxy-header switch.
    serve = (root / "core/management/commands/serve.py").read_text()
    assert "daphne" in serve
    assert "--proxy-headers" not in serve
    compose = (root / "docker-compose.yml").read_text()
    assert "proxy_add_x_forwarded_for" not in compose
    assert "X-Forwarded-For $$remote_addr" in compose
