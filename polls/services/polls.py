"""A poll's life: creating, editing, closing, reopening, deleting it, and its comments.

Each change is announced as a domain event (polls/events.py) once it commits.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from core.events import announce
from core.security import keyed_hash, keyed_hash_candidates
from polls.events import (
    CommentRemoved,
    PollClosed,
    PollCreated,
    PollReopened,
    PollUpdated,
    ResultsRevealed,
)
from polls.models import TALLY_SHARDS, Ballot, Option, Poll, TallyShard
from polls.search_index import poll_search_sync
from polls.services.anonymous import voter_marks_shuffle
from polls.services.locks import lock_poll_exclusively


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
    vote_changes: str = Poll.VoteChanges.OFF,
    anonymous: bool = False,
    closes_at: datetime | None = None,
    timezone_name: str = "UTC",
    owner=None,
    creator_token: str = "",
    circle=None,
) -> Poll:
    """Create a poll with its options and empty tally shards; with a circle, a poll only
    the circle's members reach (the caller checked that the creator is one)."""
    with transaction.atomic():
        poll = Poll.objects.create(
            question=question,
            description=description,
            choice_type=choice_type,
            results_visibility=results_visibility,
            allow_comments=allow_comments,
            protection=protection,
            listed=listed,
            vote_changes=vote_changes,
            anonymous=anonymous,
            closes_at=closes_at,
            timezone=timezone_name,
            owner=owner,
            creator_key=keyed_hash(creator_token, purpose="creator") if creator_token else "",
            circle=circle,
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
        poll_search_sync(poll_id=poll.pk)  # in the transaction: searchable once committed
        announce(PollCreated(poll=poll))
    return poll


def poll_action_audit(actor, action: Action, poll: Poll, **details) -> None:
    """Write who did what to the poll to the audit log, in the acting transaction."""
    audit_record(
        actor=actor,
        action=action,
        object_type="poll",
        object_id=poll.code,
        object_label=poll.question,
        **details,
    )


def poll_close(*, poll: Poll, closed_at: datetime | None = None, actor=None) -> bool:
    """Close the poll (now, or at its passed close time); waits for votes in flight, which
    all count. Announces the final tally and tells the owner. False if already closed."""
    with transaction.atomic():
        lock_poll_exclusively(poll)
        closed_at = closed_at or timezone.now()
        closed = Poll.objects.filter(pk=poll.pk, closed_at__isnull=True).update(closed_at=closed_at)
        if closed:
            poll.closed_at = closed_at
            if poll.anonymous:
                voter_marks_shuffle(poll=poll)
            poll_action_audit(actor, Action.CLOSE, poll)
            announce(PollClosed(poll=poll))
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


def poll_reopen(*, poll: Poll, actor=None) -> None:
    """Reopen a closed poll; a past close time is cleared so it stays open."""
    with transaction.atomic():
        lock_poll_exclusively(poll)
        Poll.objects.filter(pk=poll.pk).update(closed_at=None, closes_at=None)
        poll.closed_at = poll.closes_at = None
        poll_action_audit(actor, Action.REOPEN, poll)
        announce(PollReopened(poll=poll))
    poll.refresh_from_db(fields=["closed_at", "closes_at"])


def poll_claim_for_browser(*, user, token: str) -> int:
    """Give the user every unowned poll this browser created; return how many."""
    if not token:
        return 0
    return Poll.objects.filter(
        owner__isnull=True, creator_key__in=keyed_hash_candidates(token, purpose="creator")
    ).update(owner=user)


class OptionsLocked(Exception):
    """The poll has votes, so its options can no longer change."""


class AnonymityLocked(Exception):
    """The poll has votes, so anonymous mode can no longer be switched on or off: its
    ballots were written one way or the other."""


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
    vote_changes: str | None = None,
    anonymous: bool | None = None,
) -> Poll:
    """Change a poll's text and settings, and its options while it has no votes.

    Raises OptionsLocked when options differ from the current ones and votes exist, and
    AnonymityLocked when anonymous mode would change once votes exist. The
    check waits for votes in flight, as a close does, so none slips in between. The row is
    re-read under its lock and only the fields that change are written, so a close or
    reopen that committed a moment before stays as it is.
    """
    with transaction.atomic():
        lock_poll_exclusively(poll)
        fresh = Poll.objects.select_for_update().get(pk=poll.pk)
        has_votes = Ballot.objects.filter(poll=fresh).exists()
        current = list(fresh.options.order_by("position", "id"))
        if options is not None and options != [option.text for option in current]:
            if has_votes:
                raise OptionsLocked
            _options_replace(poll=fresh, current=current, texts=options)
        if anonymous is not None and anonymous != fresh.anonymous and has_votes:
            raise AnonymityLocked
        wanted = {
            "question": question,
            "description": description,
            "allow_comments": allow_comments,
            "listed": listed,
            "results_visibility": results_visibility,
            "closes_at": closes_at,
            "timezone": timezone_name,
        }
        if vote_changes is not None:
            wanted["vote_changes"] = vote_changes
        if anonymous is not None:
            wanted["anonymous"] = anonymous
        if has_votes and question != fresh.question:
            wanted["question_edited"] = True
        changed = [name for name, value in wanted.items() if getattr(fresh, name) != value]
        for name in changed:
            setattr(fresh, name, wanted[name])
        fresh.save(update_fields=[*changed, "updated_at"])
        for field in Poll._meta.concrete_fields:
            setattr(poll, field.attname, getattr(fresh, field.attname))
        poll_search_sync(poll_id=fresh.pk)
        announce(PollUpdated(poll=fresh))
    return poll


