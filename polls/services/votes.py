"""Casting, changing and withdrawing votes: each ballot is counted exactly once, under
any concurrency.

A ballot is counted in one tally shard, chosen at random when it is cast and stored on it;
a change moves its option counts within that shard and a withdrawal takes them back out
of it, so no shard ever goes below zero. A new vote is announced as VoteAccepted, a change
as VoteChanged, a withdrawal as VoteWithdrawn (polls/events.py), once it commits.

In an anonymous poll (polls/services/anonymous.py) the voter and the ballot are written
apart, and nothing this module stores or announces holds both: the vote is announced
without its ballot, and a comment with its ballot but without its voter.
"""

import random
from dataclasses import asdict, dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.events import announce
from core.voters import Voter
from polls.events import CommentRemoved, VoteChanged, VoteWithdrawn
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
from polls.services.anonymous import ballot_day, voter_mark, voter_marks_adopt_rotated_keys
from polls.services.locks import lock_poll_against_close
from polls.services.vote_rules import (
    VoteResult,
    accepted_events,
    ballot_ip_key,
    idempotency_record_key,
    recorded_choices,
    written_result,
)


@dataclass(frozen=True)
class VoteOutcome:
    """What a vote came to, with the state the voter is shown beside it.

    Stored as data for an Idempotency-Key, so a retry is answered as the first try was.
    In an anonymous poll your_vote is [] once the voter has voted (their choice is not
    kept), and the record keeps neither it nor the tally: the tally as this vote left it,
    next to the record's time, would show what the vote added. A replay there reads the
    tally as it stands.
    """

    result: VoteResult
    poll: Poll
    tally: Tally
    your_vote: list[int] | None
    results_visible: bool
    closed: bool
    replayed: bool = False

    @classmethod
    def decided(
        cls, *, result: VoteResult, poll: Poll, voter: Voter, tally: Tally, your_vote
    ) -> "VoteOutcome":
        """The outcome with what the voter is shown beside it (the one visibility rule)."""
        return cls(
            result=result,
            poll=poll,
            tally=tally,
            your_vote=your_vote,
            results_visible=results_visible(
                poll=poll,
                has_voted=your_vote is not None,
                is_owner=is_poll_owner(poll=poll, voter=voter),
            ),
            closed=poll.is_closed(),
        )

    def as_record(self) -> dict:
        if self.poll.anonymous:
            return {"results_visible": self.results_visible, "closed": self.closed}
        return {
            "your_vote": self.your_vote,
            "results_visible": self.results_visible,
            "closed": self.closed,
            "tally": asdict(self.tally),
        }

    @classmethod
    def from_record(cls, *, poll: Poll, result: str, record: dict) -> "VoteOutcome":
        if "tally" in record:
            tally = Tally(
                total_votes=record["tally"]["total_votes"],
                options=[OptionTally(**option) for option in record["tally"]["options"]],
            )
        else:
            tally = poll_tally(poll=poll)
        return cls(
            result=VoteResult(result),
            poll=poll,
            tally=tally,
            your_vote=record.get("your_vote", [] if poll.anonymous else None),
            results_visible=record["results_visible"],
            closed=record["closed"],
            replayed=True,
        )


def _adopt_rotated_keys(*, poll: Poll, voter: Voter) -> None:
    """Move this voter's ballot from a key under HASH_KEY_FALLBACKS to the current one,
    before the unique constraints are asked: a rotated key must not mean a second vote."""
    if poll.anonymous:
        voter_marks_adopt_rotated_keys(poll=poll, voter=voter)
        return
    old_keys = voter.keys[1:]
    if not old_keys:
        return
    Ballot.objects.filter(poll=poll, voter_key__in=old_keys).update(voter_key=voter.key)
    if poll.protection == Poll.Protection.TOKEN_IP:
        Ballot.objects.filter(poll=poll, ip_key__in=voter.ip_keys[1:]).update(ip_key=voter.ip_key)


def _options_exist(*, poll: Poll, option_ids: list[int]) -> bool:
    wanted = set(option_ids)
    return Option.objects.filter(poll=poll, pk__in=wanted).count() == len(wanted)


