"""Topic tags from Groq where GROQ_TAGS is on (a local stub speaking Groq's format), the
local method otherwise or when Groq fails."""

import pytest

from chat import tasks
from tests.chat.groq_stub import Behaviour
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def groq_tags(settings, stub):
    settings.GROQ_API_KEY = "gsk_test"
    settings.GROQ_BASE_URL = stub.url
    settings.GROQ_TAGS = True
    return stub


@pytest.fixture
def tagged(django_capture_on_commit_callbacks):
    def make(question, options):
        poll = PollFactory(question=question, options=options)
        with django_capture_on_commit_callbacks(execute=True):
            tasks.embed_poll.apply(args=(poll.pk,))
        return list(poll.tags.values_list("label", flat=True))

    return make


def test_groq_picks_the_tags_from_the_list(groq_tags, tagged):
    """Groq's labels are kept, in its order; a label outside the list is dropped."""
    groq_tags.behaviour = Behaviour(tokens=['["ga', 'mes", "fun', '", "nonsense"]'])
    labels = tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])
    assert sorted(labels) == ["fun", "games"]
    prompt = groq_tags.prompt()
    assert "Are cats better pets than dogs?" in prompt
    assert '"pets"' in prompt


@pytest.mark.parametrize(
    "behaviour",
    [Behaviour(status=500), Behaviour(tokens=["I", " cannot", " say"]), Behaviour(reset_after=1)],
    ids=["server error", "no known label", "connection reset"],
)
def test_a_failing_groq_call_falls_back_to_local_tags(groq_tags, tagged, behaviour):
    groq_tags.behaviour = behaviour
    labels = tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])
    assert labels[0] == "pets"
    assert len(groq_tags.requests) == 1


def test_groq_tags_off_by_default_even_with_a_key(settings, stub, tagged):
    """A Groq key for answers alone does not send polls to Groq for tags."""
    settings.GROQ_API_KEY = "gsk_test"
    settings.GROQ_BASE_URL = stub.url
    assert settings.GROQ_TAGS is False
    assert tagged("Are cats better pets than dogs?", ["Cats", "Dogs"])[0] == "pets"
    assert stub.requests == []
