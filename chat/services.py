"""Writes: keeping each poll's snippets and their embeddings in step with its text, and
recording a question asked of a poll."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from chat import embeddings, lexical, search
from chat.events import QuestionAsked
from chat.models import Snippet
from core.events import announce
from polls.models import Ballot, Option, Poll
from polls.selectors import visible_comments
from polls.services.anonymous import ballot_day


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
    comments = visible_comments(poll_id=poll.pk).values_list("id", "comment")
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
        stored = Snippet.objects.filter(poll_id=poll_id).values_list("id", "kind", "source_id")
        by_source = {(kind, source_id): pk for pk, kind, source_id in stored}
        lexical.index_snippets(
            poll_id=poll_id,
            texts={by_source[(src.kind, src.source_id)]: src.text for src, _ in changed},
        )
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
            lexical.drop_snippets(poll_id=poll_id, snippet_ids=stale)
            # Restamp the question so that search indexes reload this poll's row.
            Snippet.objects.filter(poll_id=poll_id, kind=Snippet.Kind.POLL).update(
                updated_at=timezone.now()
            )
            transaction.on_commit(_index_changed, robust=True)
    return _store(poll_id=poll_id, sources=wanted, known=known)


def comment_snippet_sync(*, ballot_id: int) -> int:
    """Embed a ballot's comment, or drop its snippet once it is empty, removed or gone."""
    poll_id = Ballot.objects.filter(pk=ballot_id).values_list("poll_id", flat=True).first()
    comment = ""
    if poll_id is not None:
        comment = (
            visible_comments(poll_id=poll_id)
            .filter(pk=ballot_id)
            .values_list("comment", flat=True)
            .first()
            or ""
        ).strip()
    if not comment:
        gone = Snippet.objects.filter(kind=Snippet.Kind.COMMENT, source_id=ballot_id)
        for snippet_id, snippet_poll_id in gone.values_list("id", "poll_id"):
            lexical.drop_snippets(poll_id=snippet_poll_id, snippet_ids=[snippet_id])
        gone.delete()
        return 0
    digest = (
        Snippet.objects.filter(kind=Snippet.Kind.COMMENT, source_id=ballot_id)
        .values_list("text_hash", flat=True)
        .first()
    )
    known = {(Snippet.Kind.COMMENT, ballot_id): digest}
    source = SnippetSource(Snippet.Kind.COMMENT, ballot_id, comment)
    stored = _store(poll_id=poll_id, sources=[source], known=known)
    if Poll.objects.filter(pk=poll_id, anonymous=True).exists():
        # Embedded moments after the vote: the time of day would date its ballot.
        Snippet.objects.filter(kind=Snippet.Kind.COMMENT, source_id=ballot_id).update(
            updated_at=ballot_day()
        )
    return stored


def question_record(*, poll_id: int, question: str, asker_id: int | None) -> None:
    """Announce that someone asked the poll a question (its owner hears of it)."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is not None:
        announce(QuestionAsked(poll=poll, question=question, asker_id=asker_id))
