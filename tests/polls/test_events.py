"""Domain events: each reaches every subscriber after commit, and a failing subscriber
neither undoes the write nor keeps the others from running."""

import logging

import pytest

from chat import services as chat_services
from chat import tasks as chat_tasks
from core.voters import Voter, new_voter_token
from notifications.models import Kind, Notification
from polls import live, selectors, services
from polls.models import Ballot, Poll
from tests.accounts.factories import UserFactory
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """What the live pages and the search index were asked to do, by subscriber."""
    calls = {"pushed": [], "voted": [], "poll_embedded": [], "comment_embedded": []}
    monkeypatch.setattr(live, "announce_tally_soon", calls["pushed"].append)
    monkeypatch.setattr(
        live, "announce_voted", lambda **kwargs: calls["voted"].append(kwargs["poll_id"])
    )
    monkeypatch.setattr(chat_tasks, "queue_poll_embedding", calls["poll_embedded"].append)
    monkeypatch.setattr(chat_tasks, "queue_comment_embedding", calls["comment_embedded"].append)
    return calls


def notified(user, kind) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, kind=kind).values_list("text", flat=True)
    )


def a_voter(user=None) -> Voter:
    return Voter(token=new_voter_token(), ip="192.0.2.7", user_id=user.pk if user else None)


def test_poll_created_is_embedded_after_commit(heard, django_capture_on_commit_callbacks):
    """A new poll's text is queued for embedding once it commits, not before."""
    with django_capture_on_commit_callbacks(execute=True):
        poll = PollFactory()
        assert heard["poll_embedded"] == []
    assert heard["poll_embedded"] == [poll.pk]


def test_vote_accepted_reaches_the_page_the_bell_and_the_index(
    heard, django_capture_on_commit_callbacks
):
    """An accepted vote with a comment pushes the tally (and "you voted"), tells the owner
    of the vote and the comment, and queues the comment's embedding by its ballot id."""
    owner = UserFactory()
    poll = PollFactory(owner=owner, results_visibility=Poll.ResultsVisibility.AFTER_VOTE)
    option = poll.options.first()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.vote_cast(
            poll=poll, voter=a_voter(), option_ids=[option.pk], comment="Red all the way"
        )
    assert outcome.result == services.VoteResult.ACCEPTED
    ballot = Ballot.objects.get(poll=poll)
    assert heard["pushed"] == [poll.pk]
    assert heard["voted"] == [poll.pk]
    assert heard["comment_embedded"] == [ballot.pk]
    assert len(notified(owner, Kind.VOTES)) == 1
    assert notified(owner, Kind.COMMENT) == [f"New comment on “{poll.question}”: “Red all the way”"]


def test_a_refused_vote_announces_nothing(heard, django_capture_on_commit_callbacks):
    """A second vote from the same voter changes nothing, so nobody hears of it."""
    poll = PollFactory(owner=UserFactory())
    voter = a_voter()
    option = poll.options.first()
    services.vote_cast(poll=poll, voter=voter, option_ids=[option.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = services.vote_cast(poll=poll, voter=voter, option_ids=[option.pk])
    assert again.result == services.VoteResult.ALREADY_VOTED
    assert callbacks == []


def test_poll_closed_pushes_and_tells_the_owner_after_commit(
    heard, django_capture_on_commit_callbacks
):
    """Closing pushes the final tally and tells the owner the winner, once committed."""
    owner = UserFactory()
    poll = PollFactory(owner=owner)
    services.vote_cast(poll=poll, voter=a_voter(), option_ids=[poll.options.first().pk])
    with django_capture_on_commit_callbacks(execute=True):
        services.poll_close(poll=poll)
        assert notified(owner, Kind.CLOSED) == []  # nothing inside the close transaction
    assert heard["pushed"] == [poll.pk]
    [closed] = notified(owner, Kind.CLOSED)
    assert "Winner: “Red” with 1 vote of 1 (100%)." in closed


def test_poll_reopened_and_updated_push_the_tally(heard, django_capture_on_commit_callbacks):
    """Reopening pushes the tally; an edit pushes it and queues the new text's embedding."""
    poll = PollFactory()
    services.poll_close(poll=poll)
    with django_capture_on_commit_callbacks(execute=True):
        services.poll_reopen(poll=poll)
    assert heard["pushed"] == [poll.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.poll_update(
            poll=poll,
            question="Which colour, really?",
            description="",
            allow_comments=True,
            listed=True,
            results_visibility=poll.results_visibility,
            closes_at=None,
            timezone_name="UTC",
        )
    assert heard["pushed"] == [poll.pk, poll.pk]
    assert heard["poll_embedded"] == [poll.pk]


def test_comment_removed_drops_it_from_the_index(heard, django_capture_on_commit_callbacks):
    """A removed comment's ballot is queued again, so its snippet is dropped."""
    poll = PollFactory()
    services.vote_cast(
        poll=poll, voter=a_voter(), option_ids=[poll.options.first().pk], comment="x"
    )
    ballot = Ballot.objects.get(poll=poll)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.comment_remove(poll=poll, ballot_id=ballot.pk)
    assert heard["comment_embedded"] == [ballot.pk]


def test_vote_changed_reembeds_only_a_changed_comment(heard, django_capture_on_commit_callbacks):
    """A changed vote re-embeds its comment when the text changed, and not otherwise."""
    poll = PollFactory(vote_changes=Poll.VoteChanges.ALLOWED)
    red, green, _ = poll.options.all()
    voter = a_voter()
    services.vote_cast(poll=poll, voter=voter, option_ids=[red.pk], comment="Red, first")
    ballot = Ballot.objects.get(poll=poll)
    with django_capture_on_commit_callbacks(execute=True):
        services.vote_cast(poll=poll, voter=voter, option_ids=[green.pk], comment="Green now")
    assert heard["comment_embedded"] == [ballot.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.vote_cast(poll=poll, voter=voter, option_ids=[red.pk], comment="Green now")
    assert heard["comment_embedded"] == [ballot.pk]


def test_question_asked_tells_the_owner_but_not_when_they_ask(
    django_capture_on_commit_callbacks,
):
    """A question asked of someone's poll notifies its owner; their own question does not."""
    owner = UserFactory()
    poll = PollFactory(owner=owner)
    with django_capture_on_commit_callbacks(execute=True):
        chat_services.question_record(poll_id=poll.pk, question="Why red?", asker_id=None)
        chat_services.question_record(poll_id=poll.pk, question="Mine?", asker_id=owner.pk)
    assert notified(owner, Kind.ASKED) == [f"Someone asked “{poll.question}”: “Why red?”"]


def test_a_failing_subscriber_neither_breaks_the_vote_nor_stops_the_others(
    heard, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """When the live push raises, the vote stays counted, the owner is still told and the
    comment is still embedded; the failure is logged."""
    owner = UserFactory()
    poll = PollFactory(owner=owner)

    def broken(poll_id):
        raise RuntimeError("channel layer down")

    monkeypatch.setattr(live, "announce_tally_soon", broken)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        outcome = services.vote_cast(
            poll=poll, voter=a_voter(), option_ids=[poll.options.first().pk], comment="Still here"
        )
    assert outcome.result == services.VoteResult.ACCEPTED
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert selectors.poll_tally(poll=poll).total_votes == 1
    assert len(notified(owner, Kind.VOTES)) == 1
    assert len(notified(owner, Kind.COMMENT)) == 1
    assert heard["comment_embedded"] == [Ballot.objects.get(poll=poll).pk]
    assert any("channel layer down" in str(record.exc_info) for record in caplog.records)
