"""Fixtures for the insights tests."""

import pytest

from chat import search
from tests.chat.groq_stub import GroqStub


@pytest.fixture(autouse=True)
def fresh_index():
    """Each test starts with an empty in-process search index."""
    search.reset_index()
    yield
    search.reset_index()


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


@pytest.fixture
def no_groq(settings):
    settings.GROQ_API_KEY = ""
