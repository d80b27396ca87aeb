"""Clients of the JSON API: programs with a personal token or a voter token, the
browser with its session, and anonymous programs with no credentials at all."""

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from polls.models import Poll
from tests.accounts.factories import UserFactory
from tests.helpers import open_browser
from tests.polls.factories import PollFactory

API = "/api/v1"


@dataclass
class Program:
    """An HTTP client that sends its credentials as headers and keeps no cookies."""

    headers: dict

    def request(self, method: str, path: str, body=None, **headers):
        client = Client(enforce_csrf_checks=True)  # a fresh one each time: no cookie jar
        kwargs = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(client, method.lower())(API + path, **kwargs)

    def get(self, path, **headers):
        return self.request("GET", path, **headers)

    def post(self, path, body=None, **headers):
        return self.request("POST", path, {} if body is None else body, **headers)

    def patch(self, path, body=None, **headers):
        return self.request("PATCH", path, {} if body is None else body, **headers)

    def delete(self, path, **headers):
        return self.request("DELETE", path, **headers)


@dataclass
class Browser:
    """A signed-in (or anonymous) browser using the API with its cookies and CSRF token."""

    client: Client

    def request(self, method: str, path: str, body=None, csrf: bool = True, **headers):
        if csrf:
            headers = {"X-CSRFToken": self.client.csrf_token, **headers}
        kwargs = {"headers": headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method.lower())(API + path, **kwargs)

    def get(self, path, **headers):
        return self.request("GET", path, **headers)

    def post(self, path, body=None, **headers):
        return self.request("POST", path, {} if body is None else body, **headers)

    def patch(self, path, body=None, **headers):
        return self.request("PATCH", path, {} if body is None else body, **headers)

    def delete(self, path, **headers):
        return self.request("DELETE", path, **headers)


def bearer(user, **token_fields) -> Program:
    _, secret = account_services.api_token_create(user=user, name="test", **token_fields)
    return Program(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def owner_api(owner) -> Program:
    """A program holding the owner's personal API token."""
    return bearer(owner)


@pytest.fixture
def stranger_api(db) -> Program:
    """A program holding another account's token."""
    return bearer(UserFactory())


@pytest.fixture
def anonymous_api(db) -> Program:
    """A program with no credentials at all."""
    return Program(headers={})


@pytest.fixture
def voter_api(anonymous_api) -> Program:
    """An anonymous program holding a voter token from POST /voter-token."""
    token = anonymous_api.post("/voter-token").json()["voter_token"]
    return Program(headers={"X-Voter-Token": token})


@pytest.fixture
def owner_browser(owner) -> Browser:
    """The owner's browser, signed in, using the API with its session and CSRF token."""
    return Browser(open_browser(owner))


@pytest.fixture
def anonymous_browser(db) -> Browser:
    """A browser that opened the home page: a voter cookie, a CSRF token, no account."""
    return Browser(open_browser())


@pytest.fixture
def owned_poll(owner) -> Poll:
    return PollFactory(owner=owner)


def option_ids(poll) -> dict[str, int]:
    return {option.text: option.id for option in poll.options.all()}


def error_of(response) -> dict:
    """The error body's contents; fails unless the body is exactly the pages' error shape."""
    body = response.json()
    assert set(body) <= {"error", "results"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "field"}, body
    assert body["error"]["message"]
    return body["error"]


def expired(user) -> Program:
    return bearer(user, expires_at=timezone.now() - timedelta(seconds=1))
