"""Casting votes: each is counted exactly once, under any concurrency.

A vote is announced as VoteAccepted (polls/events.py) once it commits.
"""

import random
from dataclasses import asdict, dataclass
from enum import StrEnum

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.events import announce
from core.security import keyed_hash
from core.voters import Voter
from polls.events import VoteAccepted
from polls.models import (
    TALLY_SHARDS,
    Ballot,
    BallotChoice,
    IdempotentVote,
    Option,
    Poll,
    TallyShard,
)
from polls.selectors import (
    OptionTally,
    Tally,
    is_poll_owner,
    poll_tally,
    results_visible,
    voter_choices,
)
from polls.services.locks import lock_poll_against_close


class VoteResult(StrEnum):
    ACCEPTED = "accepted"
    ALREADY_VOTED = "already_voted"
    CLOSED = "closed"
    LOGIN_REQUIRED = "login_required"
    OPTIONS_CHANGED = "options_changed"


@dataclass(frozen=True)
class VoteOutcome:
    """What a vote came to, with the state the voter is shown beside it.

    Stored as data for an Idempotency-Key, so a retry is answered as the first try was.
    """

    result: VoteResult
    poll: Poll
    tally: Tally
    your_vote: list[int] | None
    results_visible: bool
    closed: bool
    replayed: bool = False

    def as_record(self) -> dict:
        return {
            "your_vote": self.your_vote,
            "results_visible": self.results_visible,
            "closed": self.closed,
            "tally": asdict(self.tally),
        }

    @classmethod
    def from_record(cls, *, poll: Poll, result: str, record: dict) -> "VoteOutcome":
        tally = record["tally"]
        return cls(
            result=VoteResult(result),
            poll=poll,
            tally=Tally(
                total_votes=tally["total_votes"],
                options=[OptionTally(**option) for option in tally["options"]],
            ),
            your_vote=record["your_vote"],
            results_visible=record["results_visible"],
            closed=record["closed"],
            replayed=True,
        )


def _options_exist(*, poll: Poll, option_ids: list[int]) -> bool:
    wanted = set(option_ids)
    return Option.objects.filter(poll=poll, pk__in=wanted).count() == len(wanted)


def _record_ballot(*, poll: Poll, voter: Voter, option_ids: list[int], comment: str) -> int | None:
    """Insert the ballot and bump one random shard; return its id, None if this voter
    already voted.

    The unique constraints decide: a conflicting insert does nothing and returns no id
    (one statement, where catching IntegrityError would need a savepoint around it).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Ballot._meta.db_table}"  # noqa: S608 - table name from the model
            " (poll_id, voter_key, ip_key, user_id, comment, comment_removed, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [
                poll.pk,
                voter.key,
                voter.ip_key if poll.protection == Poll.Protection.TOKEN_IP else "",
                voter.user_id,
                comment,
                False,
                timezone.now(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot_id=row[0], option_id=option_id) for option_id in option_ids
    )
    _bump_tally(poll=poll, option_ids=option_ids)
    return row[0]


def _bump_tally(*, poll: Poll, option_ids: list[int]) -> None:
    """Add one ballot and one vote per chosen option to a random shard.

    The rows are locked in id order first: two votes on the same shard would otherwise
    lock its rows in different orders and deadlock.
    """
    shard_rows = TallyShard.objects.filter(
        Q(option__isnull=True) | Q(option_id__in=option_ids),
        poll=poll,
        shard=random.randrange(TALLY_SHARDS),
    )
    locked = shard_rows.order_by("id").select_for_update().values("id")
    TallyShard.objects.filter(id__in=locked).update(count=F("count") + 1)


def vote_cast(
    *,
    poll: Poll,
    voter: Voter,
    option_ids: list[int],
    options: list[Option] | None = None,
    comment: str = "",
    idempotency_key: str = "",
) -> VoteOutcome:
    """Record a vote exactly once; the database's unique constraints decide duplicates.

    With an idempotency key the first outcome is stored in the same transaction, and a
    retry gets that outcome back (replayed) with no second vote.
    """
    with transaction.atomic():
        record = None
        if idempotency_key:
            record_key = keyed_hash(f"{poll.pk}:{voter.key}:{idempotency_key}", purpose="idem")
            try:
                with transaction.atomic():
                    record = IdempotentVote.objects.create(key=record_key, outcome="", record={})
            except IntegrityError:
                first = IdempotentVote.objects.get(key=record_key)
                return VoteOutcome.from_record(poll=poll, result=first.outcome, record=first.record)

        edited = lock_poll_against_close(poll)
        if edited:
            options = None  # the caller's list may name options that are gone
        ballot_id = None
        if poll.protection == Poll.Protection.ACCOUNT and voter.user_id is None:
            result = VoteResult.LOGIN_REQUIRED
        elif poll.is_closed():
            result = VoteResult.CLOSED
        elif edited and not _options_exist(poll=poll, option_ids=option_ids):
            result = VoteResult.OPTIONS_CHANGED
        else:
            ballot_id = _record_ballot(
                poll=poll, voter=voter, option_ids=option_ids, comment=comment
            )
            result = VoteResult.ACCEPTED if ballot_id is not None else VoteResult.ALREADY_VOTED

        your_vote = (
            sorted(option_ids)
            if result == VoteResult.ACCEPTED
            else voter_choices(poll=poll, voter_key=voter.key)
        )
        outcome = VoteOutcome(
            result=result,
            poll=poll,
            tally=poll_tally(poll=poll, options=options),
            your_vote=your_vote,
            results_visible=results_visible(
                poll=poll,
                has_voted=your_vote is not None,
                is_owner=is_poll_owner(poll=poll, voter=voter),
            ),
            closed=poll.is_closed(),
        )
        if record is not None:
            record.outcome = result
            record.record = outcome.as_record()
            record.save(update_fields=["outcome", "record"])
        if ballot_id is not None:
            announce(
                VoteAccepted(
                    poll=poll,
                    ballot_id=ballot_id,
                    voter_key=voter.key,
                    user_id=voter.user_id,
                    comment=comment,
                )
            )
    return outcome
