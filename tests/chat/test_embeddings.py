"""Embedding a poll's text and comments: what is stored, and what is not embedded twice."""

import logging

import numpy as np
import pytest
from django.core.management import call_command

from chat import embeddings, services, tags, tasks
from chat.models import Snippet
from config.celery import app as celery_app
from core.voters import Voter
from polls import services as poll_services
from polls.models import Ballot
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def embed_calls(monkeypatch):
    """Count the texts handed to the real model."""
    tags._topics()  # the topic labels, embedded once per process
    calls: list[list[str]] = []
    real = embeddings.embed

    def counting(texts, **kwargs):
        calls.append(list(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(embeddings, "embed", counting)
    return calls


@pytest.fixture
def eager(monkeypatch):
    """Run tasks in this process even where a Redis broker is configured."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.fixture
def in_caller(eager, settings):
    """Run queued embedding tasks in the caller, as soon as the transaction commits."""
    settings.EMBED_IN_BACKGROUND = False


def cast(poll, option, comment: str, browser: str = "t1"):
    voter = Voter(token=browser, ip="127.0.0.1")
    outcome = poll_services.vote_cast(
        poll=poll, voter=voter, option_ids=[option.pk], comment=comment
    )
    assert outcome.result == poll_services.VoteResult.ACCEPTED
    return Ballot.objects.get(poll=poll, voter_key=voter.key)


def snippet_texts(poll) -> set[tuple[str, str]]:
    return set(Snippet.objects.filter(poll=poll).values_list("kind", "text"))


def test_real_model_embeds_unit_float32_vectors():
    """The bundled model gives one 384-dim unit float32 vector per text."""
    vectors = embeddings.embed(["Which pizza topping is best?", "Cats or dogs?"])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_sync_stores_question_options_and_comments(embed_calls):
    """A poll's question, options and comments each become one embedded snippet."""
    poll = PollFactory(question="Best pizza?", description="Be honest.", options=["Ham", "Corn"])
    cast(poll, poll.options.first(), "Ham is a classic")

    assert services.poll_snippets_sync(poll_id=poll.pk) == 4

    assert snippet_texts(poll) == {
        ("poll", "Best pizza?\nBe honest."),
        ("option", "Ham"),
        ("option", "Corn"),
        ("comment", "Ham is a classic"),
    }
    assert len(embed_calls) == 1
    snippet = Snippet.objects.get(poll=poll, kind="poll")
    assert snippet.model_name == embeddings.MODEL_NAME
    assert snippet.as_array().shape == (384,)
    np.testing.assert_allclose(np.linalg.norm(snippet.as_array()), 1.0, atol=1e-5)


def test_resaving_unchanged_text_embeds_nothing(embed_calls):
    """A second sync of unchanged text never calls the model; a changed option alone is."""
    poll = PollFactory(options=["Red", "Green"])
    services.poll_snippets_sync(poll_id=poll.pk)
    embed_calls.clear()

    assert services.poll_snippets_sync(poll_id=poll.pk) == 0
    assert embed_calls == []

    poll.options.filter(text="Green").update(text="Teal")
    assert services.poll_snippets_sync(poll_id=poll.pk) == 1
    assert embed_calls == [["Teal"]]


def test_gone_option_and_removed_comment_lose_their_snippets():
    """Snippets of a deleted option or a removed comment are deleted on the next sync."""
    poll = PollFactory(options=["Red", "Green", "Blue"])
    ballot = cast(poll, poll.options.first(), "Red all the way")
    services.poll_snippets_sync(poll_id=poll.pk)

    poll.options.filter(text="Blue").delete()
    Ballot.objects.filter(pk=ballot.pk).update(comment_removed=True)
    assert services.poll_snippets_sync(poll_id=poll.pk) == 0

    assert ("option", "Blue") not in snippet_texts(poll)
    assert not Snippet.objects.filter(kind="comment", source_id=ballot.pk).exists()


def test_comment_sync_embeds_once_and_drops_removed(embed_calls):
    """A comment is embedded once, not again when unchanged, and dropped when removed."""
    poll = PollFactory()
    ballot = cast(poll, poll.options.first(), "  Because it is bright  ")

    assert services.comment_snippet_sync(ballot_id=ballot.pk) == 1
    assert services.comment_snippet_sync(ballot_id=ballot.pk) == 0
    assert embed_calls == [["Because it is bright"]]
    assert Snippet.objects.get(kind="comment", source_id=ballot.pk).poll_id == poll.pk

    Ballot.objects.filter(pk=ballot.pk).update(comment_removed=True)
    services.comment_snippet_sync(ballot_id=ballot.pk)
    assert not Snippet.objects.filter(kind="comment", source_id=ballot.pk).exists()
    assert services.comment_snippet_sync(ballot_id=ballot.pk + 1000) == 0


def test_sync_twice_keeps_one_row_per_source():
    """Syncing again after the rows exist (as a duplicate task would) upserts, never fails."""
    poll = PollFactory(options=["Red", "Green"])
    services.poll_snippets_sync(poll_id=poll.pk)
    Snippet.objects.filter(poll=poll).update(text_hash="stale")

    assert services.poll_snippets_sync(poll_id=poll.pk) == 3
    assert Snippet.objects.filter(poll=poll).count() == 3


def test_creating_a_poll_and_commenting_queue_embeddings(
    in_caller, django_capture_on_commit_callbacks
):
    """poll_create and an accepted vote with a comment embed after commit."""
    with django_capture_on_commit_callbacks(execute=True):
        poll = PollFactory(question="Which season do you like most?", options=["Summer", "Winter"])
    assert ("poll", "Which season do you like most?") in snippet_texts(poll)
    assert poll.tags.exists()

    with django_capture_on_commit_callbacks(execute=True):
        ballot = cast(poll, poll.options.first(), "Long evenings")
    assert Snippet.objects.filter(kind="comment", source_id=ballot.pk).exists()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        cast(poll, poll.options.first(), "", browser="t2")
    assert Snippet.objects.filter(poll=poll, kind="comment").count() == 1
    assert len(callbacks) == 1  # the tally announcement only


def test_embedding_failure_never_breaks_a_vote(
    in_caller, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    """With the model failing the vote is still accepted and the error is logged."""
    poll = PollFactory()

    def broken(texts, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(embeddings, "embed", broken)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        ballot = cast(poll, poll.options.first(), "Still counts")
    assert ballot.choices.count() == 1
    assert "model exploded" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_embedded_default_embeds_on_a_background_thread(eager):
    """Without a broker the task runs on a background thread, not in the saving request."""
    poll = PollFactory(question="Tea or coffee in the morning?", options=["Tea", "Coffee"])
    tasks.wait_for_background()
    assert Snippet.objects.filter(poll=poll).count() == 3


def test_embed_polls_command_reembeds_everything(embed_calls):
    """embed_polls embeds what is missing, and with --all re-embeds every snippet."""
    first, second = PollFactory(options=["A", "B"]), PollFactory(options=["C", "D"])
    services.poll_snippets_sync(poll_id=first.pk)
    embed_calls.clear()

    call_command("embed_polls")
    assert Snippet.objects.filter(poll=second).count() == 3
    assert sum(len(texts) for texts in embed_calls) == 3

    embed_calls.clear()
    call_command("embed_polls", "--all")
    assert sum(len(texts) for texts in embed_calls) == 6
