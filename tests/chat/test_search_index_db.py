"""The shared index follows the database: new, edited, deleted and unlisted polls, found or
gone without a full rebuild, and hybrid ranking of words and meaning."""

import pytest

from chat import search, services
from polls import services as poll_services
from tests.chat.test_search import questions
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

TOPICS = [
    ("Which pizza topping is best?", ["Pepperoni", "Mushrooms", "Pineapple"]),
    ("Should cities ban automobiles from the centre?", ["Yes", "No", "Only on weekends"]),
    ("Which programming language should beginners learn first?", ["Python", "JavaScript"]),
    ("Who will win the football league this season?", ["Arsenal", "Liverpool", "City"]),
    ("Where should we go on holiday this summer?", ["Beach", "Mountains", "City break"]),
    ("Are cats better pets than dogs?", ["Cats", "Dogs"]),
]


@pytest.fixture
def polls(synced):
    return [synced(PollFactory(question=q, options=o)) for q, o in TOPICS]


def meta():
    return search.shared_index().read_meta()


def test_search_is_served_by_the_shared_files(polls):
    assert questions("favourite pizza topping")[0] == "Which pizza topping is best?"
    index = search.shared_index()
    assert index is not None
    assert len(index) == len(TOPICS)
    assert (search.shared_index_path() / f"g{meta()['generation']}.i8").stat().st_size == (
        len(TOPICS) * 384
    )


def test_new_and_edited_polls_are_found_without_a_rebuild(polls, synced):
    questions("pizza")
    generation, rows = meta()["generation"], meta()["rows"]

    synced(PollFactory(question="Which instrument should I learn?", options=["Violin", "Piano"]))
    assert questions("violin lessons")[0] == "Which instrument should I learn?"

    poll = polls[5]
    index = search.shared_index()
    old_row = index.maps["f32"][index.live_rows([poll.pk])[poll.pk]].copy()
    poll.question = "Which houseplant is easiest to keep alive?"
    poll.save()
    poll.options.update(text="Succulent")
    synced(poll)
    assert questions("indoor plants")[0] == "Which houseplant is easiest to keep alive?"
    index = search.shared_index()
    assert max(score for _, score in index.search(old_row, k=5)) < 0.9  # old row is dead

    after = meta()
    assert after["generation"] == generation  # appended, not rebuilt
    assert after["rows"] == rows + 2
    assert after["dead"] == 1


def test_unlisted_and_deleted_polls_are_gone(polls, synced, django_capture_on_commit_callbacks):
    assert questions("car")[0] == "Should cities ban automobiles from the centre?"
    generation = meta()["generation"]

    cars = polls[1]
    cars.listed = False
    cars.save()
    with django_capture_on_commit_callbacks(execute=True):
        search.index_changed()
    assert "Should cities ban automobiles from the centre?" not in questions("car")
    assert cars.pk not in search.shared_index().live_rows([cars.pk])

    pets = polls[5]
    pets_id = pets.pk
    assert questions("kitten or puppy")[0] == "Are cats better pets than dogs?"
    poll_services.poll_delete(poll=pets)
    assert "Are cats better pets than dogs?" not in questions("kitten or puppy")
    assert pets_id not in search.shared_index().live_rows([pets_id])
    assert meta()["generation"] == generation


def test_a_row_left_by_another_database_is_not_shown(polls, synced):
    """A row whose id now belongs to another poll (made later) is dropped and tombstoned."""
    questions("pizza")
    index = search.shared_index()
    pizza = polls[0]
    with index.locked():
        index.tombstone([pizza.pk])
        vector = search.combine(
            services.embeddings.embed(["Quantum chromodynamics on a lattice"])[0], []
        )
        index.append([pizza.pk], [123.0], vector[None, :])
    assert "Which pizza topping is best?" not in questions("lattice chromodynamics")
    assert pizza.pk not in search.shared_index().live_rows([pizza.pk])


def test_hybrid_finds_a_rare_word_embeddings_rank_low(polls, synced):
    """A made-up product name: the embedding ranks its poll low, the words find it first."""
    target = synced(
        PollFactory(
            question="Should the office switch coffee machines?",
            options=["Keep the old one", "Buy a Zorblatt"],
        )
    )
    vector = services.embeddings.embed(["zorblatt"])[0]
    semantic = dict(search.shared_index().search(vector, k=10))
    assert semantic[target.pk] < search.MIN_SCORE  # meaning alone would not show it
    assert questions("zorblatt")[0] == "Should the office switch coffee machines?"
    assert questions("Zorblatt coffee")[0] == "Should the office switch coffee machines?"


def test_hybrid_keeps_meaning_and_filters(polls, synced):
    """A poll found both ways ranks first; words alone never lift an unlisted poll."""
    synced(PollFactory(question="Secret zorblatt party?", listed=False))
    assert "Secret zorblatt party?" not in questions("zorblatt party")
    assert "Secret zorblatt party?" not in questions("secret party")
    assert questions("pizza topping")[0] == "Which pizza topping is best?"
