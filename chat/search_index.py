"""The search matrix shared by every process of a machine: memory-mapped files.

One folder per database under SEARCH_INDEX_DIR holds a generation of files, each a row per
poll: `f32` (the exact unit vectors), `i8` (the same quantised to int8, 384 bytes), `scale`
(each int8 row's float32 scale), `ids` (the poll, 0 once tombstoned) and `stamp` (the
poll's creation time, so a row left from another database with the same ids is told
apart). Every process maps the same files, so the kernel keeps one copy in its page cache
whatever the number of processes.

A generation starts sorted by k-means cell (`centroids`, `offsets`) once it is large enough
to need one; later changes are appended to an unsorted tail, and a changed or removed
poll's old row is tombstoned in place. Compaction (past a tail or tombstone share) writes a
new generation from the live rows, re-clustered, and points `meta.json` at it.

A search scores the query against the centroids, then the int8 rows of the nearest cells
and of the tail in blocks converted to float32 (the products accumulate in float32, never
in int8), and re-ranks the best candidates exactly from the float32 file.

Writers take an exclusive `flock` on the folder's lock file; readers take none: `meta.json`
is replaced atomically, appended rows are past every reader's row count until the meta
says otherwise, and a tombstone is one aligned 8-byte write.
"""

import contextlib
import fcntl
import json
import mmap
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DIM = 384
BLOCK = 2048  # rows converted to float32 at a time: 3 MiB, stays in cache
RERANK = 100  # candidates re-scored exactly from the float32 file
CELL_MIN_ROWS = 20_000  # below this a flat scan of the int8 rows is fast enough
TRAIN_ROWS = 65_536
KMEANS_ITERATIONS = 8
COMPACT_TAIL_SHARE = 0.1
COMPACT_TAIL_MIN = 5_000
COMPACT_DEAD_SHARE = 0.2

