"""Reads: tallies, results as users see them, what a voter chose, lists of polls."""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db.models import Q, Sum

from circles.selectors import user_circle_ids
from core.security import keyed_hash_candidates
from core.voters import Voter
from polls.models import Ballot, Option, Poll, TallyShard, VoterMark
from polls.search_index import poll_search_ids

logger = logging.getLogger(__name__)

# Sections that apps above polls add to the results document, by key (chat adds "themes"),
# registered in their AppConfig.ready(): polls imports none of them. A section is given the
# poll and whether this viewer may see its results; one that fails is left out.
RESULTS_SECTIONS: dict[str, Callable[..., object]] = {}
_shared_sections: ContextVar[dict | None] = ContextVar("shared_sections", default=None)


@contextmanager
def results_sections_shared():
    """Compute each results section once per poll and visibility inside this block: the
    answers to votes committed together describe one moment and may share them."""
    token = _shared_sections.set({})
    try:
        yield
    finally:
        _shared_sections.reset(token)


@dataclass(frozen=True)
class OptionTally:
    id: int
    text: str
    votes: int
    percentage: float


@dataclass(frozen=True)
class Tally:
    total_votes: int
    options: list[OptionTally]

    @property
    def leading_votes(self) -> int:
        return max((option.votes for option in self.options), default=0)


def percentage(votes: int, ballots: int) -> float:
    return round(votes * 100 / ballots, 1) if ballots else 0.0


def poll_tally(*, poll: Poll, options: list[Option] | None = None) -> Tally:
    """Sum the poll's counter shards: a few hundred rows at most, however many votes."""
    options = options if options is not None else list(poll.options.all())
    sums = dict(
        TallyShard.objects.filter(poll=poll)
        .values_list("option_id")
        .annotate(total=Sum("count"))
        .values_list("option_id", "total")
    )
    return tally_from_sums(options=options, sums=sums)


def tally_from_sums(*, options: list[Option], sums: dict[int | None, int]) -> Tally:
    """The tally from the summed shards: votes by option id, ballots under None."""
    ballots = sums.get(None) or 0
    return Tally(
        total_votes=ballots,
        options=[
            OptionTally(
                id=option.id,
                text=option.text,
                votes=sums.get(option.id) or 0,
                percentage=percentage(sums.get(option.id) or 0, ballots),
            )
            for option in options
        ],
    )


def voter_ballot(*, poll: Poll, voter: Voter) -> Ballot | None:
    return Ballot.objects.filter(poll=poll, voter_key__in=voter.keys).first()


def voter_choices(*, poll: Poll, voter: Voter) -> list[int] | None:
    """Return the option ids this voter chose, or None if they have not voted.

    In an anonymous poll nothing tells which ballot is theirs: [] once they have voted.
    """
    if poll.anonymous:
        voted = VoterMark.objects.filter(poll=poll, voter_key__in=voter.keys).exists()
        return [] if voted else None
    ballot = Ballot.objects.filter(poll=poll, voter_key__in=voter.keys).first()
    if ballot is None:
        return None
    return sorted(ballot.choices.values_list("option_id", flat=True))


def is_poll_owner(*, poll: Poll, voter: Voter) -> bool:
    """The signed-in owner, or, for a poll created anonymously, the browser that created it."""
    if poll.owner_id is not None:
        return voter.user_id is not None and voter.user_id == poll.owner_id
    return (
        bool(voter.token)
        and bool(poll.creator_key)
        and poll.creator_key in keyed_hash_candidates(voter.token, purpose="creator")
    )


def voter_has_voted(*, poll: Poll, voter: Voter) -> bool:
    return bool(voter.token or voter.user_id is not None) and (
        voter_choices(poll=poll, voter=voter) is not None
    )


def voter_sees_results(*, poll: Poll, voter: Voter) -> bool:
    """Whether this voter may see the poll's numbers now."""
    has_voted = voter_has_voted(poll=poll, voter=voter)
    return results_visible(
        poll=poll, has_voted=has_voted, is_owner=is_poll_owner(poll=poll, voter=voter)
    )


