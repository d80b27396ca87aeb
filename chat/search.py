"""Semantic search over listed polls, with a keyword fallback and a topic-tag filter.

Each process keeps one normalized float32 matrix with a row per poll, so a query is one
matrix-vector product and a top-k with argpartition. A poll's row is its question
snippet weighted twice the mean of its option snippets, made unit length again: the
question says what the poll is about, the options add the words people search with
("pepperoni" finds a pizza poll) without letting a long list of options drown it.

Processes learn of changes through a version token in the shared cache, replaced after
every commit that changes snippets; a process that sees a new token reloads only the polls
whose snippets changed since its last load.
"""

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from chat import embeddings
from chat.models import EMBEDDING_DIM, PollTag, Snippet
from polls.models import Poll
from polls.selectors import poll_keyword_search

logger = logging.getLogger(__name__)

VERSION_KEY = "chat:search:version"
QUESTION_WEIGHT = 2.0
# Cosine below this is noise for MiniLM on short texts; such hits are not shown.
MIN_SCORE = 0.3
# A poll that contains every word of the query ranks above any purely semantic hit.
KEYWORD_BONUS = 0.5
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
        rows = snippets.order_by("poll_id").values_list("poll_id", "kind", "vector")
        poll_ids, vectors = [], []
        current, question, options = None, None, []
        for poll_id, kind, vector in rows.iterator(chunk_size=2000):
            if poll_id != current:
                if current is not None:
                    poll_ids.append(current)
                    vectors.append(combine(question, options))
                current, question, options = poll_id, None, []
            array = np.frombuffer(vector, dtype="<f4")
            if kind == Snippet.Kind.POLL:
                question = array
            else:
                options.append(array)
        if current is not None:
            poll_ids.append(current)
            vectors.append(combine(question, options))
        if poll_ids:
            self.upsert(poll_ids, np.vstack(vectors))


_index = PollIndex()
_index_lock = threading.Lock()


def poll_index() -> PollIndex:
    """Return this process's index, brought up to date."""
    with _index_lock:
        _index.refresh()
    return _index


def reset_index() -> None:
    """Forget every row: the next search reloads all polls."""
    global _index
    with _index_lock:
        _index = PollIndex()


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
                Poll.objects.filter(pk__in=tagged, listed=True)
                .prefetch_related("tags")
                .order_by("-created_at")[:limit]
            )
        return results

    scores: dict[int, float] = {}
    if model_ready():
        index = poll_index()
        vector = embeddings.embed([query])[0]
        for poll_id, score in index.search(vector, k=2 * limit, only=tagged):
            if score >= MIN_SCORE:
                scores[poll_id] = score
    else:
        warm_up_in_background()
        results.warming_up = True
    for poll in poll_keyword_search(query=query, limit=limit):
        if tagged is None or poll.pk in tagged:
            scores[poll.pk] = scores.get(poll.pk, 0.0) + KEYWORD_BONUS

    ranked = sorted(scores, key=scores.__getitem__, reverse=True)[: 2 * limit]
    # Listed is checked here, not in the index: a poll unlisted or deleted since it was
    # loaded simply drops out.
    found = Poll.objects.filter(pk__in=ranked, listed=True).prefetch_related("tags")
    by_id = {poll.pk: poll for poll in found}
    results.polls = [by_id[poll_id] for poll_id in ranked if poll_id in by_id][:limit]
    return results
