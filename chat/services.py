"""Writes: keeping each poll's snippets and their embeddings in step with its text."""

import threading
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from chat import embeddings, search
from chat.models import PollTag, Snippet
from notifications import services as notifications
from polls.models import Ballot, Option, Poll


@dataclass(frozen=True)
class SnippetSource:
    kind: str
    source_id: int
    text: str


def poll_text(poll: Poll) -> str:
    """Return the text of a poll's own snippet: its question, then its description."""
    return f"{poll.question}\n{poll.description}".strip()


def _wanted_snippets(poll: Poll) -> list[SnippetSource]:
    wanted = [SnippetSource(Snippet.Kind.POLL, poll.pk, poll_text(poll))]
    wanted += [
        SnippetSource(Snippet.Kind.OPTION, option_id, text)
        for option_id, text in Option.objects.filter(poll=poll).values_list("id", "text")
    ]
    comments = (
        Ballot.objects.filter(poll=poll, comment_removed=False)
        .exclude(comment="")
        .values_list("id", "comment")
    )
    wanted += [
        SnippetSource(Snippet.Kind.COMMENT, ballot_id, comment.strip())
        for ballot_id, comment in comments
        if comment.strip()
    ]
    return wanted


def _store(*, poll_id: int, sources: list[SnippetSource], known: dict) -> int:
    """Embed the sources whose text changed and upsert them; return how many were embedded.

    The model runs outside any transaction (it takes milliseconds per text, seconds the
    first time), and the write is one upsert on (kind, source_id): two tasks syncing the
    same poll at once both end with the same rows instead of one failing on the constraint.
    """
    changed = []
    for source in sources:
        digest = embeddings.text_hash(source.text)
        if known.get((source.kind, source.source_id)) != digest:
            changed.append((source, digest))
    if not changed:
        return 0
    vectors = embeddings.embed([source.text for source, _ in changed])
    rows = [
        Snippet(
            poll_id=poll_id,
            kind=source.kind,
            source_id=source.source_id,
            text=source.text,
            text_hash=digest,
            model_name=embeddings.MODEL_NAME,
            vector=vector.astype("<f4").tobytes(),
        )
        for (source, digest), vector in zip(changed, vectors, strict=True)
    ]
    with transaction.atomic():
        Snippet.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["kind", "source_id"],
            update_fields=["poll", "text", "text_hash", "model_name", "vector", "updated_at"],
        )
        if any(source.kind != Snippet.Kind.COMMENT for source, _ in changed):
            transaction.on_commit(_index_changed, robust=True)  # comments are not searched
    return len(rows)


def _index_changed() -> None:
    search.index_changed()


def poll_snippets_sync(*, poll_id: int) -> int:
    """Make a poll's snippets match its text, embedding only what changed; return that count."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return 0  # deleted: its snippets went with it
    wanted = _wanted_snippets(poll)
    existing = Snippet.objects.filter(poll_id=poll_id).values_list(
        "id", "kind", "source_id", "text_hash"
    )
    known, stale = {}, []
    wanted_keys = {(source.kind, source.source_id) for source in wanted}
    for snippet_id, kind, source_id, digest in existing:
        if (kind, source_id) in wanted_keys:
            known[(kind, source_id)] = digest
        else:
            stale.append(snippet_id)
    if stale:
        with transaction.atomic():
            Snippet.objects.filter(id__in=stale).delete()
            # Restamp the question so that search indexes reload this poll's row.
            Snippet.objects.filter(poll_id=poll_id, kind=Snippet.Kind.POLL).update(
                updated_at=timezone.now()
            )
            transaction.on_commit(_index_changed, robust=True)
    return _store(poll_id=poll_id, sources=wanted, known=known)


def comment_snippet_sync(*, ballot_id: int) -> int:
    """Embed a ballot's comment, or drop its snippet once it is empty, removed or gone."""
    ballot = (
        Ballot.objects.filter(pk=ballot_id).values("poll_id", "comment", "comment_removed").first()
    )
    comment = (ballot or {}).get("comment", "").strip()
    if ballot is None or ballot["comment_removed"] or not comment:
        Snippet.objects.filter(kind=Snippet.Kind.COMMENT, source_id=ballot_id).delete()
        return 0
    digest = (
        Snippet.objects.filter(kind=Snippet.Kind.COMMENT, source_id=ballot_id)
        .values_list("text_hash", flat=True)
        .first()
    )
    known = {(Snippet.Kind.COMMENT, ballot_id): digest}
    source = SnippetSource(Snippet.Kind.COMMENT, ballot_id, comment)
    return _store(poll_id=ballot["poll_id"], sources=[source], known=known)