def _record_ballot(*, poll: Poll, voter: Voter, option_ids: list[int], comment: str) -> int | None:
    """Insert the ballot and bump one random shard; return its id, None if this voter
    already voted.

    The unique constraints decide: a conflicting insert does nothing and returns no id
    (one statement, where catching IntegrityError would need a savepoint around it). In an
    anonymous poll the voter's mark decides, and the ballot keeps nothing of them.
    """
    if poll.anonymous:
        if not voter_mark(poll=poll, voter=voter):
            return None
        voter_key, ip_key, user_id, cast_at = None, "", None, ballot_day()
    else:
        voter_key = voter.key
        ip_key = ballot_ip_key(poll=poll, voter=voter)
        user_id, cast_at = voter.user_id, timezone.now()
    shard = random.randrange(TALLY_SHARDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Ballot._meta.db_table}"  # noqa: S608 - table name from the model
            " (poll_id, voter_key, ip_key, user_id, comment, comment_removed, shard, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [poll.pk, voter_key, ip_key, user_id, comment, False, shard, cast_at],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot_id=row[0], option_id=option_id) for option_id in option_ids
    )
    _adjust_tally(poll=poll, shard=shard, added=option_ids, ballot=1)
    return row[0]


def _adjust_tally(*, poll: Poll, shard: int | None, added=(), removed=(), ballot: int = 0) -> None:
    """Add a vote to each added option, take one from each removed option, and add
    `ballot` (1, 0 or -1) to the ballot count, all in one shard.

    The rows are locked in id order first: two writers on the same shard would otherwise
    lock its rows in different orders and deadlock. A ballot cast before shards were
    stored on ballots (shard None) is taken out of any shard that still counts it.
    """
    added, removed = set(added), set(removed)
    up = set(added) | ({None} if ballot > 0 else set())
    down = set(removed) | ({None} if ballot < 0 else set())
    if shard is None:
        shard = random.randrange(TALLY_SHARDS)
        down_ids = []
        for option_id in down:
            rows = TallyShard.objects.filter(poll=poll, count__gt=0)
            rows = (
                rows.filter(option__isnull=True)
                if option_id is None
                else rows.filter(option_id=option_id)
            )
            found = rows.order_by("id").values_list("id", flat=True).first()
            if found is not None:
                down_ids.append(found)
        down_rows = TallyShard.objects.filter(id__in=down_ids)
    else:
        down_rows = _shard_rows(poll=poll, shard=shard, targets=down)
    up_rows = _shard_rows(poll=poll, shard=shard, targets=up)
    locked = list(
        (up_rows | down_rows).order_by("id").select_for_update().values_list("id", flat=True)
    )
    if up:
        TallyShard.objects.filter(id__in=locked).filter(id__in=up_rows.values("id")).update(
            count=F("count") + 1
        )
    if down:
        TallyShard.objects.filter(id__in=locked, count__gt=0).filter(
            id__in=down_rows.values("id")
        ).update(count=F("count") - 1)


def _shard_rows(*, poll: Poll, shard: int, targets: set):
    """One shard's counter rows for these options (None: the ballot count)."""
    options = [target for target in targets if target is not None]
    match = Q(option_id__in=options)
    if None in targets:
        match |= Q(option__isnull=True)
    if not targets:
        return TallyShard.objects.none()
    return TallyShard.objects.filter(match, poll=poll, shard=shard)


