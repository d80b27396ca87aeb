"""Writes: creating polls, casting votes, closing polls. Every write is atomic."""

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from chat import tasks as chat_tasks
from core.security import keyed_hash
from polls import live
from polls.models import (
    TALLY_SHARDS,
    Ballot,
    BallotChoice,
    IdempotentVote,
    Option,
    Poll,
    TallyShard,
)
from polls.selectors import Tally, poll_tally, voter_choices


@dataclass(frozen=True)
class Voter:
    """Who is voting: a browser token, maybe a signed-in user, and the client address."""

    token: str
    ip: str
    user_id: int | None = None

    @property
    def key(self) -> str:
        if self.user_id is not None:
            return f"u:{self.user_id}"
        return "t:" + keyed_hash(self.token, purpose="voter")

    @property
    def ip_key(self) -> str:
        return keyed_hash(self.ip, purpose="ip")


class VoteResult(StrEnum):
    ACCEPTED = "accepted"
    ALREADY_VOTED = "already_voted"
    CLOSED = "closed"
    LOGIN_REQUIRED = "login_required"


@dataclass(frozen=True)
class VoteOutcome:
    result: VoteResult
    poll: Poll
    tally: Tally
    your_vote: list[int] | None
    replayed_body: dict | None = None


def poll_create(
    *,
    question: str,
    options: list[str],
    description: str = "",
    choice_type: str = Poll.ChoiceType.SINGLE,
    results_visibility: str = Poll.ResultsVisibility.ALWAYS,
    allow_comments: bool = True,
    protection: str = Poll.Protection.TOKEN,
    listed: bool = True,
    closes_at: datetime | None = None,
    timezone_name: str = "UTC",
    owner=None,
    creator_token: str = "",
) -> Poll:
    """Create a poll with its options and empty tally shards."""
    with transaction.atomic():
        poll = Poll.objects.create(
            question=question,
            description=description,
            choice_type=choice_type,
            results_visibility=results_visibility,
            allow_comments=allow_comments,
            protection=protection,
            listed=listed,
            closes_at=closes_at,
            timezone=timezone_name,
            owner=owner,
            creator_key=keyed_hash(creator_token, purpose="creator") if creator_token else "",
        )
        created = Option.objects.bulk_create(
            Option(poll=poll, text=text, position=position) for position, text in enumerate(options)
        )
        if created[0].pk is None:  # backends that cannot return ids from a bulk insert
            created = list(poll.options.all())
        TallyShard.objects.bulk_create(
            TallyShard(poll=poll, option=option, shard=shard)
            for option in [None, *created]
            for shard in range(TALLY_SHARDS)
        )
        transaction.on_commit(lambda: chat_tasks.queue_poll_embedding(poll.pk), robust=True)
    return poll


def _lock_poll_against_close(poll: Poll) -> None:
    """Re-read the poll's close state, holding off a concurrent close until this commits.

    On PostgreSQL votes share an advisory lock on the poll that a close takes exclusively:
    votes proceed side by side, a close waits for those in flight, and votes arriving
    after it queue behind it and then see the poll closed. So every vote accepted before
    a close is in the final tally and none is accepted after it. SQLite's immediate
    transactions already serialise every writer.
    """
    if connection.vendor == "postgresql":
        # A statement of its own: the read below must take its snapshot after the wait.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [poll.pk])
    poll.closed_at, poll.closes_at = (
        Poll.objects.filter(pk=poll.pk).values_list("closed_at", "closes_at").get()
    )


def _lock_poll_exclusively(poll: Poll) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [poll.pk])


def _record_ballot(*, poll: Poll, voter: Voter, option_ids: list[int], comment: str) -> bool:
    """Insert the ballot and bump one random shard; False if this voter already voted.

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
        return False
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot_id=row[0], option_id=option_id) for option_id in option_ids
    )
    _bump_tally(poll=poll, option_ids=option_ids)
    return True


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
    response_body=None,
) -> VoteOutcome:
    """Record a vote exactly once; the database's unique constraints decide duplicates.

    With an idempotency key the first outcome is stored, in the same transaction, as the
    body response_body(outcome) builds, and a retry gets that body back with no second vote.
    """
    with transaction.atomic():
        record = None
        if idempotency_key:
            record_key = keyed_hash(f"{poll.pk}:{voter.key}:{idempotency_key}", purpose="idem")
            try:
                with transaction.atomic():
                    record = IdempotentVote.objects.create(key=record_key, outcome="", body={})
            except IntegrityError:
                first = IdempotentVote.objects.get(key=record_key)
                return VoteOutcome(
                    result=VoteResult(first.outcome),
                    poll=poll,
                    tally=poll_tally(poll=poll),
                    your_vote=voter_choices(poll=poll, voter_key=voter.key),
                    replayed_body=first.body,
                )

        _lock_poll_against_close(poll)
        if poll.protection == Poll.Protection.ACCOUNT and voter.user_id is None:
            result = VoteResult.LOGIN_REQUIRED
        elif poll.is_closed():
            result = VoteResult.CLOSED
        elif _record_ballot(poll=poll, voter=voter, option_ids=option_ids, comment=comment):
            result = VoteResult.ACCEPTED
        else:
            result = VoteResult.ALREADY_VOTED

        outcome = VoteOutcome(
            result=result,
            poll=poll,
            tally=poll_tally(poll=poll, options=options),
            your_vote=(
                sorted(option_ids)
                if result == VoteResult.ACCEPTED
                else voter_choices(poll=poll, voter_key=voter.key)
            ),
        )
        if record is not None:
            record.outcome = result
            record.body = response_body(outcome) if response_body else {}
            record.save(update_fields=["outcome", "body"])
        if result == VoteResult.ACCEPTED:
            transaction.on_commit(lambda: _announce_vote(poll, voter), robust=True)
            if comment.strip():
                transaction.on_commit(lambda: _queue_comment_embedding(poll, voter), robust=True)
    return outcome


def _queue_comment_embedding(poll: Poll, voter: Voter) -> None:
    ballot_id = (
        Ballot.objects.filter(poll=poll, voter_key=voter.key).values_list("pk", flat=True).first()
    )
    if ballot_id is not None:
        chat_tasks.queue_comment_embedding(ballot_id)


def _announce_vote(poll: Poll, voter: Voter) -> None:
    live.announce_tally_soon(poll.pk)
    if poll.results_visibility == Poll.ResultsVisibility.AFTER_VOTE:
        live.announce_voted(poll_id=poll.pk, voter_key=voter.key)


def poll_close(*, poll: Poll) -> bool:
    """Close the poll now; waits for votes in flight, which all count. False if already closed."""
    with transaction.atomic():
        _lock_poll_exclusively(poll)
        closed = Poll.objects.filter(pk=poll.pk, closed_at__isnull=True).update(
            closed_at=timezone.now()
        )
        transaction.on_commit(lambda: live.announce_tally_soon(poll.pk), robust=True)
    poll.refresh_from_db(fields=["closed_at"])
    return bool(closed)


def poll_reopen(*, poll: Poll) -> None:
    """Reopen a closed poll; a past close time is cleared so it stays open."""
    with transaction.atomic():
        _lock_poll_exclusively(poll)
        Poll.objects.filter(pk=poll.pk).update(closed_at=None, closes_at=None)
        transaction.on_commit(lambda: live.announce_tally_soon(poll.pk), robust=True)
    poll.refresh_from_db(fields=["closed_at", "closes_at"])
