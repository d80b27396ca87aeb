"""Semantic search benchmark: the shared memory-mapped index, and the process-local matrix.

    .venv/bin/python bench/search.py --rows 1000000 [--queries 300] [--probes 32] [--processes 2]
    .venv/bin/python bench/search.py --local [--rows 100000] [--queries 300] [--k 40]

Shared (the default): builds chat.search_index.SharedIndex in a temporary folder from
synthetic unit vectors shaped like sentence embeddings (topics of subtopics, noise on top),
then starts --processes server-like processes one after the other (each sets Django up,
maps the index with OPENBLAS_NUM_THREADS=1, i.e. one core, and times --queries searches of
top-40, as /search asks). With all of them still alive it reads each one's
/proc/<pid>/smaps_rollup and prints PSS per process and summed; overlap@10 is against exact
float32 search over every row, computed by this process. Everything stops by itself: each
step has a timeout and the folder is removed at the end.

--local fills chat.search.PollIndex (what /search uses where the shared files are off)
with random unit vectors of 384 dims and times PollIndex.search for random unit queries:
the matrix-vector product, argpartition top-k and the sort of the k best. For comparison
it also times the bare product (NumPy's floor) and a search restricted to one topic's
polls (a tag filter, 10% of the rows). Embedding the query is not included: bench/embed.py
measures the model. No database or model is needed.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from chat.models import EMBEDDING_DIM  # noqa: E402
from chat.search import PollIndex  # noqa: E402
from chat.search_index import SharedIndex  # noqa: E402

STEP_TIMEOUT = 600  # seconds any worker step may take before the benchmark gives up


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


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


class Embeddings:
    """Synthetic unit vectors shaped like sentence embeddings: 256 broad topics of 32
    subtopics each, every vector its subtopic plus noise (cosine ≈ 0.55 to it)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        broad = unit(rng.standard_normal((256, EMBEDDING_DIM)))
        noise = rng.standard_normal((256 * 32, EMBEDDING_DIM)) / np.sqrt(EMBEDDING_DIM)
        self.subtopics = unit(np.repeat(broad, 32, axis=0) + 0.9 * noise)

    def sample(self, count: int) -> np.ndarray:
        out = np.empty((count, EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, count, 100_000):
            which = self.rng.integers(0, len(self.subtopics), min(100_000, count - start))
            noise = self.rng.standard_normal((len(which), EMBEDDING_DIM)).astype(np.float32)
            out[start : start + len(which)] = unit(
                self.subtopics[which] + 1.5 * noise / np.sqrt(EMBEDDING_DIM)
            )
        return out


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int = 10) -> list[set[int]]:
    """Exact float32 top-k ids (row + 1) of each query, over every row."""
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(matrix), 100_000):
        scores = (matrix[start : start + 100_000] @ queries.T).T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_ids = np.hstack([best_ids, top + start + 1])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        keep = np.argsort(-best_scores, axis=1)[:, :k]
        best_ids = np.take_along_axis(best_ids, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return [set(row.tolist()) for row in best_ids]


def smaps(pid: int) -> dict[str, int]:
    """Fields of /proc/<pid>/smaps_rollup, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields


def worker(folder: str, queries_file: str, probes: int, k: int) -> None:
    """One server-like process: map the index, time the queries, report, wait to be let go."""
    queries = np.load(queries_file)
    baseline = smaps(os.getpid())["Pss"]
    index = SharedIndex(Path(folder), probes=probes)
    for query in queries[:10]:
        index.open()
        index.search(query, k=k)
    samples, tops = [], []
    for query in queries:
        started = time.perf_counter()
        index.open()  # as a request does: re-read the meta, remap only if it changed
        hits = index.search(query, k=k)
        samples.append((time.perf_counter() - started) * 1000)
        tops.append([poll_id for poll_id, _ in hits[:10]])
    print(json.dumps({"samples": samples, "tops": tops, "baseline": baseline}), flush=True)
    sys.stdin.readline()


def shared(args) -> None:
    rng = np.random.default_rng(42)
    generator = Embeddings(rng)
    folder = Path(tempfile.mkdtemp(prefix="tally-bench-search-"))
    try:
        started = time.perf_counter()
        matrix = generator.sample(args.rows)
        # Each process asks its own queries, as two servers behind one proxy would.
        queries = generator.sample(args.queries * args.processes)
        made_s = time.perf_counter() - started
        started = time.perf_counter()
        index = SharedIndex(folder)
        index.rebuild(np.arange(1, args.rows + 1), np.zeros(args.rows), matrix)
        build_s = time.perf_counter() - started
        expected = exact_top(matrix, queries)
        del matrix
        meta = index.read_meta()
        print(f"{args.rows} rows x {EMBEDDING_DIM}, synthetic (made in {made_s:.0f} s); index")
        print(f"built in {build_s:.0f} s: {meta['cells']} k-means cells, int8 file")
        print(f"{(folder / 'g1.i8').stat().st_size / 2**20:.0f} MiB, float32 file")
        print(f"{(folder / 'g1.f32').stat().st_size / 2**20:.0f} MiB; probes {args.probes},")
        print(f"top-{args.k}, {args.queries} queries per process, numpy {np.__version__}")
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        processes, reports = [], []
        try:
            for number in range(args.processes):
                queries_file = folder / f"queries-{number}.npy"
                np.save(queries_file, queries[number * args.queries : (number + 1) * args.queries])
                process = subprocess.Popen(
                    [
                        *(sys.executable, __file__, "--worker", str(folder), str(queries_file)),
                        *("--probes", str(args.probes), "--k", str(args.k)),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=environment,
                )
                processes.append(process)
                reports.append(json.loads(process.stdout.readline()))
            memory = [smaps(process.pid) for process in processes]
        finally:
            for process in processes:
                process.stdin.close()
                process.wait(timeout=STEP_TIMEOUT)
                process.stdout.close()
        for number, (report, fields) in enumerate(zip(reports, memory, strict=True), start=1):
            wanted = expected[(number - 1) * args.queries : number * args.queries]
            overlap = np.mean(
                [
                    len(set(top) & want) / 10
                    for top, want in zip(report["tops"], wanted, strict=True)
                ]
            )
            print(
                f"process {number}: {percentiles(report['samples'])}   overlap@10 {overlap:.4f}"
                f"   PSS {fields['Pss'] / 1024:.0f} MiB (anon {fields['Pss_Anon'] / 1024:.0f},"
                f" file {fields['Pss_File'] / 1024:.0f}), RSS {fields['Rss'] / 1024:.0f} MiB"
            )
        total = sum(fields["Pss"] for fields in memory) / 1024
        added = sum(f["Pss"] - r["baseline"] for f, r in zip(memory, reports, strict=True)) / 1024
        print(f"PSS summed over the {args.processes} processes: {total:.0f} MiB, of which")
        print(f"{added:.0f} MiB came with the index and its searches (the rest is Django's)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="poll vectors (100000)")
    parser.add_argument("--queries", type=int, default=300, help="timed queries (300)")
    parser.add_argument("--k", type=int, default=40, help="top-k (40: 2 x a page of 20)")
    parser.add_argument("--probes", type=int, default=16, help="k-means cells scanned (16)")
    parser.add_argument("--processes", type=int, default=2, help="server processes (2)")
    parser.add_argument("--local", action="store_true", help="the process-local matrix")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, probes=args.probes, k=args.k)
    elif args.local:
        local(args)
    else:
        shared(args)


def local(args) -> None:
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