def _change_ballot(
    *, poll: Poll, voter: Voter, option_ids: list[int], comment: str
) -> tuple[int, bool] | None:
    """Replace this voter's choices and comment; None if they have no ballot.

    The ballot row is locked first, so one voter's concurrent changes take turns and each
    reads the choices the previous one left.
    """
    ballot = Ballot.objects.select_for_update().filter(poll=poll, voter_key=voter.key).first()
    if ballot is None:
        return None
    old = set(ballot.choices.values_list("option_id", flat=True))
    new = set(option_ids)
    if old != new:
        BallotChoice.objects.filter(ballot=ballot, option_id__in=old - new).delete()
        BallotChoice.objects.bulk_create(
            BallotChoice(ballot=ballot, option_id=option_id) for option_id in sorted(new - old)
        )
        _adjust_tally(poll=poll, shard=ballot.shard, added=new - old, removed=old - new)
    comment_changed = comment != ballot.comment
    if comment_changed:
        Ballot.objects.filter(pk=ballot.pk).update(comment=comment, comment_removed=False)
    return ballot.pk, comment_changed


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
            record_key = idempotency_record_key(poll=poll, voter=voter, key=idempotency_key)
            try:
                with transaction.atomic():
                    record = IdempotentVote.objects.create(key=record_key, outcome="", record={})
            except IntegrityError:
                first = IdempotentVote.objects.get(key=record_key)
                return VoteOutcome.from_record(poll=poll, result=first.outcome, record=first.record)

        edited = lock_poll_against_close(poll)
        _adopt_rotated_keys(poll=poll, voter=voter)
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
            result = written_result(poll=poll, recorded=ballot_id is not None)
            if ballot_id is None and poll.allows_vote_changes:
                changed = _change_ballot(
                    poll=poll, voter=voter, option_ids=option_ids, comment=comment
                )
                if changed is not None:
                    result = VoteResult.CHANGED
                    change_id, comment_changed = changed

        if result in (VoteResult.ACCEPTED, VoteResult.CHANGED):
            your_vote = recorded_choices(poll=poll, option_ids=option_ids)
        else:
            your_vote = voter_choices(poll=poll, voter=voter)
        outcome = VoteOutcome.decided(
            result=result,
            poll=poll,
            voter=voter,
            tally=poll_tally(poll=poll, options=options),
            your_vote=your_vote,
        )
        if record is not None:
            record.outcome = result
            record.record = outcome.as_record()
            fields = ["outcome", "record"]
            if poll.anonymous:
                # Its time of day would say when this voter voted; its purge needs the day.
                record.created_at = ballot_day()
                fields.append("created_at")
            record.save(update_fields=fields)
        if ballot_id is not None:
            for event in accepted_events(
                poll=poll, voter=voter, ballot_id=ballot_id, comment=comment
            ):
                announce(event)
        if result == VoteResult.CHANGED:
            announce(
                VoteChanged(
                    poll=poll,
                    ballot_id=change_id,
                    voter_key=voter.key,
                    user_id=voter.user_id,
                    comment=comment,
                    comment_changed=comment_changed,
                )
            )
    return outcome


def vote_withdraw(*, poll: Poll, voter: Voter) -> VoteOutcome:
    """Take this voter's ballot back where the poll allows changes; they may vote again."""
    with transaction.atomic():
        lock_poll_against_close(poll)
        _adopt_rotated_keys(poll=poll, voter=voter)
        ballot = None
        if not poll.allows_vote_changes:
            result = VoteResult.CHANGES_NOT_ALLOWED
        elif poll.is_closed():
            result = VoteResult.CLOSED
        else:
            ballot = (
                Ballot.objects.select_for_update().filter(poll=poll, voter_key=voter.key).first()
            )
            result = VoteResult.WITHDRAWN if ballot is not None else VoteResult.NOT_VOTED
        if ballot is not None:
            chosen = list(ballot.choices.values_list("option_id", flat=True))
            had_comment = bool(ballot.comment) and not ballot.comment_removed
            ballot_id = ballot.pk
            ballot.delete()
            _adjust_tally(poll=poll, shard=ballot.shard, removed=chosen, ballot=-1)
            announce(
                VoteWithdrawn(
                    poll=poll, ballot_id=ballot_id, voter_key=voter.key, user_id=voter.user_id
                )
            )
            if had_comment:
                announce(CommentRemoved(poll=poll, ballot_id=ballot_id))
        your_vote = [] if result == VoteResult.WITHDRAWN else voter_choices(poll=poll, voter=voter)
        outcome = VoteOutcome(
            result=result,
            poll=poll,
            tally=poll_tally(poll=poll),
            your_vote=your_vote,
            results_visible=results_visible(
                poll=poll,
                has_voted=bool(your_vote),
                is_owner=is_poll_owner(poll=poll, voter=voter),
            ),
            closed=poll.is_closed(),
        )
    return outcome
