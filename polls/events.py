"""What happens to polls, announced after commit through core.events.announce.

The services in polls/services.py announce these and know nothing of who listens. Each
subscriber lives in its own app's receivers.py, connected in that app's AppConfig.ready().

- PollCreated(poll)
    chat: embed the poll's text for search and answers.
- PollUpdated(poll)
    polls: push the tally to open pages; chat: embed what changed.
- VoteAccepted(poll, ballot_id, voter_key, user_id, comment)
    polls: push the tally, and "you voted" to the voter's after-vote pages;
    notifications: the owner's vote batch, and the comment; chat: embed the comment.
- PollClosed(poll)
    polls: push the final tally; notifications: tell the owner who won.
- PollReopened(poll)
    polls: push the tally.
- CommentRemoved(poll, ballot_id)
    chat: drop the comment from the answers' snippets.

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
    """A ballot was recorded; comment is what the voter wrote (may be empty)."""

    poll: Poll
    ballot_id: int
    voter_key: str
    user_id: int | None
    comment: str


@dataclass(frozen=True)
class PollClosed(Event):
    """The poll closed (by its owner, or its close time passed); the tally is final."""

    poll: Poll


@dataclass(frozen=True)
class PollReopened(Event):
    poll: Poll


@dataclass(frozen=True)
class CommentRemoved(Event):
    """The owner hid a vote's comment."""

    poll: Poll
    ballot_id: int
