"""Who may reach a poll at all: the one rule every read path goes through.

Anyone with its link reaches a poll, unless moderators hid it: then only its owner (who is
shown why) and staff do. A circle's poll is reached by the circle's members only: not by
staff (they see it in the admin), and not by its owner once they have left the circle or
been removed from it, since membership is what a circle poll is about. Everyone else is
answered as if the poll did not exist (404, a refused socket), so its existence is not
confirmed. Listings and search use Poll.objects.public(), the same rule for polls nobody
holds a link to; it leaves every circle poll out.

PollAccess is the rule read once for one poll and applied to many viewers: a page asks it
for one viewer, a push asks it again for every open socket of the poll (one read per push,
not one per socket), so a viewer who lost the right stops getting pushes at once.
"""

from dataclasses import dataclass

from django.http import Http404

from circles.selectors import circle_member_ids
from core.voters import Voter, voter_from_request
from polls.models import Poll
from polls.selectors import is_poll_owner


@dataclass(frozen=True)
class PollAccess:
    """Who may reach one poll, as read from the database at one moment."""

    poll: Poll
    hidden: bool
    circle_member_ids: frozenset[int] | None = None  # None: not a circle's poll

    def admits(self, *, voter: Voter, is_staff: bool = False) -> bool:
        if self.circle_member_ids is not None and voter.user_id not in self.circle_member_ids:
            return False
        if not self.hidden:
            return True
        return is_staff or is_poll_owner(poll=self.poll, voter=voter)


def poll_access(poll: Poll) -> PollAccess:
    """The rule for this poll as it stands now: at most one query (a circle's members)."""
    members = None if poll.circle_id is None else circle_member_ids(circle_id=poll.circle_id)
    return PollAccess(poll=poll, hidden=poll.is_hidden, circle_member_ids=members)


def poll_visible_to(*, poll: Poll, voter: Voter, is_staff: bool = False) -> bool:
    return poll_access(poll).admits(voter=voter, is_staff=is_staff)


def viewable_poll(*, code: str, voter: Voter, is_staff: bool = False) -> Poll | None:
    """The poll with this code if this viewer may reach it, else None."""
    poll = Poll.objects.filter(code=code).first()
    if poll is None or not poll_visible_to(poll=poll, voter=voter, is_staff=is_staff):
        return None
    return poll


def poll_or_404(request, code: str) -> Poll:
    poll = viewable_poll(
        code=code, voter=voter_from_request(request), is_staff=request.user.is_staff
    )
    if poll is None:
        raise Http404("No such poll")
    return poll
