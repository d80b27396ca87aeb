"""Topic tags: assigned from the embedded text, shown on polls, usable as a search filter."""

import pytest

from chat import search, tags, tasks
from chat.models import PollTag
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(django_capture_on_commit_callbacks):
    """Create a poll and run the embedding task on it, as the worker would."""

    def make(question, options, **kwargs):
        poll = PollFactory(question=question, options=options, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            tasks.embed_poll.apply(args=(poll.pk,))
        return poll

    return make


def labels(poll) -> list[str]:
    return list(poll.tags.values_list("label", flat=True))


def test_polls_get_one_to_three_fitting_tags(tagged):
    """The embedding task gives each poll 1 to 3 labels, the best fitting first."""
    pets = tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])
    code = tagged("Which programming language should beginners learn first?", ["Python", "Go"])
    sport = tagged("Who will win the football league this season?", ["Arsenal", "Liverpool"])

    assert labels(pets)[0] == "pets"
    assert labels(code)[0] == "programming"
    assert labels(sport)[0] == "sports"
    for poll in (pets, code, sport):
        assert 1 <= len(labels(poll)) <= tags.MAX_TAGS


def test_retagging_replaces_old_tags(tagged):
    """Tags follow the text: a changed question gets new tags and loses stale ones."""
    poll = tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])
    PollTag.objects.create(poll=poll, label="politics", score=0.9)
    tags.poll_tags_assign(poll_id=poll.pk)
    assert "politics" not in labels(poll)


def test_poll_without_snippets_gets_no_tags():
    poll = PollFactory()
    assert tags.poll_tags_assign(poll_id=poll.pk) == []
    assert not poll.tags.exists()


def test_tag_filter_limits_search(tagged, client):
    """?tag= keeps only polls with that tag, with a query or on its own."""
    pets = tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])
    tagged("Which pizza topping is best?", ["Pepperoni", "Mushrooms"])
    tag = labels(pets)[0]

    assert [p.question for p in search.search_polls(query="", tag=tag).polls] == [pets.question]
    assert search.search_polls(query="pizza", tag=tag).polls == []
    assert search.search_polls(query="kitten", tag=tag).polls == [pets]

    page = client.get("/search", {"tag": tag})
    assert pets.question.encode() in page.content
    assert b"Which pizza topping is best?" not in page.content
    assert b'name="tag" value="pets"' in page.content


def test_tags_show_as_links_on_poll_page_and_in_search(tagged, client):
    """Each tag is a chip linking to the search filtered by it."""
    poll = tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])

    page = client.get(poll.get_absolute_url())
    assert b'href="/search?tag=pets"' in page.content

    results = client.get("/search", {"q": "cats"})
    assert b'href="/search?tag=pets"' in results.content
