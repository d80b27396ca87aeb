"""Fixtures shared by the whole suite."""

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client

from chat import tasks as chat_tasks
from tests.chat.groq_stub import GroqStub
from tests.helpers import open_browser
from tests.polls.factories import PollFactory

pytest_plugins = ["tests.server"]


@pytest.fixture(scope="session", autouse=True)
def _close_database_pools(django_db_setup, django_db_blocker):
    """Release pooled connections (worker threads may hold some) before the database is dropped."""
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            database = connections[alias]
            if database.vendor != "postgresql":
                continue
            database.close_pool()
            with database._nodb_cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [database.settings_dict["NAME"]],
                )


@pytest.fixture(autouse=True)
def _finish_background_embeddings():
    """Let embeddings queued by a test finish while its database still exists."""
    yield
    chat_tasks.wait_for_background()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client():
    """A browser-like client: CSRF checks on, as for real users."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def voter(client):
    """A client that has opened the home page: it holds a voter token and a CSRF cookie."""
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value
    return client


@pytest.fixture
def other_voter(db):
    return open_browser()


@pytest.fixture
def poll(db):
    return PollFactory()


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: run it with DATABASE_URL set.")


@pytest.fixture
def user(db):
    """A signed-up user; their password is tests.accounts.factories.PASSWORD."""
    from tests.accounts.factories import UserFactory

    return UserFactory()


@pytest.fixture
def signed_in(user):
    """A browser logged in as `user`: CSRF checks on, voter token and csrf_token held."""
    return open_browser(user)


# Groq: the real client against a local server that speaks its streaming format.


@pytest.fixture
def stub():
    server = GroqStub().start()
    yield server
    server.stop()


@pytest.fixture
def groq(settings, stub):
    """Answers come from the real groq client, pointed at the stub."""
    settings.GROQ_API_KEY = "test"
    settings.GROQ_BASE_URL = stub.url
    settings.GROQ_READ_TIMEOUT = 1.0
    settings.GROQ_CONNECT_TIMEOUT = 1.0
    settings.GROQ_ANSWER_TIMEOUT = 10.0
    settings.GROQ_MAX_RETRIES = 0
    return stub
