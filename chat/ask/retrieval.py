"""What an answer may draw on: the poll's text, its tally as the asker may see it, and its
snippets ranked by cosine similarity with the embedded question (this poll's only, never
another's). Comments are quoted as they read now, through the one rule for comments anyone
may read, so a removed comment drops out and an edited one shows as saved."""

from dataclasses import dataclass, field, replace

import numpy as np

from chat.models import EMBEDDING_DIM, Snippet
from core.voters import Voter
from polls import selectors
from polls.models import BallotChoice, Poll
from polls.selectors import Tally

TOP_SNIPPETS = 6
TOP_COMMENTS = 5

Candidate = tuple[str, int, str, np.ndarray]


@dataclass(frozen=True)
class Source:
    kind: str
    source_id: int
    text: str
    score: float
    options: tuple[str, ...] = ()  # a comment's author chose these (only where results show)


@dataclass
class PollFacts:
    """What an answer may draw on: the poll's text, tally and the snippets found."""

    poll_id: int
    code: str
    question: str
    closed: bool
    results_visible: bool
    results_visibility: str
    is_multiple: bool
    tally: Tally
    snippets: list[Source] = field(default_factory=list)
    comments: list[Source] = field(default_factory=list)
    comment_options: dict[int, tuple[str, ...]] = field(default_factory=dict)


def embed_question(question: str) -> np.ndarray:
    from chat.embeddings import embed

    return embed([question])[0]


def _snippet_rows(poll_id: int) -> list[tuple[str, int, str, bytes]]:
    return list(
        Snippet.objects.filter(poll_id=poll_id).values_list("kind", "source_id", "text", "vector")
    )


def snippet_candidates(*, poll_id: int) -> list[Candidate]:
    """Load this poll's snippets with their vectors, embedding them first if none exist."""
    rows = _snippet_rows(poll_id)
    if not rows:
        from chat.services import poll_snippets_sync

        poll_snippets_sync(poll_id=poll_id)
        rows = _snippet_rows(poll_id)
    comment_ids = [source_id for kind, source_id, _, _ in rows if kind == Snippet.Kind.COMMENT]
    # Quotes must be verbatim and current: removed comments drop out, edits show as saved.
    comments = dict(
        selectors.visible_comments(poll_id=poll_id)
        .filter(pk__in=comment_ids)
        .values_list("pk", "comment")
    )
    kept = []
    for kind, source_id, text, raw in rows:
        if kind == Snippet.Kind.COMMENT:
            if source_id not in comments:
                continue
            text = comments[source_id]
        values = np.frombuffer(bytes(raw), dtype=np.float32)
        if values.shape[0] == EMBEDDING_DIM:
            kept.append((kind, source_id, text, values))
    return kept


def rank(candidates: list[Candidate], vector: np.ndarray) -> list[Source]:
    """Order candidates by cosine similarity with vector (all are unit vectors)."""
    if not candidates:
        return []
    matrix = np.stack([values for *_, values in candidates])
    scores = matrix @ np.asarray(vector, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")
    return [
        Source(
            kind=candidates[i][0],
            source_id=candidates[i][1],
            text=candidates[i][2],
            score=float(scores[i]),
        )
        for i in order
    ]


def rank_snippets(*, poll_id: int, vector: np.ndarray) -> list[Source]:
    """Return this poll's snippets, most similar to vector first; never another poll's."""
    return rank(snippet_candidates(poll_id=poll_id), vector)


def poll_facts(*, poll_id: int, voter: Voter) -> tuple[PollFacts, list[Candidate]] | None:
    """Read the poll, its tally as this voter may see it, and its snippets to rank."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return None
    facts = PollFacts(
        poll_id=poll.pk,
        code=poll.code,
        question=poll.question,
        closed=poll.is_closed(),
        results_visible=selectors.voter_sees_results(poll=poll, voter=voter),
        results_visibility=poll.results_visibility,
        is_multiple=poll.is_multiple,
        tally=selectors.poll_tally(poll=poll),
    )
    candidates = snippet_candidates(poll_id=poll_id)
    if facts.results_visible:
        facts.comment_options = _chosen_options(
            [source_id for kind, source_id, _, _ in candidates if kind == Snippet.Kind.COMMENT]
        )
    return facts, candidates


def _chosen_options(ballot_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The option texts each of these ballots chose, in the poll's order."""
    chosen: dict[int, list[str]] = {}
    rows = (
        BallotChoice.objects.filter(ballot_id__in=ballot_ids)
        .order_by("option__position", "option_id")
        .values_list("ballot_id", "option__text")
    )
    for ballot_id, text in rows:
        chosen.setdefault(ballot_id, []).append(text)
    return {ballot_id: tuple(texts) for ballot_id, texts in chosen.items()}


def with_sources(facts: PollFacts, ranked: list[Source]) -> PollFacts:
    facts.snippets = ranked[:TOP_SNIPPETS]
    facts.comments = [
        replace(source, options=facts.comment_options.get(source.source_id, ()))
        for source in ranked
        if source.kind == Snippet.Kind.COMMENT
    ][:TOP_COMMENTS]
    return facts
