"""The owner hears of what happens to their polls: votes, comments, the close, questions,
and moderators hiding or restoring one."""

from django.dispatch import receiver

from chat.events import QuestionAsked
from circles.events import MemberLeft, MemberRemoved
from notifications import services
from polls.events import (
    PollClosed,
    PollHidden,
    PollRestored,
    VoteAccepted,
    VoteChanged,
    VoteWithdrawn,
)


@receiver(VoteAccepted.signal, dispatch_uid="notifications.votes_arrived")
def votes_arrived(sender, event: VoteAccepted, **kwargs):
    services.votes_arrived(poll=event.poll)


@receiver(VoteAccepted.signal, dispatch_uid="notifications.comment_posted")
def comment_posted(sender, event: VoteAccepted, **kwargs):
    """Not in an anonymous poll (its events carry no comment): a notification quoting a
    comment would keep the time of day of the ballot it came with."""
    if event.comment.strip() and event.poll.allow_comments:
        services.comment_posted(poll=event.poll, comment=event.comment, author_id=event.user_id)


@receiver(VoteChanged.signal, dispatch_uid="notifications.comment_changed")
def comment_changed(sender, event: VoteChanged, **kwargs):
    """A changed vote is not a new one; only a newly written comment is news."""
    if event.comment_changed and event.comment.strip() and event.poll.allow_comments:
        services.comment_posted(poll=event.poll, comment=event.comment, author_id=event.user_id)


@receiver(VoteWithdrawn.signal, dispatch_uid="notifications.votes_withdrawn")
def votes_withdrawn(sender, event: VoteWithdrawn, **kwargs):
    services.votes_withdrawn(poll=event.poll)


@receiver(PollClosed.signal, dispatch_uid="notifications.poll_closed")
def poll_closed(sender, event: PollClosed, **kwargs):
    services.poll_closed(poll=event.poll)


@receiver(QuestionAsked.signal, dispatch_uid="notifications.question_asked")
def question_asked(sender, event: QuestionAsked, **kwargs):
    services.question_asked(poll=event.poll, question=event.question, asker_id=event.asker_id)


@receiver(PollHidden.signal, dispatch_uid="notifications.poll_hidden")
def poll_hidden(sender, event: PollHidden, **kwargs):
    services.poll_moderated(poll=event.poll, hidden=True, reason=event.reason)


@receiver(PollRestored.signal, dispatch_uid="notifications.poll_restored")
def poll_restored(sender, event: PollRestored, **kwargs):
    services.poll_moderated(poll=event.poll, hidden=False)


@receiver(MemberLeft.signal, dispatch_uid="notifications.member_left")
@receiver(MemberRemoved.signal, dispatch_uid="notifications.member_removed")
def circle_left(sender, event: MemberLeft | MemberRemoved, **kwargs):
    services.circle_notifications_drop(circle_id=event.circle_id, user_id=event.user_id)
