"""Semantic search benchmark: latency of one query over 100,000 poll vectors.

    .venv/bin/python bench/search.py [--rows 100000] [--queries 300] [--k 40]

Fills chat.search.PollIndex (the same class the site searches with) with random unit
vectors of 384 dims and times PollIndex.search for random unit queries: the matrix-vector
product, argpartition top-k and the sort of the k best. For comparison it also times the
bare product (NumPy's floor) and a search restricted to one topic's polls (a tag filter,
10% of the rows). Embedding the query is not included: bench/embed.py measures the model.
No database or model is needed.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from chat.models import EMBEDDING_DIM  # noqa: E402
from chat.search import PollIndex  # noqa: E402


def unit_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    rows = rng.standard_normal((count, EMBEDDING_DIM)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms   max {ordered[-1]:6.2f} ms"
    )


def timed(function, queries: np.ndarray) -> list[float]:
    for query in queries[:10]:  # warm caches and BLAS threads
        function(query)
    samples = []
    for query in queries:
        started = time.perf_counter()
        function(query)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="poll vectors (100000)")
    parser.add_argument("--queries", type=int, default=300, help="timed queries (300)")
    parser.add_argument("--k", type=int, default=40, help="top-k (40: 2 x a page of 20)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(42)
    index = PollIndex()
    started = time.perf_counter()
    index.upsert(list(range(1, args.rows + 1)), unit_rows(rng, args.rows))
    load_ms = (time.perf_counter() - started) * 1000
    queries = unit_rows(rng, args.queries)
    tagged = set(rng.choice(np.arange(1, args.rows + 1), size=args.rows // 10, replace=False))
    matrix = index.matrix[: index.size]

    print(f"{args.rows} x {EMBEDDING_DIM} float32 ({matrix.nbytes / 2**20:.0f} MiB), loaded in")
    print(f"{load_ms:.0f} ms; {args.queries} queries, top-{args.k}; numpy {np.__version__}")
    print(
        "search (product + argpartition + sort):",
        percentiles(timed(lambda q: index.search(q, k=args.k), queries)),
    )
    print(
        "bare product, NumPy's floor:           ", percentiles(timed(lambda q: matrix @ q, queries))
    )
    print(
        "search among 10% (a tag filter):       ",
        percentiles(timed(lambda q: index.search(q, k=args.k, only=tagged), queries)),
    )


if __name__ == "__main__":
    main()
