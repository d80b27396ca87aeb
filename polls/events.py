"""What happens to polls, announced after commit through core.events.announce.

The services in polls/services.py announce these and know nothing of who listens. Each
subscriber lives in its own app's receivers.py, connected in that app's AppConfig.ready().

- PollCreated(poll)
    chat: embed the poll's text for search and answers.
- PollUpdated(poll)
    polls: push the state (question, badge, form, results) to every page; chat: embed what
    changed.
- VoteAccepted(poll, ballot_id, voter_key, user_id, comment)
    polls: push the tally, the comments (when one came with it), and "you voted" to the
    voter's own pages; notifications: the owner's vote batch, and the comment;
    chat: embed the comment.
    In an anonymous poll it carries the voter only: ballot_id is None and comment empty.
- AnonymousCommentPosted(poll, ballot_id, comment)
    A comment came with a vote in an anonymous poll, announced apart from its voter.
    polls: push the comments; chat: embed it. The bell is not told: a notification
    quoting it would keep the time of day of its ballot.
- VoteChanged(poll, ballot_id, voter_key, user_id, comment, comment_changed)
    A voter replaced their ballot (not a new vote: the ballot count is unchanged).
    polls: push the tally, the comments (when the comment changed), and the voter's own
    pages; notifications: the new comment, if any (never the vote batch); chat: embed the
    comment again when it changed.
- VoteWithdrawn(poll, ballot_id, voter_key, user_id)
    polls: push the tally and the comments, and "not voted" to the voter's own pages;
    notifications: lower the vote batch's mark, so later votes are still reported.
    A withdrawn ballot's visible comment is also announced as CommentRemoved.
- PollClosed(poll)
    polls: push the final state (badge, form, results) to every page; notifications: tell
    the owner who won.
- PollReopened(poll)
    polls: push the state to every page.
- ResultsRevealed(poll, revealed)
    polls: push the state to every page (each viewer's visibility recomputed).
- CommentRemoved(poll, ballot_id)
    polls: push the comments; chat: drop the comment from the answers' snippets.
- PollHidden(poll, reason)
    Moderators took the poll down. notifications: tell the owner why; polls: push the
    state, which closes the open pages of everyone who may no longer reach the poll.
- PollRestored(poll)
    Moderators put a hidden poll back. notifications: tell the owner.

The poll in a payload is the instance the service wrote through, as of the commit.
"""

from dataclasses import dataclass

from core.events import Event
from polls.models import Poll


@dataclass(frozen=True)
class PollCreated(Event):
    poll: Poll


@dataclass(frozen=True)
class PollUpdated(Event):
    """The owner changed the poll's text, options or settings."""

    poll: Poll


@dataclass(frozen=True)
class VoteAccepted(Event):
    """A ballot was recorded; comment is what the voter wrote (may be empty).

    In an anonymous poll the ballot stays out of it (ballot_id None, no comment).
    """

    poll: Poll
    ballot_id: int | None
    voter_key: str
    user_id: int | None
    comment: str


@dataclass(frozen=True)
class AnonymousCommentPosted(Event):
    """A comment came with a ballot of an anonymous poll; who wrote it is not said."""

    poll: Poll
    ballot_id: int
    comment: str


@dataclass(frozen=True)
class VoteChanged(Event):
    """A voter replaced their ballot's choices (and comment) where changes are allowed."""

    poll: Poll
    ballot_id: int
    voter_key: str
    user_id: int | None
    comment: str
    comment_changed: bool


@dataclass(frozen=True)
class VoteWithdrawn(Event):
    """A voter took their ballot back; they may vote again while the poll is open."""

    poll: Poll
    ballot_id: int
    voter_key: str
    user_id: int | None


@dataclass(frozen=True)
class ResultsRevealed(Event):
    """The owner showed the results to everyone (revealed) or returned to the setting."""

    poll: Poll
    revealed: bool


@dataclass(frozen=True)
class PollClosed(Event):
    """The poll closed (by its owner, or its close time passed); the tally is final."""

    poll: Poll


@dataclass(frozen=True)
class PollReopened(Event):
    poll: Poll


@dataclass(frozen=True)
class CommentRemoved(Event):
    """The owner hid a vote's comment, or its voter withdrew the vote."""

    poll: Poll
    ballot_id: int


@dataclass(frozen=True)
class PollHidden(Event):
    poll: Poll
    reason: str


@dataclass(frozen=True)
class PollRestored(Event):
    poll: Poll
