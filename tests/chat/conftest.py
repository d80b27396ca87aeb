"""Fixtures for the insights tests."""

import pytest

from chat import search, services


@pytest.fixture(autouse=True)
def fresh_index():
    """Each test starts with an empty in-process search index."""
    search.reset_index()
    yield
    search.reset_index()


@pytest.fixture
def synced(django_capture_on_commit_callbacks):
    """Sync a poll's snippets and run the commit hooks that tell the index."""

    def sync(poll):
        with django_capture_on_commit_callbacks(execute=True):
            services.poll_snippets_sync(poll_id=poll.pk)
        return poll

    return sync


@pytest.fixture
def no_groq(settings):
    settings.GROQ_API_KEY = ""
