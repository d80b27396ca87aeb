"""Search by meaning over listed polls, kept current, with a keyword fallback."""

import numpy as np
import pytest
from django.core.cache import cache

from chat import search, services
from core.voters import Voter
from polls import services as poll_services
from polls.models import Ballot
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

TOPICS = [
    ("Which pizza topping is best?", ["Pepperoni", "Mushrooms", "Pineapple"]),
    ("Should cities ban automobiles from the centre?", ["Yes", "No", "Only on weekends"]),
    ("Which programming language should beginners learn first?", ["Python", "JavaScript"]),
    ("Who will win the football league this season?", ["Arsenal", "Liverpool", "City"]),
    ("Where should we go on holiday this summer?", ["Beach", "Mountains", "City break"]),
    ("Are cats better pets than dogs?", ["Cats", "Dogs"]),
    ("What time should the team meeting start?", ["9:00", "10:00", "11:00"]),
    ("Which streaming series did you enjoy most this year?", ["Drama", "Comedy", "Documentary"]),
]


@pytest.fixture
def polls(synced):
    return [synced(PollFactory(question=question, options=options)) for question, options in TOPICS]


def questions(query: str, **kwargs) -> list[str]:
    return [poll.question for poll in search.search_polls(query=query, **kwargs).polls]


def test_similar_question_ranks_first(polls):
    """A paraphrase finds its poll first, ahead of every unrelated one."""
    found = questions("favourite pizza topping")
    assert found[0] == "Which pizza topping is best?"
    assert "Are cats better pets than dogs?" not in found


def test_synonym_finds_poll(polls):
    """ "car" finds the poll that only says "automobiles"."""
    assert questions("car")[0] == "Should cities ban automobiles from the centre?"
    assert questions("kitten or puppy")[0] == "Are cats better pets than dogs?"
    assert questions("learn to code")[0] == (
        "Which programming language should beginners learn first?"
    )


def test_unrelated_query_finds_nothing(polls):
    """A query about none of the polls scores low everywhere and shows no results."""
    assert questions("quantum chromodynamics lattice") == []


def test_empty_query_without_tag_finds_nothing(polls):
    assert questions("") == []


def test_new_poll_is_found_without_restart(polls, synced):
    """A poll embedded after the index loaded is found by the next search."""
    assert questions("violin")[:1] != ["Which instrument should I learn?"]
    synced(PollFactory(question="Which instrument should I learn?", options=["Violin", "Piano"]))
    assert questions("violin")[0] == "Which instrument should I learn?"


def test_another_process_reloads_only_changed_polls(polls, synced):
    """An index that sees a new version token loads the changed poll and keeps the rest."""
    other = search.PollIndex()
    other.refresh()
    assert len(other) == len(TOPICS)
    version = other.version

    poll = synced(PollFactory(question="Do you prefer tea or coffee?", options=["Tea"]))
    other.refresh()
    assert other.version != version
    assert len(other) == len(TOPICS) + 1
    vector = services.embeddings.embed(["a cup of coffee"])[0]
    assert other.search(vector, k=1)[0][0] == poll.pk


def test_changed_option_text_updates_the_row(polls, synced):
    """Editing an option moves the poll's row in the index."""
    poll = polls[6]
    before = search.poll_index().matrix[search.poll_index().row_of[poll.pk]].copy()
    poll.options.filter(text="9:00").update(text="Saxophone practice")
    synced(poll)
    after = search.poll_index().matrix[search.poll_index().row_of[poll.pk]]
    assert not np.allclose(before, after)


def test_poll_without_vectors_found_by_keyword(polls):
    """A poll not embedded yet is still found by the words of its question."""
    PollFactory(question="Best marmalade brand?", options=["Thick cut", "Fine cut"])
    assert questions("marmalade") == ["Best marmalade brand?"]


def test_words_only_while_model_loads(polls, monkeypatch):
    """Before the model has loaded, search matches words and says it is warming up."""
    monkeypatch.setattr(search, "model_ready", lambda: False)
    monkeypatch.setattr(search, "warm_up_in_background", lambda: None)
    results = search.search_polls(query="pizza")
    assert results.warming_up
    assert [poll.question for poll in results.polls] == ["Which pizza topping is best?"]
    assert search.search_polls(query="car").polls == []


def test_unlisted_poll_is_never_found(synced):
    synced(PollFactory(question="Secret pizza party?", listed=False))
    assert questions("pizza party") == []


def test_index_search_returns_top_k_in_order():
    """argpartition top-k returns the k best rows, best first."""
    index = search.PollIndex(capacity=2)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index.upsert(list(range(1, 51)), vectors)
    query = vectors[9]
    hits = index.search(query, k=5)
    assert hits[0][0] == 10
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores == pytest.approx(sorted((vectors @ query).tolist(), reverse=True)[:5], abs=1e-5)


def test_search_page_works_with_and_without_htmx(polls, client):
    """/search?q= renders the whole page, or only the results for htmx."""
    page = client.get("/search", {"q": "car"})
    assert page.status_code == 200
    assert b"Should cities ban automobiles from the centre?" in page.content
    assert b'<form action="/search"' in page.content

    fragment = client.get("/search", {"q": "car"}, headers={"HX-Request": "true"})
    assert fragment.content.lstrip().startswith(b'<div id="search-results"')
    assert b"Should cities ban automobiles from the centre?" in fragment.content


def test_a_comment_does_not_make_processes_reload(polls, django_capture_on_commit_callbacks):
    """Comments are not part of a poll's search row: embedding one keeps the version."""
    poll = polls[0]
    voter = Voter(token="reader", ip="127.0.0.1")
    poll_services.vote_cast(
        poll=poll, voter=voter, option_ids=[poll.options.first().pk], comment="Crispy!"
    )
    ballot = Ballot.objects.get(poll=poll)
    version = cache.get(search.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.comment_snippet_sync(ballot_id=ballot.pk) == 1
    assert cache.get(search.VERSION_KEY) == version