@dataclass(frozen=True)
class Visibility:
    """What of a poll decides who sees its numbers."""

    results_visibility: str
    closed: bool
    revealed: bool

    @classmethod
    def of(cls, poll: Poll) -> "Visibility":
        return cls(poll.results_visibility, poll.is_closed(), poll.results_revealed)


def results_visible(*, poll: Poll, has_voted: bool, is_owner: bool) -> bool:
    return results_visible_in(
        visibility=Visibility.of(poll), has_voted=has_voted, is_owner=is_owner
    )


def results_visible_in(*, visibility: Visibility, has_voted: bool, is_owner: bool) -> bool:
    """The one rule for who sees the numbers: pages, JSON and every socket push use it."""
    if is_owner or visibility.revealed:
        return True
    if visibility.results_visibility == Poll.ResultsVisibility.ALWAYS:
        return True
    if visibility.results_visibility == Poll.ResultsVisibility.AFTER_VOTE:
        return has_voted or visibility.closed
    return visibility.closed


def results_json(*, poll: Poll, tally: Tally, visible: bool, closed: bool | None = None) -> dict:
    """The results document of the public API (closed: as of when the tally was read)."""
    document = {
        "code": poll.code,
        "question": poll.question,
        "total_votes": tally.total_votes,
        "closed": poll.is_closed() if closed is None else closed,
        "results_visible": visible,
        "results_revealed": poll.results_revealed,
        "options": [
            {
                "id": option.id,
                "text": option.text,
                "votes": option.votes if visible else None,
                "percentage": option.percentage if visible else None,
            }
            for option in tally.options
        ],
    }
    shared = _shared_sections.get()
    for key, section in RESULTS_SECTIONS.items():
        if shared is not None and (key, poll.pk, visible) in shared:
            document[key] = shared[key, poll.pk, visible]
            continue
        try:
            document[key] = section(poll=poll, visible=visible)
        except Exception:
            logger.exception("Results section %r failed for poll %s", key, poll.pk)
            continue
        if shared is not None:
            shared[key, poll.pk, visible] = document[key]
    return document


def visible_comments(*, poll_id: int):
    """The ballots whose comment anyone may read: written and not removed by the owner.

    The poll page, the answers and the embeddings all read comments through this rule.
    """
    return Ballot.objects.filter(poll_id=poll_id, comment_removed=False).exclude(comment="")


def recent_comments(*, poll: Poll, limit: int = 20) -> list[Ballot]:
    return list(visible_comments(poll_id=poll.pk).order_by("-created_at")[:limit])


def recent_public_polls(*, limit: int = 10) -> list[Poll]:
    return list(Poll.objects.public().order_by("-created_at")[:limit])


def poll_keyword_search(*, query: str, limit: int = 20) -> list[Poll]:
    """Find listed polls whose question, description or options hold every word, best first.

    One full-text query whatever the number of words (core/fulltext.py).
    """
    ranked = poll_search_ids(query=query, limit=limit)
    by_id = Poll.objects.public().filter(pk__in=ranked).in_bulk()
    return [by_id[poll_id] for poll_id in ranked if poll_id in by_id]


def owner_polls(*, user):
    """The user's polls they can still reach, newest first, as a queryset to paginate: a
    poll of a circle they left is no longer theirs to see (polls.visibility)."""
    in_reach = Q(circle__isnull=True) | Q(circle__in=user_circle_ids(user_id=user.pk))
    return Poll.objects.filter(in_reach, owner=user).order_by("-created_at", "-pk")


def circle_polls(*, circle) -> list[Poll]:
    """The circle's polls its members see, newest first (hidden ones stay with moderators)."""
    return list(
        Poll.objects.filter(circle=circle, hidden_at__isnull=True).order_by("-created_at", "-pk")
    )


def poll_vote_counts(*, poll_ids: list[int]) -> dict[int, int]:
    """Ballots per poll for many polls in one query; polls with no shards count zero."""
    sums = dict(
        TallyShard.objects.filter(poll_id__in=poll_ids, option__isnull=True)
        .values_list("poll_id")
        .annotate(total=Sum("count"))
        .values_list("poll_id", "total")
    )
    return {poll_id: sums.get(poll_id) or 0 for poll_id in poll_ids}


def poll_has_votes(*, poll: Poll) -> bool:
    return Ballot.objects.filter(poll=poll).exists()
