"""Writes: creating and changing polls, casting votes. Every write is atomic.

A service that changes state announces it as a domain event (polls/events.py) once its
transaction commits; what reacts to it (live pages, the bell, the search index) subscribes
in its own app and is never called from here.
"""

from polls.services.polls import (
    AnonymityLocked,
    OptionsLocked,
    comment_remove,
    poll_claim_for_browser,
    poll_close,
    poll_create,
    poll_delete,
    poll_reopen,
    poll_reveal,
    poll_update,
    polls_close_due,
)
from polls.services.votes import VoteOutcome, VoteResult, vote_cast, vote_withdraw

__all__ = [
    "AnonymityLocked",
    "OptionsLocked",
    "VoteOutcome",
    "VoteResult",
    "comment_remove",
    "poll_claim_for_browser",
    "poll_close",
    "poll_create",
    "poll_delete",
    "poll_reopen",
    "poll_reveal",
    "poll_update",
    "polls_close_due",
    "vote_cast",
    "vote_withdraw",
]
