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
from notifications import services as notifications
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
    OPTIONS_CHANGED = "options_changed"


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


def _lock_poll_against_close(poll: Poll) -> bool:
    """Re-read the poll's close state, holding off a concurrent close until this commits.
    Returns whether the poll was edited since it was loaded.

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
    loaded_version = poll.updated_at
    poll.closed_at, poll.closes_at, poll.updated_at = (
        Poll.objects.filter(pk=poll.pk).values_list("closed_at", "closes_at", "updated_at").get()
    )
    return poll.updated_at != loaded_version


def _lock_poll_exclusively(poll: Poll) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [poll.pk])


def _options_exist(*, poll: Poll, option_ids: list[int]) -> bool:
    wanted = set(option_ids)
    return Option.objects.filter(poll=poll, pk__in=wanted).count() == len(wanted)


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

        edited = _lock_poll_against_close(poll)
        if edited:
            options = None  # the caller's list may name options that are gone
        if poll.protection == Poll.Protection.ACCOUNT and voter.user_id is None:
            result = VoteResult.LOGIN_REQUIRED
        elif poll.is_closed():
            result = VoteResult.CLOSED
        elif edited and not _options_exist(poll=poll, option_ids=option_ids):
            result = VoteResult.OPTIONS_CHANGED
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
            transaction.on_commit(lambda: _announce_vote(poll, voter, comment), robust=True)
            if comment.strip():
                transaction.on_commit(lambda: _queue_comment_embedding(poll, voter), robust=True)
    return outcome


def _queue_comment_embedding(poll: Poll, voter: Voter) -> None:
    ballot_id = (
        Ballot.objects.filter(poll=poll, voter_key=voter.key).values_list("pk", flat=True).first()
    )
    if ballot_id is not None:
        chat_tasks.queue_comment_embedding(ballot_id)


def _announce_vote(poll: Poll, voter: Voter, comment: str) -> None:
    live.announce_tally_soon(poll.pk)
    if poll.results_visibility == Poll.ResultsVisibility.AFTER_VOTE:
        live.announce_voted(poll_id=poll.pk, voter_key=voter.key)
    notifications.votes_arrived(poll=poll)
    if comment.strip() and poll.allow_comments:
        notifications.comment_posted(poll=poll, comment=comment, author_id=voter.user_id)


def poll_close(*, poll: Poll, closed_at: datetime | None = None) -> bool:
    """Close the poll (now, or at its passed close time); waits for votes in flight, which
    all count. Announces the final tally and tells the owner. False if already closed."""
    with transaction.atomic():
        _lock_poll_exclusively(poll)
        closed = Poll.objects.filter(pk=poll.pk, closed_at__isnull=True).update(
            closed_at=closed_at or timezone.now()
        )
        transaction.on_commit(lambda: live.announce_tally_soon(poll.pk), robust=True)
        if closed:
            notifications.poll_closed(poll=poll)
    poll.refresh_from_db(fields=["closed_at"])
    return bool(closed)


def polls_close_due() -> int:
    """Close every poll whose close time has passed; returns how many were closed."""
    due = Poll.objects.filter(closed_at__isnull=True, closes_at__lte=timezone.now())
    closed = 0
    for poll in due.order_by("closes_at")[:500]:
        if poll_close(poll=poll, closed_at=poll.closes_at):
            closed += 1
    return closed


def poll_reopen(*, poll: Poll) -> None:
    """Reopen a closed poll; a past close time is cleared so it stays open."""
    with transaction.atomic():
        _lock_poll_exclusively(poll)
        Poll.objects.filter(pk=poll.pk).update(closed_at=None, closes_at=None)
        transaction.on_commit(lambda: live.announce_tally_soon(poll.pk), robust=True)
    poll.refresh_from_db(fields=["closed_at", "closes_at"])


def poll_claim_for_browser(*, user, token: str) -> int:
    """Give the user every unowned poll this browser created; return how many."""
    if not token:
        return 0
    return Poll.objects.filter(
        owner__isnull=True, creator_key=keyed_hash(token, purpose="creator")
    ).update(owner=user)


class OptionsLocked(Exception):
    """The poll has votes, so its options can no longer change."""


def poll_update(
    *,
    poll: Poll,
    question: str,
    description: str,
    allow_comments: bool,
    listed: bool,
    results_visibility: str,
    closes_at: datetime | None,
    timezone_name: str,
    options: list[str] | None = None,
) -> Poll:
    """Change a poll's text and settings, and its options while it has no votes.

    Raises OptionsLocked when options differ from the current ones and votes exist. The
    check waits for votes in flight, as a close does, so none slips in between.
    """
    with transaction.atomic():
        _lock_poll_exclusively(poll)
        has_votes = Ballot.objects.filter(poll=poll).exists()
        current = list(poll.options.order_by("position", "id"))
        if options is not None and options != [option.text for option in current]:
            if has_votes:
                raise OptionsLocked
            _options_replace(poll=poll, current=current, texts=options)
        if has_votes and question != poll.question:
            poll.question_edited = True
        poll.question = question
        poll.description = description
        poll.allow_comments = allow_comments
        poll.listed = listed
        poll.results_visibility = results_visibility
        poll.closes_at = closes_at
        poll.timezone = timezone_name
        poll.save()
        transaction.on_commit(lambda: chat_tasks.queue_poll_embedding(poll.pk), robust=True)
        transaction.on_commit(lambda: live.announce_tally_soon(poll.pk), robust=True)
    return poll


def _options_replace(*, poll: Poll, current: list[Option], texts: list[str]) -> None:
    """Rename options in place by position, add the new ones with their shards, drop the rest."""
    for option, text in zip(current, texts, strict=False):
        if option.text != text:
            option.text = text
            option.save(update_fields=["text"])
    Option.objects.filter(pk__in=[option.pk for option in current[len(texts) :]]).delete()
    next_position = max((option.position for option in current), default=-1) + 1
    added = Option.objects.bulk_create(
        Option(poll=poll, text=text, position=next_position + offset)
        for offset, text in enumerate(texts[len(current) :])
    )
    if added and added[0].pk is None:  # backends that cannot return ids from a bulk insert
        added = list(poll.options.filter(position__gte=next_position))
    TallyShard.objects.bulk_create(
        TallyShard(poll=poll, option=option, shard=shard)
        for option in added
        for shard in range(TALLY_SHARDS)
    )


def poll_delete(*, poll: Poll) -> None:
    """Delete the poll with its options, votes, tallies and snippets."""
    with transaction.atomic():
        _lock_poll_exclusively(poll)
        poll.delete()


def comment_remove(*, poll: Poll, ballot_id: int) -> bool:
    """Hide a vote's comment from the poll page and from answers; False if nothing changed."""
    with transaction.atomic():
        removed = (
            Ballot.objects.filter(pk=ballot_id, poll=poll, comment_removed=False)
            .exclude(comment="")
            .update(comment_removed=True)
        )
        if removed:
            transaction.on_commit(
                lambda: chat_tasks.enqueue(chat_tasks.embed_comment, ballot_id), robust=True
            )
    return bool(removed)