FILES = {"f32": (np.float32, DIM), "i8": (np.int8, DIM), "scale": (np.float32, 1)}
FILES |= {"ids": (np.int64, 1), "stamp": (np.float64, 1)}


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return int8 rows and their float32 scales: row ≈ int8 row * scale."""
    vectors = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, np.float32)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return codes, scale


def int8_scores(codes: np.ndarray, scale: np.ndarray, query: np.ndarray, buffer=None):
    """Approximate cosines of int8 rows with a float32 query, block by block in float32."""
    scores = np.empty(len(codes), dtype=np.float32)
    if buffer is None:
        buffer = np.empty((min(BLOCK, max(1, len(codes))), DIM), dtype=np.float32)
    for start in range(0, len(codes), len(buffer)):
        block = codes[start : start + len(buffer)]
        floats = buffer[: len(block)]
        floats[...] = block  # int8 → float32; the product below sums in float32
        np.dot(floats, query, out=scores[start : start + len(block)])
    scores *= scale
    return scores


def kmeans(sample: np.ndarray, cells: int, *, seed: int = 0) -> np.ndarray:
    """Spherical k-means on unit rows: return `cells` unit centroids."""
    rng = np.random.default_rng(seed)
    centroids = sample[rng.choice(len(sample), size=cells, replace=False)].copy()
    for _ in range(KMEANS_ITERATIONS):
        nearest = assign(sample, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, sample)
        norms = np.linalg.norm(sums, axis=1)
        empty = norms == 0
        sums[empty] = sample[rng.choice(len(sample), size=int(empty.sum()))]
        norms[empty] = 1.0
        centroids = (sums / norms[:, None]).astype(np.float32)
    return centroids


def assign(rows: np.ndarray, centroids: np.ndarray, chunk: int = 16_384) -> np.ndarray:
    nearest = np.empty(len(rows), dtype=np.int64)
    for start in range(0, len(rows), chunk):
        block = np.asarray(rows[start : start + chunk], dtype=np.float32)
        nearest[start : start + len(block)] = np.argmax(block @ centroids.T, axis=1)
    return nearest


@dataclass(frozen=True)
class View:
    """One consistent mapping of a generation: replaced whole, so a search running on one
    thread never mixes the meta of one moment with the maps of another."""

    meta: dict | None = None
    maps: dict = field(default_factory=dict)
    centroids: np.ndarray | None = None
    offsets: np.ndarray | None = None


class SharedIndex:
    """One database's memory-mapped search matrix in `path` (a folder)."""

    def __init__(self, path: Path, *, probes: int = 16):
        self.path = Path(path)
        self.probes = probes
        self.view = View()
        self._local = threading.local()  # each thread's conversion buffer

    @property
    def meta(self) -> dict | None:
        return self.view.meta

    @property
    def maps(self) -> dict:
        return self.view.maps

    def _buffer(self) -> np.ndarray:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = np.empty((BLOCK, DIM), dtype=np.float32)
        return buffer

    # --- files -------------------------------------------------------------------------

    def _file(self, generation: int, name: str) -> Path:
        return self.path / f"g{generation}.{name}"

    def read_meta(self) -> dict | None:
        try:
            return json.loads((self.path / "meta.json").read_text())
        except FileNotFoundError:
            return None

    def _write_meta(self, meta: dict) -> None:
        temporary = self.path / f"meta.json.{os.getpid()}"
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, self.path / "meta.json")

    @contextlib.contextmanager
    def locked(self):
        """Hold the folder's writer lock (one writer at a time across processes)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def open(self) -> bool:
        """Map the current generation (again, if the meta changed); False if there is none."""
        meta = self.read_meta()
        if meta is None:
            self.view = View()
            return False
        if meta == self.view.meta:
            return True
        generation, rows = meta["generation"], meta["rows"]
        maps = {}
        for name, (dtype, width) in FILES.items():
            shape = (rows, width) if width > 1 else (rows,)
            if rows == 0:
                maps[name] = np.zeros(shape, dtype=dtype)
            else:
                maps[name] = np.memmap(
                    self._file(generation, name), dtype=dtype, mode="r", shape=shape
                )
        centroids = offsets = None
        if meta["cells"]:
            centroids = np.fromfile(self._file(generation, "centroids"), dtype=np.float32)
            centroids = centroids.reshape(meta["cells"], DIM)
            offsets = np.fromfile(self._file(generation, "offsets"), dtype=np.int64)
        self.view = View(meta, maps, centroids, offsets)
        return True

    def __len__(self) -> int:
        return int(self.meta["rows"] - self.meta["dead"]) if self.meta else 0

    # --- reads -------------------------------------------------------------------------

    def _ranges(self, view: View, query: np.ndarray) -> list[tuple[int, int]]:
        meta = view.meta
        if view.centroids is None:
            return [(0, meta["rows"])]
        probes = min(self.probes, len(view.centroids))
        near = np.argpartition(-(view.centroids @ query), probes - 1)[:probes]
        ranges = [(int(view.offsets[cell]), int(view.offsets[cell + 1])) for cell in near]
        ranges.append((meta["sorted"], meta["rows"]))
        return [(start, end) for start, end in ranges if end > start]

    def search(
        self, query: np.ndarray, *, k: int, only: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """Return up to k (poll id, cosine) pairs, best first, optionally among `only`."""
        view = self.view
        if not view.meta or not view.meta["rows"]:
            return []
        query = np.asarray(query, dtype=np.float32)
        ids, codes, scale = view.maps["ids"], view.maps["i8"], view.maps["scale"]
        if only is not None:
            # A filter can keep polls of any cell: score exactly the rows it keeps.
            wanted = np.fromiter(only, dtype=np.int64, count=len(only))
            rows = np.flatnonzero(np.isin(ids, wanted))
            scores = int8_scores(codes[rows], scale[rows], query)
        else:
            parts = self._ranges(view, query)
            buffer = self._buffer()
            rows = np.concatenate([np.arange(start, end) for start, end in parts])
            scores = np.concatenate(
                [
                    int8_scores(codes[start:end], scale[start:end], query, buffer)
                    for start, end in parts
                ]
            )
        live = ids[rows] != 0
        rows, scores = rows[live], scores[live]
        if not len(rows):
            return []
        keep = max(RERANK, 2 * k)
        if len(rows) > keep:
            best = np.argpartition(-scores, keep - 1)[:keep]
            rows = rows[best]
        rows.sort()  # the float32 rows are read in file order
        vectors = view.maps["f32"]
        exact = np.asarray(vectors[rows]) @ query
        if isinstance(vectors, np.memmap):
            # The pages stay in the page cache, out of this process's mapping: a few rows
            # per search would otherwise add up to the whole float32 file in every process.
            vectors._mmap.madvise(mmap.MADV_DONTNEED)
        top = np.argsort(-exact, kind="stable")[:k]
        return list(zip(ids[rows[top]].tolist(), exact[top].tolist(), strict=True))

    def stamps_of(self, poll_ids) -> dict[int, float]:
        """The creation stamps the live rows of these polls were written with."""
        view = self.view
        if not view.meta or not view.meta["rows"]:
            return {}
        ids = view.maps["ids"]
        rows = np.flatnonzero(np.isin(ids, np.asarray(list(poll_ids), dtype=np.int64)))
        return dict(zip(ids[rows].tolist(), view.maps["stamp"][rows].tolist(), strict=True))

    def live_rows(self, poll_ids) -> dict[int, int]:
        """The live row of each of these polls that has one."""
        if not self.meta or not self.meta["rows"]:
            return {}
        ids = self.maps["ids"]
        rows = np.flatnonzero(np.isin(ids, np.asarray(list(poll_ids), dtype=np.int64)))
        return dict(zip(ids[rows].tolist(), rows.tolist(), strict=True))

    def same_row(self, row: int, stamp: float, vector: np.ndarray) -> bool:
        return self.maps["stamp"][row] == stamp and np.array_equal(self.maps["f32"][row], vector)

    # --- writes (hold locked()) --------------------------------------------------------

    def rebuild(self, ids, stamps, vectors, *, extra: dict | None = None) -> None:
        """Write a new generation holding exactly these rows, clustered if large enough."""
        self.path.mkdir(parents=True, exist_ok=True)
        old = self.read_meta()
        generation = (old["generation"] + 1) if old else 1
        ids = np.asarray(ids, dtype=np.int64)
        rows = len(ids)
        cells = int(np.sqrt(rows)) if rows >= CELL_MIN_ROWS else 0
        order = np.arange(rows)
        if cells:
            rng = np.random.default_rng(0)
            sample = np.sort(rng.choice(rows, size=min(rows, TRAIN_ROWS), replace=False))
            centroids = kmeans(np.asarray(vectors[sample], dtype=np.float32), cells)
            nearest = assign(vectors, centroids)
            order = np.argsort(nearest, kind="stable")
            counts = np.bincount(nearest, minlength=cells)
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            centroids.tofile(self._file(generation, "centroids"))
            offsets.tofile(self._file(generation, "offsets"))
        stamps = np.asarray(stamps, dtype=np.float64)
        with contextlib.ExitStack() as files:
            handles = {
                name: files.enter_context(open(self._file(generation, name), "wb"))
                for name in FILES
            }
            for start in range(0, rows, 65_536):
                chosen = order[start : start + 65_536]
                block = np.asarray(vectors[chosen], dtype=np.float32)
                codes, scale = quantise(block)
                handles["f32"].write(block.tobytes())
                handles["i8"].write(codes.tobytes())
                handles["scale"].write(scale.tobytes())
                handles["ids"].write(ids[chosen].tobytes())
                handles["stamp"].write(stamps[chosen].tobytes())
        meta = {**(old or {}), **(extra or {})}
        meta |= {"generation": generation, "rows": rows, "sorted": rows, "cells": cells, "dead": 0}
        self._write_meta(meta)
        self._drop_generations_before(generation - 1)

    def _drop_generations_before(self, generation: int) -> None:
        # The previous generation stays: a reader may have read the old meta a moment ago.
        for path in self.path.glob("g*.*"):
            number = path.name[1:].split(".", 1)[0]
            if number.isdigit() and int(number) < generation:
                path.unlink(missing_ok=True)

    def tombstone(self, poll_ids) -> int:
        """Mark every live row of these polls dead; return how many rows."""
        meta = self.read_meta()
        if not meta or not meta["rows"]:
            return 0
        ids = np.memmap(
            self._file(meta["generation"], "ids"), dtype=np.int64, mode="r+", shape=meta["rows"]
        )
        rows = np.flatnonzero(np.isin(ids, np.asarray(list(poll_ids), dtype=np.int64)))
        ids[rows] = 0
        ids.flush()
        del ids
        if len(rows):
            meta["dead"] += len(rows)
            self._write_meta(meta)
        return len(rows)

    def append(self, ids, stamps, vectors) -> None:
        """Add rows at the tail (after tombstoning the polls' old rows)."""
        meta = self.read_meta()
        if meta is None or not meta["rows"]:
            self.rebuild(ids, stamps, vectors)
            return
        self.tombstone(ids)
        meta = self.read_meta()
        vectors = np.asarray(vectors, dtype=np.float32)
        codes, scale = quantise(vectors)
        columns = {
            "f32": vectors,
            "i8": codes,
            "scale": scale,
            "ids": np.asarray(ids, dtype=np.int64),
            "stamp": np.asarray(stamps, dtype=np.float64),
        }
        for name, (dtype, width) in FILES.items():
            size = np.dtype(dtype).itemsize * width
            # At the meta's row count, not the file's end: a write cut short earlier is
            # overwritten rather than left inside the live rows.
            with open(self._file(meta["generation"], name), "r+b") as handle:
                handle.truncate(meta["rows"] * size)
                handle.seek(meta["rows"] * size)
                handle.write(np.ascontiguousarray(columns[name], dtype=dtype).tobytes())
        meta["rows"] += len(vectors)
        self._write_meta(meta)

    def needs_compaction(self) -> bool:
        meta = self.read_meta()
        if not meta or not meta["rows"]:
            return False
        tail = meta["rows"] - meta["sorted"]
        tail_limit = max(COMPACT_TAIL_MIN, COMPACT_TAIL_SHARE * meta["sorted"])
        crosses = meta["cells"] == 0 and meta["rows"] - meta["dead"] >= CELL_MIN_ROWS
        return tail > tail_limit or meta["dead"] > COMPACT_DEAD_SHARE * meta["rows"] or crosses

    def compact(self, keep=None) -> None:
        """Rewrite the live rows (those `keep(ids, stamps)` accepts, if given) as a new
        generation."""
        if not self.open():
            return
        ids, stamps = np.asarray(self.maps["ids"]), np.asarray(self.maps["stamp"])
        live = ids != 0
        if keep is not None:
            live &= keep(ids, stamps)
        rows = np.flatnonzero(live)
        self.rebuild(ids[rows], stamps[rows], _Rows(self.maps["f32"], rows))

    def update_meta(self, **values) -> None:
        meta = self.read_meta() or {
            "generation": 0,
            "rows": 0,
            "sorted": 0,
            "cells": 0,
            "dead": 0,
        }
        meta.update(values)
        self.path.mkdir(parents=True, exist_ok=True)
        self._write_meta(meta)

    def destroy(self) -> None:
        """Remove every file (the next search rebuilds from the database)."""
        with self.locked():
            for path in self.path.glob("*"):
                if path.name != "lock":
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink(missing_ok=True)
        self.view = View()


class _Rows:
    """Rows of a memory-mapped matrix picked by index, read a slice at a time."""

    def __init__(self, matrix, rows):
        self.matrix, self.rows = matrix, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return np.asarray(self.matrix[self.rows[index]])
