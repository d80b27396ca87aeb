"""The rules of a vote, decided from plain inputs: the one home for them.

The page path (polls/views/voting.py and polls.services.vote_cast), the JSON API and the
fast vote route (polls/fast_vote/) all count a vote against the same rate limits, clean
it with the same form, key its ballot and idempotency record the same way, turn what the
database found into the same result and announce it with the same events, so no path
can decide a vote differently from another.
"""

from dataclasses import dataclass
from enum import StrEnum

from core.events import Event
from core.http import BadRequest, read_payload
from core.ratelimit import RateLimitState, ratelimit_hit
from core.security import keyed_hash
from core.voters import Voter
from polls.events import AnonymousCommentPosted, VoteAccepted
from polls.forms import VoteForm
from polls.models import Option, Poll


class VoteResult(StrEnum):
    ACCEPTED = "accepted"
    ALREADY_VOTED = "already_voted"
    CLOSED = "closed"
    LOGIN_REQUIRED = "login_required"
    OPTIONS_CHANGED = "options_changed"
    CHANGED = "changed"
    WITHDRAWN = "withdrawn"
    NOT_VOTED = "not_voted"
    CHANGES_NOT_ALLOWED = "changes_not_allowed"


@dataclass(frozen=True)
class CleanVote:
    """A vote's choices as the form accepted them."""

    option_ids: list[int]
    comment: str
    idempotency_key: str


def count_vote_request(voter: Voter) -> list[RateLimitState | None]:
    """Count a vote (or a withdrawal) against the per-address and per-voter limits;
    raises RateLimited once over either. Returns where the voter stands in each."""
    return [
        ratelimit_hit(scope="vote-ip", ident=voter.ip),
        ratelimit_hit(scope="vote-voter", ident=voter.rate_key),
    ]


def clean_vote(request, *, poll: Poll, options: list[Option]) -> CleanVote:
    """Read and check the vote in the body (form or JSON); raises BadRequest naming the
    field at fault."""
    payload = read_payload(request, list_fields=("option",))
    form = VoteForm(payload, poll=poll, options=options)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        raise BadRequest("invalid", errors[0], field)
    return CleanVote(
        option_ids=form.cleaned_data["option"],
        comment=form.cleaned_data.get("comment", ""),
        idempotency_key=request.headers.get("Idempotency-Key")
        or form.cleaned_data.get("idempotency_key", ""),
    )


def idempotency_record_key(*, poll: Poll, voter: Voter, key: str) -> str:
    """What an Idempotency-Key is stored as: one voter's key on one poll, hashed."""
    return keyed_hash(f"{poll.pk}:{voter.key}:{key}", purpose="idem")


def ballot_ip_key(*, poll: Poll, voter: Voter) -> str:
    """The address a ballot keeps for the one-per-address rule: only where the poll has it."""
    return voter.ip_key if poll.protection == Poll.Protection.TOKEN_IP else ""


def written_result(*, poll: Poll, recorded: bool) -> VoteResult:
    """What a vote that reached the database came to: recorded, else why not (the poll
    as the vote's transaction read it)."""
    if recorded:
        return VoteResult.ACCEPTED
    return VoteResult.CLOSED if poll.is_closed() else VoteResult.ALREADY_VOTED


def recorded_choices(*, poll: Poll, option_ids: list[int]) -> list[int]:
    """What the voter is told they chose: nothing is kept in an anonymous poll."""
    return [] if poll.anonymous else sorted(option_ids)


def accepted_events(*, poll: Poll, voter: Voter, ballot_id: int, comment: str) -> list[Event]:
    """The events a new ballot is announced with."""
    if not poll.anonymous:
        return [
            VoteAccepted(
                poll=poll,
                ballot_id=ballot_id,
                voter_key=voter.key,
                user_id=voter.user_id,
                comment=comment,
            )
        ]
    # Two events that share nothing but the poll: what listens to the voter never
    # learns the ballot, and what listens to the comment never learns who wrote it.
    events = [
        VoteAccepted(
            poll=poll, ballot_id=None, voter_key=voter.key, user_id=voter.user_id, comment=""
        )
    ]
    if comment.strip():
        events.append(AnonymousCommentPosted(poll=poll, ballot_id=ballot_id, comment=comment))
    return events
