"""Log-in forms, the site's and the admin's, are throttled per address and per username."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "login-ip": "3/m", "login-user": "4/h"}


def attempt(path: str, username: str, address: str) -> int:
    client = Client(REMOTE_ADDR=address)
    return client.post(path, {"username": username, "password": "wrong"}).status_code


@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/"])
def test_one_address_guessing_is_throttled(limits, path):
    """A fourth wrong password from one address within the minute answers 429."""
    statuses = [attempt(path, f"someone{n}", "198.51.100.90") for n in range(4)]
    assert 429 not in statuses[:3]
    assert statuses[3] == 429


@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/"])
def test_one_username_guessed_from_many_addresses_is_throttled(limits, path, user):
    """Spreading guesses over addresses does not get past the per-username limit."""
    statuses = [attempt(path, user.username, f"198.51.100.{100 + n}") for n in range(5)]
    assert 429 not in statuses[:4]
    assert statuses[4] == 429
    # The username is compared case-insensitively: changing case buys nothing.
    assert attempt(path, user.username.upper(), "198.51.100.200") == 429


def test_throttled_admin_login_says_when_to_retry(limits):
    """A throttled admin log-in answers 429 with Retry-After."""
    client = Client(REMOTE_ADDR="198.51.100.99")
    for _ in range(3):
        client.post("/admin/login/", {"username": "admin", "password": "x"})
    response = client.post("/admin/login/", {"username": "admin", "password": "x"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