# Topic labels and the text each is matched by: a poll gets the labels nearest its
# search vector, by cosine.
TOPICS = {
    "food": "food, cooking, recipes, restaurants and eating",
    "drinks": "drinks, coffee, tea, beer, wine and cocktails",
    "sports": "sports, football, soccer, basketball, tennis, leagues, teams, players and matches",
    "fitness": "fitness, exercise, gym, running and workouts",
    "health": "health, medicine, doctors, illness and wellbeing",
    "technology": "technology, computers, gadgets, phones and software",
    "programming": "programming, code, developers, languages and frameworks",
    "science": "science, physics, chemistry, biology and research",
    "space": "space, astronomy, planets, rockets and stars",
    "nature": "nature, animals, plants, forests and wildlife",
    "pets": "pets, dogs, cats and animal care",
    "environment": "environment, climate change, pollution and recycling",
    "weather": "weather, rain, sunshine, snow, storms and temperature",
    "travel": "travel, holidays, trips, destinations and tourism",
    "transport": "transport, cars, vehicles, trains, bikes and commuting",
    "music": "music, songs, bands, concerts and albums",
    "movies": "movies, films, cinema, actors and directors",
    "tv": "television, tv series, streaming shows and episodes",
    "books": "books, reading, novels, authors and literature",
    "games": "video games, board games, gaming and players",
    "art": "art, painting, drawing, design and museums",
    "fashion": "fashion, clothes, style, shoes and outfits",
    "education": "education, school, university, teachers and learning",
    "work": "work, jobs, careers, offices and meetings",
    "business": "business, companies, startups, markets and products",
    "money": "money, finance, saving, prices and investing",
    "politics": "politics, elections, government, laws and voting",
    "news": "news, current events, media and journalism",
    "history": "history, the past, historical events and ancient times",
    "family": "family, parents, children and relationships",
    "home": "home, house, furniture, cleaning and gardening",
    "events": "events, parties, meetups, celebrations and planning a date",
    "holidays": "holidays, christmas, birthdays and festive traditions",
    "language": "language, words, grammar, names and spelling",
    "philosophy": "philosophy, ethics, beliefs and big questions",
    "social media": "social media, the internet, apps and online communities",
    "shopping": "shopping, stores, brands and buying things",
    "cities": "cities, neighbourhoods, places to live and local life",
    "hobbies": "hobbies, crafts, collecting and free time",
    "fun": "fun, jokes, trivia, silly questions and would-you-rather",
}
MAX_TAGS = 3
# Tags after the first must fit almost as well as the best one, and well in absolute terms.
EXTRA_TAG_MIN_SCORE = 0.25
EXTRA_TAG_MAX_GAP = 0.05

_topic_matrix = None
_topic_lock = threading.Lock()


def _topics() -> tuple[list[str], np.ndarray]:
    global _topic_matrix
    with _topic_lock:
        if _topic_matrix is None:
            _topic_matrix = embeddings.embed(list(TOPICS.values()))
    return list(TOPICS), _topic_matrix


def tags_for_vector(vector: np.ndarray) -> list[tuple[str, float]]:
    """Return 1 to 3 (label, score) pairs for a poll's search vector, best first."""
    labels, matrix = _topics()
    scores = matrix @ vector
    order = np.argsort(-scores)[:MAX_TAGS]
    best = float(scores[order[0]])
    chosen = [(labels[order[0]], best)]
    for position in order[1:]:
        score = float(scores[position])
        if score >= EXTRA_TAG_MIN_SCORE and best - score <= EXTRA_TAG_MAX_GAP:
            chosen.append((labels[position], score))
    return chosen


def poll_tags_assign(*, poll_id: int) -> list[str]:
    """Give a poll 1 to 3 topic tags from its embedded text; return the labels."""
    rows = Snippet.objects.filter(
        poll_id=poll_id, kind__in=[Snippet.Kind.POLL, Snippet.Kind.OPTION]
    ).values_list("kind", "vector")
    question, options = None, []
    for kind, vector in rows:
        array = np.frombuffer(vector, dtype="<f4")
        if kind == Snippet.Kind.POLL:
            question = array
        else:
            options.append(array)
    if question is None or not Poll.objects.filter(pk=poll_id).exists():
        return []
    chosen = tags_for_vector(search.combine(question, options))
    labels = [label for label, _ in chosen]
    with transaction.atomic():
        PollTag.objects.filter(poll_id=poll_id).exclude(label__in=labels).delete()
        PollTag.objects.bulk_create(
            [PollTag(poll_id=poll_id, label=label, score=score) for label, score in chosen],
            update_conflicts=True,
            unique_fields=["poll", "label"],
            update_fields=["score"],
        )
    return labels


def question_record(*, poll_id: int, question: str, asker_id: int | None) -> None:
    """Note that someone asked the poll a question: its owner hears of it."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is not None:
        notifications.question_asked(poll=poll, question=question, asker_id=asker_id)
