"""Hybrid search over listed polls: meaning and words, fused, with a topic-tag filter.

The poll vectors live in one memory-mapped index per machine (chat/search_index.py: int8
rows scanned by k-means cell, re-ranked exactly in float32) that every process shares and
any process brings up to date. Where its folder cannot be used (SEARCH_INDEX_DIR empty or
not writable) each process keeps its own normalized float32 matrix instead, so a query is
one matrix-vector product and a top-k with argpartition. The embedding ranking and the
full-text ranking (core/fulltext.py) are fused by reciprocal rank. A poll's row is its question
snippet weighted twice the mean of its option snippets, made unit length again: the
question says what the poll is about, the options add the words people search with
("pepperoni" finds a pizza poll) without letting a long list of options drown it.

Processes learn of changes through a version token in the shared cache, replaced after
every commit that changes snippets; a process that sees a new token reloads only the polls
whose snippets changed since its last load (the shared index records the token it was
brought up to, so only one process per machine does that work).
"""

import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from chat import embeddings
from chat.models import EMBEDDING_DIM, PollTag, Snippet
from chat.search_index import SharedIndex
from polls.models import Poll
from polls.selectors import poll_keyword_search

logger = logging.getLogger(__name__)

VERSION_KEY = "chat:search:version"
QUESTION_WEIGHT = 2.0
# Cosine below this is noise for MiniLM on short texts; such hits are not shown.
MIN_SCORE = 0.3
# Reciprocal rank fusion: a poll scores 1 / (RRF_K + rank) in each ranking it is in.
RRF_K = 60
# A snippet is stamped when its statement runs but seen by others only at commit: reload a
# little before the last load so one committed in between is not missed.
RELOAD_OVERLAP = timedelta(seconds=60)


def index_changed() -> None:
    """Tell every process that snippets changed: their next search reloads what changed."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def combine(poll_vector: np.ndarray | None, option_vectors: list[np.ndarray]) -> np.ndarray:
    """Return a poll's search row: the question weighted against the mean option, unit length."""
    parts = []
    if poll_vector is not None:
        parts.append(QUESTION_WEIGHT * poll_vector)
    if option_vectors:
        parts.append(np.mean(option_vectors, axis=0))
    row = np.sum(parts, axis=0).astype(np.float32)
    norm = float(np.linalg.norm(row))
    return row / norm if norm > 0 else row


