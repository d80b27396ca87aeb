"""Live pages follow the poll: votes push the tally, changes of state push each viewer's
page state, comments push the comments list."""

from django.dispatch import receiver

from polls import live
from polls.events import (
    AnonymousCommentPosted,
    CommentRemoved,
    PollClosed,
    PollHidden,
    PollReopened,
    PollUpdated,
    ResultsRevealed,
    VoteAccepted,
    VoteChanged,
    VoteWithdrawn,
)


@receiver(VoteAccepted.signal, dispatch_uid="polls.push_vote")
def push_vote(sender, event: VoteAccepted, **kwargs):
    live.announce_tally_soon(event.poll.pk)
    live.announce_voted(poll_id=event.poll.pk, voter_key=event.voter_key)
    if event.comment.strip() and event.poll.allow_comments:
        live.announce_comments_soon(event.poll.pk)


@receiver(VoteChanged.signal, dispatch_uid="polls.push_change")
def push_change(sender, event: VoteChanged, **kwargs):
    live.announce_tally_soon(event.poll.pk)
    live.announce_voted(poll_id=event.poll.pk, voter_key=event.voter_key)
    if event.comment_changed:
        live.announce_comments_soon(event.poll.pk)


@receiver(VoteWithdrawn.signal, dispatch_uid="polls.push_withdrawal")
def push_withdrawal(sender, event: VoteWithdrawn, **kwargs):
    live.announce_tally_soon(event.poll.pk)
    live.announce_withdrawn(poll_id=event.poll.pk, voter_key=event.voter_key)


@receiver(AnonymousCommentPosted.signal, dispatch_uid="polls.push_anonymous_comment")
@receiver(CommentRemoved.signal, dispatch_uid="polls.push_comment_removed")
def push_comments(sender, event: CommentRemoved, **kwargs):
    live.announce_comments_soon(event.poll.pk)


@receiver(PollUpdated.signal, dispatch_uid="polls.push_update")
@receiver(PollClosed.signal, dispatch_uid="polls.push_close")
@receiver(PollReopened.signal, dispatch_uid="polls.push_reopen")
@receiver(ResultsRevealed.signal, dispatch_uid="polls.push_reveal")
@receiver(PollHidden.signal, dispatch_uid="polls.push_hide")
def push_state(sender, event, **kwargs):
    live.announce_state_soon(event.poll.pk)
    live.announce_tally_soon(event.poll.pk)  # "My polls" follows the tally
