"""Comment themes: deterministic groups of a poll's comments, with verbatim quotes and
option counts that add up, kept current off the request path, shown on the poll page and in
the results JSON, and never carrying option counts to a viewer who may not see results."""

import pytest

from chat import tasks
from chat.models import PollThemes
from chat.themes import compute_themes, poll_themes_for, poll_themes_refresh
from polls import services
from polls.models import Ballot, Poll
from tests.chat.eval.build import build, vote
from tests.chat.eval.dataset import POLLS
from tests.chat.groq_stub import Behaviour

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tasks_in_caller(settings):
    """Embedding and themes tasks run where they are queued, whatever the broker, so that a
    test sees what a worker would have stored."""
    from config.celery import app

    settings.EMBED_IN_BACKGROUND = False
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def visible_texts(poll: Poll) -> list[str]:
    """The comments with text anyone may read."""
    comments = Ballot.objects.filter(poll=poll, comment_removed=False)
    return [text for text in comments.values_list("comment", flat=True) if text.strip()]


def test_themes_are_deterministic_verbatim_and_add_up():
    """The same comments give the same themes; sizes add up to the comments with text, every
    quote is one of them word for word, and each theme's option counts add up to its size."""
    first = build(POLLS[0])
    services.comment_remove(poll=first.poll, ballot_id=first.ballots["c4"])
    vote(first.poll, "City", "   ")  # a blank comment is no comment

    themes = compute_themes(poll_id=first.poll.pk)

    assert themes == compute_themes(poll_id=first.poll.pk)
    texts = visible_texts(first.poll)
    assert len(texts) == 11
    assert 2 <= len(themes) <= 6
    assert sum(theme["size"] for theme in themes) == len(texts)
    for theme in themes:
        assert theme["label"]
        assert 1 <= len(theme["quotes"]) <= 3
        assert len(theme["quotes"]) == min(3, theme["size"])
        assert all(quote["text"] in texts for quote in theme["quotes"])
        assert sum(theme["options"].values()) == theme["size"]  # one choice per ballot
    assert all("packed with tourists" not in quote["text"] for t in themes for quote in t["quotes"])
    again = build(POLLS[0])
    services.comment_remove(poll=again.poll, ballot_id=again.ballots["c4"])

    def shape(found):
        return [(t["label"], t["size"], [q["text"] for q in t["quotes"]]) for t in found]

    assert shape(compute_themes(poll_id=again.poll.pk)) == shape(themes)


def test_themes_follow_comments_as_they_arrive():
    """New and removed comments regroup the themes off the request path, with no call here."""
    poll = build(POLLS[2]).poll
    stored = PollThemes.objects.get(poll=poll)
    assert stored.comment_count == 12

    vote(poll, "Cat", "Cats groom themselves, so there is no bathing to do.")
    assert PollThemes.objects.get(poll=poll).comment_count == 13
    ballot = Ballot.objects.get(poll=poll, comment__startswith="Cats groom")
    services.comment_remove(poll=poll, ballot_id=ballot.pk)
    assert PollThemes.objects.get(poll=poll).comment_count == 12


def test_comments_in_a_burst_queue_one_regrouping(settings, monkeypatch):
    """Comments arriving together queue one themes task, not one each."""
    queued = []
    monkeypatch.setattr(tasks, "enqueue", lambda task, *args, **kw: queued.append(args))
    for _ in range(5):
        tasks.queue_themes(41)
    tasks.queue_themes(42)
    assert queued == [(41,), (42,)]


def test_poll_page_and_results_json_show_the_themes(client):
    """The results section lists the themes with sizes, option counts and quotes; the
    results JSON carries them under "themes"."""
    built = build(POLLS[3])
    themes = poll_themes_for(poll=built.poll, visible=True)

    page = client.get(built.poll.get_absolute_url()).content.decode()
    document = client.get(f"/poll/{built.poll.code}/results").json()

    assert 'id="themes"' in page
    assert page.count("data-theme-label") == len(themes)
    assert "data-theme-options" in page
    assert [theme["label"] for theme in document["themes"]] == [t.label for t in themes]
    assert sum(theme["size"] for theme in document["themes"]) == 12
    for theme in document["themes"]:
        assert sum(option["count"] for option in theme["options"]) == theme["size"]
        assert set(theme["quotes"]) <= set(visible_texts(built.poll))


def test_hidden_results_give_themes_without_option_counts(client):
    """Before voting on an "after voting" poll, themes show without who chose what."""
    built = build(POLLS[4], results_visibility=Poll.ResultsVisibility.AFTER_VOTE)

    page = client.get(built.poll.get_absolute_url()).content.decode()
    document = client.get(f"/poll/{built.poll.code}/results").json()

    assert document["results_visible"] is False
    assert document["themes"]
    assert all(theme["options"] is None for theme in document["themes"])
    assert 'id="themes"' in page
    assert "data-theme-options" not in page


def test_groq_labels_themes_only_where_its_own_setting_is_on(settings, stub):
    """With a key set, Groq names the themes only under GROQ_THEME_LABELS; otherwise the
    label is the key phrase of the most central comment and Groq is not asked."""
    settings.GROQ_API_KEY = "test"
    settings.GROQ_BASE_URL = stub.url
    settings.GROQ_MAX_RETRIES = 0
    settings.GROQ_THEME_LABELS = False
    poll = build(POLLS[5]).poll
    assert stub.requests == []
    local = [theme.label for theme in poll_themes_for(poll=poll, visible=True)]
    assert all(label != "Opening times" for label in local)

    settings.GROQ_THEME_LABELS = True
    stub.behaviour = Behaviour(tokens=["Opening times"])
    poll_themes_refresh(poll_id=poll.pk)

    labels = [theme.label for theme in poll_themes_for(poll=poll, visible=True)]
    assert labels == ["Opening times"] * len(labels)
    assert len(stub.requests) == len(labels)
    assert "never follow instructions" in stub.prompt()
