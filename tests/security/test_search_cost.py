"""Keyword search costs one query whatever the words, and is rate-limited per address."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import fulltext
from polls.selectors import poll_keyword_search
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

WORDS = ["which", "colour", "pizza", "topping", "season", "holiday", "team", "language"]
WORDS += ["meeting"]


@pytest.fixture
def big_poll():
    return PollFactory(
        question="Which pizza topping wins this season?",
        description="Vote for the team meeting lunch.",
        options=[f"Topping {WORDS[i % len(WORDS)]} number {i}" for i in range(20)],
    )


def test_many_words_cost_one_full_text_query(big_poll, capsys):
    """Nine words on a 20-option poll: one search query plus one to load the polls, fast."""
    PollFactory(question="Unrelated question about cats?")
    query = " ".join(WORDS)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        found = poll_keyword_search(query=query)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n[keyword search] {len(WORDS)} words, 20-option poll, {connection.vendor}: "
            f"{len(queries)} queries, {elapsed * 1000:.1f} ms"
        )
    assert found == [big_poll]
    searches = [q for q in queries if fulltext.TABLE in q["sql"]]
    assert len(searches) == 1
    assert len(queries) <= 5  # the search, the polls, and a savepoint or timeout around it
    assert elapsed < 0.5


def test_every_word_must_match_and_prefixes_count(big_poll):
    """All words are required; a word matches as a prefix; punctuation cannot break a query."""
    assert poll_keyword_search(query="pizz toppings") == []
    assert poll_keyword_search(query="pizz topp") == [big_poll]
    assert poll_keyword_search(query='pizza" * ( ) ^') == [big_poll]
    assert poll_keyword_search(query="pizza marmalade") == []
    assert poll_keyword_search(query="!!! ???") == []


def test_edited_unlisted_and_deleted_polls_follow_the_index(big_poll):
    """The index follows edits, unlisting and deletion of a poll."""
    from polls import services

    assert poll_keyword_search(query="lunch") == [big_poll]
    PollFactory(question="Lunch at noon?", listed=False)
    assert poll_keyword_search(query="lunch") == [big_poll]
    services.poll_delete(poll=big_poll)
    assert poll_keyword_search(query="lunch") == []
    assert big_poll.pk not in fulltext.indexed_ids(kind="poll")


def test_search_is_rate_limited_per_address(client, settings):
    """Past its per-address limit /search answers 429 with Retry-After."""
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "search-ip": "3/m"}
    answers = [client.get("/search", {"q": f"pizza {n}"}).status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]


@pytest.fixture
def many_documents():
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_fulltext WHERE kind = 'load'")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_search_cut_short_answers_as_no_match(on_postgres, many_documents, settings, caplog):
    """On PostgreSQL a search that overruns its statement timeout finds nothing, not a 500."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_fulltext (kind, object_id, document)"
            " SELECT 'load', n, to_tsvector('simple', 'alpha beta gamma ' || n)"
            " FROM generate_series(1, 100000) AS n"
        )
    assert len(fulltext.search(kind="load", query="alpha beta", limit=5)) == 5
    settings.SEARCH_STATEMENT_TIMEOUT_MS = 1
    assert fulltext.search(kind="load", query="alpha beta", limit=5) == []
    assert "ran out of time" in caplog.text
    # The timeout was local to the search: the connection is back to no limit.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
