"""What a poll's live pushes carry: the page's fragments, rendered once per push.

A push is read and rendered once per server process and shared by every socket of the
poll there: one tally frame per visibility class (with the numbers, for the owner and
whoever may see them; without, for the rest), one comments frame per audience, one viewer
count. Nothing in a shared frame is about one viewer: "You voted for …" and the vote form
come in each socket's own snapshot.
"""

import time
from dataclasses import dataclass

from django.template.loader import render_to_string

from core.outlets import Frame
from core.voters import Voter
from polls import selectors
from polls.models import Poll
from polls.viewers import viewer_count
from polls.visibility import PollAccess, poll_access

TALLY_TEMPLATE = "polls/poll_detail.html#tally"
COMMENTS_TEMPLATE = "polls/poll_detail.html#comments"
STATE_TEMPLATE = "polls/poll_detail.html#live-state"
VIEWERS_TEMPLATE = "polls/poll_detail.html#viewers"
MY_COUNT_TEMPLATE = "polls/my_polls.html#my-count"

TALLY = "tally"
STATE = "state"
COMMENTS = "comments"
VIEWERS = "viewers"


def tally_version() -> int:
    """A version that grows with time: a state read later is never older."""
    return time.time_ns() // 1000


def render_tally(*, poll: Poll, visible: bool, version: int | None = None, tally=None) -> str:
    """Render the tally fragment that the page, the htmx poll and the socket all share."""
    return render_to_string(
        TALLY_TEMPLATE,
        {
            "poll": poll,
            "tally": tally or selectors.poll_tally(poll=poll),
            "results_visible": visible,
            "closed": poll.is_closed(),
            "version": version or tally_version(),
        },
    )


def render_viewers(*, count: int | None) -> str:
    return render_to_string(VIEWERS_TEMPLATE, {"viewers": count})


def render_state(context: dict) -> str:
    return render_to_string(STATE_TEMPLATE, context)


def owner_count(poll_id: int) -> tuple[int, str] | None:
    """The owner's "My polls" vote count for this poll, to send to their open tabs; none
    for an owner who may no longer reach it (a circle's poll, after they left the circle)."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None or poll.owner_id is None:
        return None
    if not poll_access(poll).admits(voter=Voter(token="", ip="", user_id=poll.owner_id)):
        return None
    total_votes = selectors.poll_tally(poll=poll).total_votes
    html = render_to_string(MY_COUNT_TEMPLATE, {"poll": poll, "count": total_votes})
    return poll.owner_id, html


@dataclass(frozen=True)
class Push:
    """One push of a poll as read at one moment, for every socket of one process."""

    access: PollAccess
    visibility: selectors.Visibility
    version: int
    tally: dict[bool, Frame] | None = None  # by "results shown"
    comments: dict[bool, Frame] | None = None  # by "is the owner"
    viewers: int | None = None
    viewers_frame: Frame | None = None


def read_push(poll_id: int, kinds: frozenset[str]) -> Push | None:
    """Read the poll once and render what these kinds of push need; None if it is gone."""
    version = tally_version()  # before the read: a later state always has a later one
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return None
    visibility = selectors.Visibility.of(poll)
    parts = {}
    if TALLY in kinds:
        tally = selectors.poll_tally(poll=poll)
        shown = Frame(render_tally(poll=poll, visible=True, version=version, tally=tally))
        public = selectors.results_visible_in(
            visibility=visibility, has_voted=False, is_owner=False
        )
        hidden = (
            shown
            if public
            else Frame(render_tally(poll=poll, visible=False, version=version, tally=tally))
        )
        parts["tally"] = {True: shown, False: hidden}
    if COMMENTS in kinds:
        comments = selectors.recent_comments(poll=poll)
        parts["comments"] = {
            is_owner: Frame(
                render_to_string(
                    COMMENTS_TEMPLATE, {"poll": poll, "comments": comments, "is_owner": is_owner}
                )
            )
            for is_owner in (False, True)
        }
    if VIEWERS in kinds:
        count = viewer_count(poll_id)
        parts.update(viewers=count, viewers_frame=Frame(render_viewers(count=count)))
    return Push(
        access=poll_access(poll),
        visibility=visibility,
        version=version,
        **parts,
    )
