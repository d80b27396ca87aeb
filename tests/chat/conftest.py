"""Fixtures for the insights tests."""

import pytest

from chat import search


@pytest.fixture(autouse=True)
def fresh_index():
    """Each test starts with an empty in-process search index."""
    search.reset_index()
    yield
    search.reset_index()


@pytest.fixture
def no_groq(settings):
    settings.GROQ_API_KEY = ""