def _options_replace(*, poll: Poll, current: list[Option], texts: list[str]) -> None:
    """Make the options read `texts` in order: unchanged ones stay, every renamed or new
    text becomes a new option (a new id) with its shards, and the rest are dropped.

    A renamed option gets a new id so that a page opened before the rename, which still
    shows the old text, cannot cast a vote for the new text.
    """
    kept = {option.pk for option, text in zip(current, texts, strict=False) if option.text == text}
    Option.objects.filter(poll=poll).exclude(pk__in=kept).delete()
    next_position = max((option.position for option in current), default=-1) + 1
    fresh = []
    for index, text in enumerate(texts):
        if index < len(current):
            if current[index].pk in kept:
                continue
            position = current[index].position
        else:
            position = next_position + index - len(current)
        fresh.append(Option(poll=poll, text=text, position=position))
    added = Option.objects.bulk_create(fresh)
    if added and added[0].pk is None:  # backends that cannot return ids from a bulk insert
        added = list(poll.options.exclude(pk__in=kept))
    TallyShard.objects.bulk_create(
        TallyShard(poll=poll, option=option, shard=shard)
        for option in added
        for shard in range(TALLY_SHARDS)
    )


def poll_reveal(*, poll: Poll, revealed: bool) -> bool:
    """Show the results to everyone now (revealed), or go back to the poll's setting.
    Returns whether anything changed; each open page follows."""
    with transaction.atomic():
        changed = (
            Poll.objects.filter(pk=poll.pk)
            .exclude(results_revealed=revealed)
            .update(results_revealed=revealed, updated_at=timezone.now())
        )
        poll.results_revealed = revealed
        if changed:
            announce(ResultsRevealed(poll=poll, revealed=revealed))
    return bool(changed)


def poll_delete(*, poll: Poll, actor=None) -> None:
    """Delete the poll with its options, votes, tallies and snippets."""
    with transaction.atomic():
        lock_poll_exclusively(poll)
        poll_action_audit(actor, Action.DELETE, poll)
        poll_id = poll.pk
        poll.delete()
        poll_search_sync(poll_id=poll_id)


def comment_remove(*, poll: Poll, ballot_id: int, actor=None) -> bool:
    """Hide a vote's comment from the poll page and from answers; False if nothing changed."""
    with transaction.atomic():
        removed = (
            Ballot.objects.filter(pk=ballot_id, poll=poll, comment_removed=False)
            .exclude(comment="")
            .update(comment_removed=True)
        )
        if removed:
            poll_action_audit(actor, Action.COMMENT_REMOVE, poll, ballot_id=ballot_id)
            announce(CommentRemoved(poll=poll, ballot_id=ballot_id))
    return bool(removed)