class PollIndex:
    """An in-memory matrix of poll vectors, grown in place and searched with NumPy."""

    def __init__(self, capacity: int = 1024):
        self.lock = threading.Lock()
        self.matrix = np.zeros((capacity, EMBEDDING_DIM), dtype=np.float32)
        self.ids = np.zeros(capacity, dtype=np.int64)
        self.row_of: dict[int, int] = {}
        self.size = 0
        self.version: str | None = None
        self.loaded_at = None

    def __len__(self) -> int:
        return self.size

    def upsert(self, poll_ids, vectors: np.ndarray) -> None:
        """Replace the rows of known polls and append the others."""
        with self.lock:
            new = [poll_id for poll_id in poll_ids if poll_id not in self.row_of]
            needed = self.size + len(new)
            if needed > len(self.matrix):
                capacity = max(needed, 2 * len(self.matrix))
                matrix = np.zeros((capacity, EMBEDDING_DIM), dtype=np.float32)
                matrix[: self.size] = self.matrix[: self.size]
                ids = np.zeros(capacity, dtype=np.int64)
                ids[: self.size] = self.ids[: self.size]
                # Searches running now keep the old arrays; the next ones see both new.
                self.matrix, self.ids = matrix, ids
            for poll_id in new:
                self.row_of[poll_id] = self.size
                self.ids[self.size] = poll_id
                self.size += 1
            rows = [self.row_of[poll_id] for poll_id in poll_ids]
            self.matrix[rows] = vectors

    def search(
        self, query: np.ndarray, *, k: int, only: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """Return up to k (poll id, cosine) pairs, best first, optionally among `only`."""
        matrix, ids, size = self.matrix, self.ids, self.size
        # One product over every row, then a gather for a filter: cheaper than copying the
        # filtered rows out of the matrix first.
        scores, candidate_ids = matrix[:size] @ query, ids[:size]
        if only is not None:
            wanted = np.isin(candidate_ids, np.fromiter(only, dtype=np.int64, count=len(only)))
            scores, candidate_ids = scores[wanted], candidate_ids[wanted]
        if len(scores) == 0:
            return []
        top = np.argpartition(scores, -k)[-k:] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return list(zip(candidate_ids[top].tolist(), scores[top].tolist(), strict=True))

    def refresh(self) -> None:
        """Load the polls whose snippets changed, if another commit said there are some."""
        version = cache.get(VERSION_KEY)
        if version is None:  # never set, or evicted: start a new one
            cache.add(VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(VERSION_KEY)
        if version is not None and version == self.version:
            return
        started = timezone.now()
        since = None if self.loaded_at is None else self.loaded_at - RELOAD_OVERLAP
        self._load(since)
        self.version, self.loaded_at = version, started

    def _load(self, since) -> None:
        snippets = Snippet.objects.filter(kind__in=[Snippet.Kind.POLL, Snippet.Kind.OPTION])
        if since is not None:
            changed = snippets.filter(updated_at__gt=since).values("poll_id")
            snippets = snippets.filter(poll_id__in=changed)
        poll_ids, vectors = [], []
        for poll_id, vector in poll_rows(snippets):
            poll_ids.append(poll_id)
            vectors.append(vector)
        if poll_ids:
            self.upsert(poll_ids, np.vstack(vectors))


def poll_rows(snippets):
    """Yield (poll id, search row) for the polls of these question and option snippets."""
    rows = snippets.order_by("poll_id").values_list("poll_id", "kind", "vector")
    current, question, options = None, None, []
    for poll_id, kind, vector in rows.iterator(chunk_size=2000):
        if poll_id != current:
            if current is not None:
                yield current, combine(question, options)
            current, question, options = poll_id, None, []
        array = np.frombuffer(vector, dtype="<f4")
        if kind == Snippet.Kind.POLL:
            question = array
        else:
            options.append(array)
    if current is not None:
        yield current, combine(question, options)


# --- the shared, memory-mapped index ------------------------------------------------------

_shared: dict[str, SharedIndex] = {}
_shared_lock = threading.Lock()
_shared_broken: set[str] = set()


def shared_index_path() -> Path | None:
    """This database's folder under SEARCH_INDEX_DIR, or None if shared files are off."""
    root = getattr(settings, "SEARCH_INDEX_DIR", "")
    if not root:
        return None
    database = connection.settings_dict
    identity = f"{database['NAME']}|{database.get('HOST', '')}|{database.get('PORT', '')}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(root) / f"{connection.vendor}-{digest}"


def shared_index() -> SharedIndex | None:
    """The machine's shared index for this database, brought up to date; None where its
    files cannot be used (the caller then searches the process-local matrix)."""
    path = shared_index_path()
    if path is None or str(path) in _shared_broken:
        return None
    with _shared_lock:
        index = _shared.get(str(path))
        if index is None:
            index = SharedIndex(path, probes=settings.SEARCH_INDEX_PROBES)
            _shared[str(path)] = index
        try:
            shared_refresh(index)
            index.open()
        except OSError:
            logger.exception("The shared search index at %s cannot be used", path)
            _shared_broken.add(str(path))
            return None
    return index


def _stamp(created_at) -> float:
    return created_at.timestamp()


def _public_rows(poll_ids=None):
    """(poll ids, creation stamps, vectors) of public polls with question snippets."""
    polls = Poll.objects.public()
    if poll_ids is not None:
        polls = polls.filter(pk__in=poll_ids)
    snippets = Snippet.objects.filter(
        kind__in=[Snippet.Kind.POLL, Snippet.Kind.OPTION], poll__in=polls
    )
    ids, vectors = [], []
    for poll_id, vector in poll_rows(snippets):
        ids.append(poll_id)
        vectors.append(vector)
    stamps = dict(polls.filter(pk__in=ids).values_list("pk", "created_at"))
    return ids, [_stamp(stamps[poll_id]) for poll_id in ids], vectors


def shared_refresh(index: SharedIndex) -> None:
    """Bring the shared index up to the cache's version token, if no process has yet."""
    version = cache.get(VERSION_KEY)
    if version is None:  # never set, or evicted: start a new one
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    meta = index.read_meta()
    if meta is not None and version is not None and meta.get("version") == version:
        return
    with index.locked():
        meta = index.read_meta()
        if meta is not None and version is not None and meta.get("version") == version:
            return  # another process did it while this one waited for the lock
        started = timezone.now()
        if meta is None or "synced_at" not in meta:
            ids, stamps, vectors = _public_rows()
            matrix = np.vstack(vectors) if vectors else np.zeros((0, EMBEDDING_DIM), np.float32)
            index.rebuild(ids, stamps, matrix)
        else:
            since = timezone.datetime.fromisoformat(meta["synced_at"]) - RELOAD_OVERLAP
            _apply_changes(index, since)
            if index.needs_compaction():
                index.compact(keep=_still_public)
        index.update_meta(version=version, synced_at=started.isoformat())


def _apply_changes(index: SharedIndex, since) -> None:
    """Append the rows of polls changed since `since`, tombstone those no longer public."""
    changed = set(
        Snippet.objects.filter(
            kind__in=[Snippet.Kind.POLL, Snippet.Kind.OPTION], updated_at__gt=since
        ).values_list("poll_id", flat=True)
    )
    changed |= set(Poll.objects.filter(updated_at__gt=since).values_list("pk", flat=True))
    if not changed:
        return
    ids, stamps, vectors = _public_rows(changed)
    index.open()
    current = index.live_rows(changed)
    fresh = []
    for position, poll_id in enumerate(ids):
        row = current.get(poll_id)
        # Polls re-read inside the overlap window, unchanged, keep their row.
        if row is None or not index.same_row(row, stamps[position], vectors[position]):
            fresh.append(position)
    index.tombstone(changed - set(ids))
    if fresh:
        index.append(
            [ids[p] for p in fresh],
            [stamps[p] for p in fresh],
            np.vstack([vectors[p] for p in fresh]),
        )


def _still_public(ids: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    public = dict(Poll.objects.public().values_list("pk", "created_at").iterator(chunk_size=20000))
    return np.fromiter(
        (
            poll_id in public and _stamp(public[poll_id]) == stamp
            for poll_id, stamp in zip(ids.tolist(), stamps.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(ids),
    )


_index = PollIndex()
_index_lock = threading.Lock()


def poll_index() -> PollIndex:
    """Return this process's index, brought up to date."""
    with _index_lock:
        _index.refresh()
    return _index


def reset_index() -> None:
    """Forget every row, shared files included: the next search reloads all polls."""
    global _index
    with _index_lock:
        _index = PollIndex()
    path = shared_index_path()
    if path is not None:
        with _shared_lock:
            _shared.pop(str(path), None)
            _shared_broken.discard(str(path))
        if path.exists():
            SharedIndex(path).destroy()


_warm_up_started = threading.Event()


def model_ready() -> bool:
    # The embeddings module loads its model once through a cached function.
    return embeddings._model.cache_info().currsize > 0


def warm_up_in_background() -> None:
    """Start loading the model on a thread of its own, once per process."""
    if model_ready() or _warm_up_started.is_set():
        return
    _warm_up_started.set()

    def load():
        try:
            embeddings.get_model()
        except Exception:
            logger.exception("Could not load the embedding model")
            _warm_up_started.clear()

    threading.Thread(target=load, name="embeddings-warm-up", daemon=True).start()


@dataclass
class SearchResults:
    polls: list[Poll] = field(default_factory=list)
    warming_up: bool = False


def search_polls(*, query: str, tag: str = "", limit: int = 20) -> SearchResults:
    """Rank listed polls by meaning and by words; with only a tag, list its recent polls.

    Until the model has loaded in this process the search uses words alone (and starts the
    load) rather than keeping the request waiting for seconds.
    """
    query = query.strip()
    tagged = None
    if tag:
        tagged = set(PollTag.objects.filter(label=tag).values_list("poll_id", flat=True))
    results = SearchResults()
    if not query:
        if tagged is not None:
            results.polls = list(
                Poll.objects.public()
                .filter(pk__in=tagged)
                .prefetch_related("tags")
                .order_by("-created_at")[:limit]
            )
        return results

    semantic: list[tuple[int, float]] = []
    index = None
    if model_ready():
        vector = embeddings.embed([query])[0]
        index = shared_index()
        hits = (index or poll_index()).search(vector, k=2 * limit, only=tagged)
        semantic = [(poll_id, score) for poll_id, score in hits if score >= MIN_SCORE]
    else:
        warm_up_in_background()
        results.warming_up = True
    keyword = [
        poll.pk
        for poll in poll_keyword_search(query=query, limit=2 * limit)
        if tagged is None or poll.pk in tagged
    ]
    fused: dict[int, float] = {}
    # Keyword first: on a tie the poll holding every word of the query goes first.
    for ranking in (keyword, [poll_id for poll_id, _ in semantic]):
        for rank, poll_id in enumerate(ranking, start=1):
            fused[poll_id] = fused.get(poll_id, 0.0) + 1.0 / (RRF_K + rank)
    ranked = sorted(fused, key=fused.__getitem__, reverse=True)[: 2 * limit]
    # Public is checked here, not in the index: a poll unlisted or deleted since it was
    # loaded simply drops out.
    found = Poll.objects.public().filter(pk__in=ranked).prefetch_related("tags")
    by_id = {poll.pk: poll for poll in found}
    if index is not None and semantic:
        by_id = _drop_stale(index, [poll_id for poll_id, _ in semantic], by_id, set(keyword))
    results.polls = [by_id[poll_id] for poll_id in ranked if poll_id in by_id][:limit]
    return results


def _drop_stale(index: SharedIndex, hit_ids: list[int], by_id: dict, keyword: set) -> dict:
    """Tombstone shared rows whose poll is gone or is another poll with a reused id."""
    stamps = index.stamps_of(hit_ids)
    existing = dict(Poll.objects.filter(pk__in=hit_ids).values_list("pk", "created_at"))
    stale = {
        poll_id
        for poll_id in hit_ids
        if poll_id not in existing or _stamp(existing[poll_id]) != stamps.get(poll_id)
    }
    if stale:
        with index.locked():
            index.tombstone(stale)
    stale -= keyword  # found by its own words: it is this poll
    return {poll_id: poll for poll_id, poll in by_id.items() if poll_id not in stale}
