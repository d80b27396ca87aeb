"""Live pages follow the poll: every change that shows on a poll page pushes its tally."""

from django.dispatch import receiver

from polls import live
from polls.events import PollClosed, PollReopened, PollUpdated, VoteAccepted
from polls.models import Poll


@receiver(VoteAccepted.signal, dispatch_uid="polls.push_vote")
def push_vote(sender, event: VoteAccepted, **kwargs):
    live.announce_tally_soon(event.poll.pk)
    if event.poll.results_visibility == Poll.ResultsVisibility.AFTER_VOTE:
        live.announce_voted(poll_id=event.poll.pk, voter_key=event.voter_key)


@receiver(PollUpdated.signal, dispatch_uid="polls.push_update")
@receiver(PollClosed.signal, dispatch_uid="polls.push_close")
@receiver(PollReopened.signal, dispatch_uid="polls.push_reopen")
def push_state(sender, event, **kwargs):
    live.announce_tally_soon(event.poll.pk)
