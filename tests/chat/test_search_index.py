"""The shared, memory-mapped search index: same answers as exact search, kept current
incrementally, one copy for every process, int8 sums that cannot overflow."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chat import search, search_index
from chat.search_index import DIM, SharedIndex, int8_scores, quantise

ROOT = Path(__file__).resolve().parents[2]


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def clustered(rng: np.random.Generator, count: int, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around topic centres, as sentence embeddings of many polls are."""
    which = rng.integers(0, len(centres), count)
    noise = rng.standard_normal((count, DIM)).astype(np.float32) / np.sqrt(DIM)
    return unit(centres[which] + 1.5 * noise)


def exact_top(matrix: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return (np.argsort(-(matrix @ query), kind="stable")[:k] + 1).tolist()


def test_small_index_returns_exact_top_results(tmp_path):
    """Below the size that needs cells, the top 10 and their cosines are exact search's."""
    rng = np.random.default_rng(1)
    matrix = unit(rng.standard_normal((500, DIM)))
    index = SharedIndex(tmp_path)
    index.rebuild(np.arange(1, 501), np.zeros(500), matrix)
    assert index.open()
    assert index.meta["cells"] == 0
    for query in unit(rng.standard_normal((20, DIM))):
        hits = index.search(query, k=10)
        assert [poll_id for poll_id, _ in hits] == exact_top(matrix, query, 10)
        expected = sorted((matrix @ query).tolist(), reverse=True)[:10]
        assert [score for _, score in hits] == pytest.approx(expected, abs=1e-5)


def test_celled_index_agrees_with_exact_search(tmp_path, capsys):
    """With k-means cells (30,000 rows), the top 10 overlap exact float32 search ≥ 0.99."""
    rng = np.random.default_rng(2)
    centres = unit(rng.standard_normal((300, DIM)))
    matrix = clustered(rng, 30_000, centres)
    index = SharedIndex(tmp_path, probes=16)
    index.rebuild(np.arange(1, 30_001), np.zeros(30_000), matrix)
    assert index.open()
    assert index.meta["cells"] > 1
    overlaps = []
    for query in clustered(rng, 100, centres):
        found = {poll_id for poll_id, _ in index.search(query, k=10)}
        overlaps.append(len(found & set(exact_top(matrix, query, 10))) / 10)
    with capsys.disabled():
        print(
            f"\n30,000 rows, {index.meta['cells']} cells: mean overlap@10 {np.mean(overlaps):.3f}"
        )
    assert np.mean(overlaps) >= 0.99


def test_appends_and_tombstones_without_a_rebuild(tmp_path):
    """A new row is found, a replaced one answers with its new vector, a removed one never."""
    rng = np.random.default_rng(3)
    matrix = unit(rng.standard_normal((200, DIM)))
    index = SharedIndex(tmp_path)
    index.rebuild(np.arange(1, 201), np.zeros(200), matrix)
    generation = index.read_meta()["generation"]

    new = unit(rng.standard_normal(DIM))
    index.append([201], [0.0], new[None, :])
    replaced = unit(rng.standard_normal(DIM))
    index.append([7], [0.0], replaced[None, :])
    index.tombstone([9])
    index.open()

    assert index.search(new, k=1)[0][0] == 201
    assert index.search(replaced, k=1)[0][0] == 7
    assert index.search(matrix[6], k=1)[0][0] != 7  # its old row is dead
    assert 9 not in {poll_id for poll_id, _ in index.search(matrix[8], k=50)}
    assert index.read_meta()["generation"] == generation
    assert len(index) == 200


def test_compaction_keeps_exactly_the_live_rows(tmp_path):
    rng = np.random.default_rng(4)
    matrix = unit(rng.standard_normal((100, DIM)))
    index = SharedIndex(tmp_path)
    index.rebuild(np.arange(1, 101), np.zeros(100), matrix)
    index.tombstone(range(1, 31))
    index.compact()
    index.open()
    assert index.meta["rows"] == 70
    assert index.meta["dead"] == 0
    assert index.search(matrix[50], k=1)[0][0] == 51
    assert not (set(range(1, 31)) & {i for i, _ in index.search(matrix[0], k=100)})


WORKER = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from chat.search_index import SharedIndex
index = SharedIndex(sys.argv[2])
for line in sys.stdin:
    index.open()
    query = np.asarray(json.loads(line), dtype=np.float32)
    print(json.dumps(index.search(query, k=5)), flush=True)
"""


def test_two_processes_see_the_same_index(tmp_path):
    """Another process maps the same files: same answers, and it sees this one's appends."""
    rng = np.random.default_rng(5)
    matrix = unit(rng.standard_normal((300, DIM)))
    index = SharedIndex(tmp_path)
    index.rebuild(np.arange(1, 301), np.zeros(300), matrix)
    index.open()
    other = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(ROOT), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def ask(query):
            other.stdin.write(json.dumps(query.tolist()) + "\n")
            other.stdin.flush()
            return [(poll_id, score) for poll_id, score in json.loads(other.stdout.readline())]

        query = matrix[41]
        theirs = ask(query)
        assert [i for i, _ in theirs] == [i for i, _ in index.search(query, k=5)]
        assert theirs[0][0] == 42

        new = unit(rng.standard_normal(DIM))
        index.append([301], [0.0], new[None, :])
        assert ask(new)[0][0] == 301
        index.tombstone([42])
        assert 42 not in [i for i, _ in ask(query)]
    finally:
        other.stdin.close()
        other.wait(timeout=30)
        other.stdout.close()


ADVERSARIAL = {
    "all at the peak": np.ones(DIM),
    "alternating signs": np.where(np.arange(DIM) % 2, 1.0, -1.0),
    "two levels": np.where(np.arange(DIM) < DIM // 2, 1.0, -0.5),
    "all negative": -np.ones(DIM),
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_int8_scores_do_not_overflow(name):
    """Rows whose codes are all ±127 sum to 384 x 127^2 in a product: far past int8 (and
    int16); the blocks add in float32, so the score still matches the exact cosine."""
    row = unit(ADVERSARIAL[name][None, :].astype(np.float32))
    rows = np.vstack([row, -row, unit(np.ones((1, DIM)))])
    codes, scale = quantise(rows)
    for query in rows:
        assert int8_scores(codes, scale, query) == pytest.approx(rows @ query, abs=0.01)
    assert np.abs(codes.astype(np.int64) @ codes[0].astype(np.int64)).max() > 2**15


def test_int8_scores_over_many_blocks_match():
    rng = np.random.default_rng(6)
    rows = unit(rng.standard_normal((3 * search_index.BLOCK + 5, DIM)))
    codes, scale = quantise(rows)
    query = rows[-1]
    assert int8_scores(codes, scale, query) == pytest.approx(rows @ query, abs=0.01)


def test_process_local_matrix_when_shared_files_are_off(settings, db):
    settings.SEARCH_INDEX_DIR = ""
    assert search.shared_index() is None
