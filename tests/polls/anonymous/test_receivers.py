"""What hears of an anonymous poll's votes still does its job: the bell counts them, the
answers' snippets hold the comments, analytics charts them; and no event, stored record
or task argument carries a voter together with a ballot."""

from datetime import UTC

import pytest

from chat import services as chat_services
from chat import tasks as chat_tasks
from chat.models import Snippet
from core.voters import Voter, new_voter_token
from notifications.models import Kind, Notification
from notifications.services import vote_batch_flush
from polls import live, services
from polls.events import AnonymousCommentPosted, VoteAccepted
from polls.models import Ballot, Poll
from tests.accounts.factories import UserFactory
from tests.helpers import open_browser, post_json
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """The events sent, and what the live pages and the index were asked to do."""
    calls = {"events": [], "voted": [], "comments_pushed": [], "comment_embedded": []}

    def listen(sender, event, **kwargs):
        calls["events"].append(event)

    VoteAccepted.signal.connect(listen, dispatch_uid="test.anonymous.accepted")
    AnonymousCommentPosted.signal.connect(listen, dispatch_uid="test.anonymous.comment")
    monkeypatch.setattr(live, "announce_tally_soon", lambda poll_id: None)
    monkeypatch.setattr(
        live, "announce_voted", lambda **kwargs: calls["voted"].append(kwargs["voter_key"])
    )
    monkeypatch.setattr(live, "announce_comments_soon", calls["comments_pushed"].append)
    monkeypatch.setattr(chat_tasks, "queue_comment_embedding", calls["comment_embedded"].append)
    monkeypatch.setattr(chat_tasks, "queue_themes", lambda poll_id: None)
    yield calls
    VoteAccepted.signal.disconnect(dispatch_uid="test.anonymous.accepted")
    AnonymousCommentPosted.signal.disconnect(dispatch_uid="test.anonymous.comment")


def a_voter(user=None) -> Voter:
    return Voter(token=new_voter_token(), ip="192.0.2.9", user_id=user.pk if user else None)


def test_no_event_carries_both_the_voter_and_the_ballot(heard, django_capture_on_commit_callbacks):
    """The vote is announced with its voter and no ballot; the comment with its ballot
    and no voter. The voter's own pages hear "you voted"; the comment is pushed and
    queued for embedding by its ballot id alone."""
    owner = UserFactory()
    poll = PollFactory(anonymous=True, owner=owner, protection=Poll.Protection.ACCOUNT)
    author = UserFactory()
    voter = a_voter(author)
    with django_capture_on_commit_callbacks(execute=True):
        services.vote_cast(
            poll=poll, voter=voter, option_ids=[poll.options.first().pk], comment="Quiet one"
        )
    ballot = Ballot.objects.get(poll=poll)
    accepted, commented = heard["events"]
    assert isinstance(accepted, VoteAccepted)
    assert (accepted.ballot_id, accepted.comment) == (None, "")
    assert (accepted.voter_key, accepted.user_id) == (voter.key, author.pk)
    assert isinstance(commented, AnonymousCommentPosted)
    assert (commented.ballot_id, commented.comment) == (ballot.pk, "Quiet one")
    assert not {"voter_key", "user_id"} & set(vars(commented))
    assert heard["voted"] == [voter.key]
    assert heard["comments_pushed"] == [poll.pk]
    assert heard["comment_embedded"] == [ballot.pk]


def test_the_bell_counts_the_votes_and_quotes_no_comment(heard, django_capture_on_commit_callbacks):
    """The owner hears how many votes came, never a comment with the time it came."""
    owner = UserFactory()
    poll = PollFactory(anonymous=True, owner=owner)
    for comment in ("First!", "", "Third"):
        with django_capture_on_commit_callbacks(execute=True):
            services.vote_cast(
                poll=poll, voter=a_voter(), option_ids=[poll.options.first().pk], comment=comment
            )
    vote_batch_flush(poll=poll, force=True)
    texts = list(Notification.objects.filter(recipient=owner).values_list("kind", "text"))
    assert sum(_votes_in(text) for kind, text in texts if kind == Kind.VOTES) == 3
    assert not [text for kind, text in texts if kind == Kind.COMMENT]


def _votes_in(text: str) -> int:
    words = text.split()
    return next(int(word) for word in words if word.isdigit())


def test_a_comment_snippet_exists_without_an_author_or_a_time_of_day(monkeypatch):
    """The answers can quote the comment; its snippet knows the poll and the day only."""
    poll = PollFactory(anonymous=True, protection=Poll.Protection.ACCOUNT)
    author = UserFactory()
    services.vote_cast(
        poll=poll,
        voter=a_voter(author),
        option_ids=[poll.options.first().pk],
        comment="  Keep it simple  ",
    )
    ballot = Ballot.objects.get(poll=poll)
    assert chat_services.comment_snippet_sync(ballot_id=ballot.pk) == 1
    snippet = Snippet.objects.get(kind=Snippet.Kind.COMMENT, source_id=ballot.pk)
    assert (snippet.poll_id, snippet.text) == (poll.pk, "Keep it simple")
    assert author.username not in snippet.text
    moment = snippet.updated_at.astimezone(UTC)
    assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def test_analytics_counts_the_votes_by_day(signed_in, user):
    """Votes and comments are counted; the chart goes by day, as the ballots know it."""
    poll = PollFactory(anonymous=True, owner=user)
    for comment in ("yes", ""):
        vote = {"option": poll.options.first().pk, "comment": comment}
        assert post_json(open_browser(), f"/poll/{poll.code}/vote", vote).status_code == 201
    body = signed_in.get(
        f"/poll/{poll.code}/analytics", headers={"Accept": "application/json"}
    ).json()
    assert (body["votes"], body["comments"]) == (2, 1)
    assert body["bucket_seconds"] == 86400
    assert sum(bucket["votes"] for bucket in body["votes_over_time"]) == 2
    export = signed_in.get(f"/poll/{poll.code}/results.csv")
    assert export.status_code == 200
