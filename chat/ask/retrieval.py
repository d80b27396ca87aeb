"""What an answer may draw on: the poll's text, its tally as the asker may see it, and its
snippets ranked for the question (this poll's only, never another's). Comments are quoted as
they read now, through the one rule for comments anyone may read, so a removed comment drops
out and an edited one shows as saved.

Ranking is hybrid: the embedding's cosine similarity finds paraphrases that share no word
with a comment, the full-text index (chat.lexical) finds the rare words (a name, "price")
the small embedding model blurs, and reciprocal rank fusion joins the two orders without
having to make a cosine and a BM25 score comparable: each snippet scores the sum of
1 / (RRF_K + its rank) over the lists it appears in. Cosine counts for a little more
(COSINE_WEIGHT), as it ranks every snippet and the lexical list only those sharing a word.
"""

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from chat import lexical
from chat.ask.intent import Intent, question_intent
from chat.models import EMBEDDING_DIM, Snippet
from chat.themes import poll_themes_for
from core.voters import Voter
from polls import selectors
from polls.models import BallotChoice, Poll
from polls.selectors import Tally

TOP_SNIPPETS = 6
TOP_COMMENTS = 5
RRF_K = 60
COSINE_WEIGHT = 1.5


class Candidate(NamedTuple):
    snippet_id: int
    kind: str
    source_id: int
    text: str
    vector: np.ndarray


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
    all_comments: dict[int, str] = field(default_factory=dict)  # ballot id -> current text
    lexical: list[int] = field(default_factory=list)  # snippet ids, best lexical match first
    ranked: list[Source] = field(default_factory=list)  # every snippet, best first
    themes: list = field(default_factory=list)  # chat.themes.Theme, as this asker may see them


def embed_question(question: str) -> np.ndarray:
    from chat.embeddings import embed

    return embed([question])[0]


def _snippet_rows(poll_id: int) -> list[tuple[int, str, int, str, bytes]]:
    return list(
        Snippet.objects.filter(poll_id=poll_id)
        .order_by("id")
        .values_list("id", "kind", "source_id", "text", "vector")
    )


def snippet_candidates(*, poll_id: int) -> list[Candidate]:
    """Load this poll's snippets with their vectors, embedding them first if none exist."""
    rows = _snippet_rows(poll_id)
    if not rows:
        from chat.services import poll_snippets_sync

        poll_snippets_sync(poll_id=poll_id)
        rows = _snippet_rows(poll_id)
    comment_ids = [row[2] for row in rows if row[1] == Snippet.Kind.COMMENT]
    # Quotes must be verbatim and current: removed comments drop out, edits show as saved.
    comments = dict(
        selectors.visible_comments(poll_id=poll_id)
        .filter(pk__in=comment_ids)
        .values_list("pk", "comment")
    )
    kept = []
    for snippet_id, kind, source_id, text, raw in rows:
        if kind == Snippet.Kind.COMMENT:
            if source_id not in comments:
                continue
            text = comments[source_id]
        values = np.frombuffer(bytes(raw), dtype=np.float32)
        if values.shape[0] == EMBEDDING_DIM:
            kept.append(Candidate(snippet_id, kind, source_id, text, values))
    return kept


def lexical_ranking(*, poll_id: int, candidates: list[Candidate], question: str) -> list[int]:
    """This poll's snippet ids sharing the question's rarer words, best first."""
    texts = {candidate.snippet_id: candidate.text for candidate in candidates}
    return lexical.ranked_ids(poll_id=poll_id, question=question, texts=texts)


def rank(
    candidates: list[Candidate], vector: np.ndarray, lexical_ids: list[int] | None = None
) -> list[Source]:
    """Order candidates by cosine similarity with vector (all are unit vectors), fused by
    reciprocal rank with the lexical order where one is given; score is the fused score."""
    if not candidates:
        return []
    matrix = np.stack([candidate.vector for candidate in candidates])
    cosine = matrix @ np.asarray(vector, dtype=np.float32)
    scores = cosine.astype(np.float64)
    if lexical_ids is not None:
        position = {sid: index for index, sid in enumerate(candidates_ids(candidates))}
        by_cosine = np.argsort(-cosine, kind="stable")
        scores = np.zeros(len(candidates), dtype=np.float64)
        scores[by_cosine] = COSINE_WEIGHT / (RRF_K + 1 + np.arange(len(candidates)))
        for rank_index, snippet_id in enumerate(lexical_ids):
            if snippet_id in position:
                scores[position[snippet_id]] += 1.0 / (RRF_K + 1 + rank_index)
    order = np.argsort(-scores, kind="stable")
    return [
        Source(
            kind=candidates[i].kind,
            source_id=candidates[i].source_id,
            text=candidates[i].text,
            score=float(scores[i]),
        )
        for i in order
    ]


def candidates_ids(candidates: list[Candidate]) -> list[int]:
    return [candidate.snippet_id for candidate in candidates]


def rank_snippets(*, poll_id: int, vector: np.ndarray, question: str = "") -> list[Source]:
    """Return this poll's snippets, best match first; never another poll's. With the
    question's text the order is hybrid (cosine and full text fused), else cosine alone."""
    candidates = snippet_candidates(poll_id=poll_id)
    if not question:
        return rank(candidates, vector)
    lexical_ids = lexical_ranking(poll_id=poll_id, candidates=candidates, question=question)
    return rank(candidates, vector, lexical_ids)


def poll_facts(
    *, poll_id: int, voter: Voter, question: str = ""
) -> tuple[PollFacts, list[Candidate]] | None:
    """Read the poll, its tally as this voter may see it, its themes, its snippets to rank
    and, for the question's words, their lexical order."""
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
    facts.all_comments = {
        candidate.source_id: candidate.text
        for candidate in candidates
        if candidate.kind == Snippet.Kind.COMMENT
    }
    if facts.results_visible:
        facts.comment_options = _chosen_options(list(facts.all_comments))
    if question:
        facts.lexical = lexical_ranking(poll_id=poll_id, candidates=candidates, question=question)
    facts.themes = poll_themes_for(poll=poll, visible=facts.results_visible)
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


def with_sources(facts: PollFacts, ranked: list[Source], question: str = "") -> PollFacts:
    """Keep the top snippets and comments for the answer. For "why X" the comments of X's
    voters come first, for "objections to Y" those of the other options' voters, where the
    asker may see results (otherwise who chose what stays out of the order too)."""
    facts.ranked = [
        replace(source, options=facts.comment_options.get(source.source_id, ()))
        if source.kind == Snippet.Kind.COMMENT
        else source
        for source in ranked
    ]
    facts.snippets = ranked[:TOP_SNIPPETS]
    comments = [source for source in facts.ranked if source.kind == Snippet.Kind.COMMENT]
    if question and facts.results_visible:
        intent, name = question_intent(question, [option.text for option in facts.tally.options])
        if name is not None and intent in (Intent.WHY, Intent.OBJECTIONS):

            def answers(source: Source) -> bool:
                if intent == Intent.WHY:
                    return name in source.options
                return bool(source.options) and name not in source.options

            comments = [c for c in comments if answers(c)] + [c for c in comments if not answers(c)]
    facts.comments = comments[:TOP_COMMENTS]
    return facts
