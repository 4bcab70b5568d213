"""`tune`: build a collection's index under a grid of settings and measure each on the same queries.

The collection is copied into scratch collections, one per build (HNSW m,
ef_construct, quantization), each built at once whatever its size: in a
scratch store in a scratch folder (`media/scratch.py`) where the engine keeps its vectors on this
machine (Qdrant Edge), else beside the collection on its server, dropped
after. Every setting answers the same queries (every point, or a seeded sample
of them), each a stored vector asked for k + 1 hits with itself then left out:
all in batches for the figures, and the first TIMED of them again one at a
time for the latency (p50, p95 of one query through the store). The reference is exact
search on the collection itself: recall@k is the share of its top k that a
setting finds, and mAP@k (with the collection's labels) is set beside the
exact top k's. The frontier and the recommendation are `tune.frontier`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from errors import EvaluationError
from media.scratch import ScratchFolder
from store import ImagePayload, Points, VectorStore, open_store
from store.provenance import now
from store.top_k_positions import TopKScorer
from tune.findings import Memory, TuneResult, TuneRow
from tune.frontier import TOLERANCE, pareto, recommend
from tune.settings_grid import Build, TuneSetting, grid
from tune.top_k_lists import percentile_ms, positions_of, recall_at_k

Progress = Callable[[int, int], None]  # (steps done, steps in all)
Quality = Callable[[list[ImagePayload]], TopKScorer | None]  # the points' labels -> their scorer, None without
PAGE = 1024
BATCH = 256  # queries a call for the figures
WARM_UP = 20  # untimed queries before each setting's timed ones
TIMED = 1000  # queries timed one at a time (the first of the queries, the same for every setting)
SETTLE_S = 30.0  # a server's background indexing: give up after this long without progress


@dataclass(frozen=True)
class TuneOptions:
    """What `tune` measures: top `k`, on `sample` seeded stored points (None: all), over grid `grid`;
    `quality` scores a top-k list by the collection's labels (the evaluation's AP@k, handed in by the command)."""

    k: int = 10
    sample: int | None = None
    seed: int = 0
    grid: str = "small"
    tolerance: float = TOLERANCE
    settle_s: float = SETTLE_S
    quality: Quality | None = None


def check_tunable(store: VectorStore, name: str) -> None:
    """Refuse an engine without index settings (exact search only) in one line saying what to do."""
    store.require(name)
    if not store.capabilities.index_settings:
        raise EvaluationError(
            f"collection '{name}' is in {store.location}, whose engine searches exactly and takes no index "
            f"settings; move the store to Qdrant Edge with `python cli.py store migrate`, or tune on a server "
            f"(--qdrant-url)"
        )


def tune_collection(
    store: VectorStore, name: str, options: TuneOptions, *, progress: Progress | None = None, command: str = ""
) -> TuneResult:
    """Measure every setting of `options.grid` on collection `name`; see the module's docstring."""
    started = time.perf_counter()
    check_tunable(store, name)
    info = store.info(name)
    points = store.points(name, with_vectors=True)
    if len(points.ids) <= options.k:
        raise EvaluationError(f"collection '{name}' has {len(points.ids)} points; tune needs more than k={options.k}")
    queries = _queries(len(points.ids), options)
    settings = grid(options.grid)
    builds = list(dict.fromkeys(setting.build for setting in settings))
    steps = iter(range(1, 2 + len(builds) + len(settings)))

    def step() -> None:
        if progress:
            progress(next(steps), 1 + len(builds) + len(settings))

    measure = _Measure(points, queries, options.k, quality=options.quality)
    exact = measure.row(
        store, name, None, exact=True, memory=_exact_memory(store, name, info.dim, points=len(points.ids))
    )
    step()
    rows: list[TuneRow] = []
    server = not store.capabilities.local_vectors
    with _scratch(store, name) as (target, prefix):
        for number, build in enumerate(builds):
            scratch = f"{prefix}{number}"
            build_s, indexed = _build(target, scratch, build, points=points, info=info, settle_s=options.settle_s)
            memory = _memory(target, scratch, info.dim, points=len(points.ids), build=build)
            step()
            for setting in (s for s in settings if s.build == build):
                row = measure.row(target, scratch, setting, exact=False, memory=memory)
                row.build_s, row.indexed = build_s, indexed
                rows.append(row)
                step()
            target.drop(scratch)
    quality = np.array([row.recall for row in rows])
    latency = np.array([row.p50_ms for row in rows])
    ram = np.array([row.memory.ram for row in rows])
    for row, on_frontier in zip(rows, pareto(quality, latency, ram), strict=True):
        row.frontier = bool(on_frontier)
    result = TuneResult(
        name,
        store.location,
        info,
        options.k,
        len(queries),
        options.sample,
        options.seed,
        options.grid,
        exact,
        rows,
        recommend(quality, latency, ram, tolerance=options.tolerance),
        server,
        timed=min(len(queries), TIMED),
        command=command,
        created=now(),
    )
    result.notes += _notes(result, rows, len(points.ids))
    result.seconds = time.perf_counter() - started
    return result


def _queries(n: int, options: TuneOptions) -> np.ndarray:
    """Every position, or `sample` of them drawn with `seed` (in dataset order)."""
    if options.sample is None or options.sample >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(options.seed).choice(n, size=options.sample, replace=False))


class _Measure:
    """The queries, the exact top k they are compared with, and the labels AP@k uses."""

    def __init__(self, points: Points, queries: np.ndarray, k: int, *, quality: Quality | None) -> None:
        self.points, self.queries, self.k = points, queries, k
        self.vectors = points.vectors[queries]
        self.own = [points.ids[q] for q in queries]
        self.position = {point: i for i, point in enumerate(points.ids)}
        self.scorer = quality(points.payloads) if quality else None
        self.exact_order: np.ndarray | None = None

    def row(
        self, store: VectorStore, name: str, setting: TuneSetting | None, *, exact: bool, memory: Memory
    ) -> TuneRow:
        """Every query in batches for the figures; up to TIMED of them one at a time (after a few untimed)
        for the latency."""
        search = setting.search if setting else None
        hits = []
        for first in range(0, len(self.vectors), BATCH):
            batch = list(self.vectors[first : first + BATCH])
            hits += [ids for ids, _ in store.query_many(name, batch, self.k + 1, exact=exact, search=search)]
        for vector in self.vectors[:WARM_UP]:
            store.query_many(name, [vector], self.k + 1, exact=exact, search=search)
        seconds = []
        for vector in self.vectors[:TIMED]:
            start = time.perf_counter()
            store.query_many(name, [vector], self.k + 1, exact=exact, search=search)
            seconds.append(time.perf_counter() - start)
        order = positions_of(hits, self.position, self.k, leave_out=self.own)
        if self.exact_order is None:
            self.exact_order = order
        recall = float(np.nanmean(recall_at_k(self.exact_order, order)))
        map_k = _mean(self.scorer(order, self.queries, self.k)) if self.scorer else None
        return TuneRow(setting, recall, map_k, percentile_ms(seconds, 50), percentile_ms(seconds, 95), memory)


def _mean(values: np.ndarray) -> float | None:
    """The mean of the defined values; None where no query has one (no class has two members)."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if len(kept) else None


@contextmanager
def _scratch(store: VectorStore, name: str) -> Iterator[tuple[VectorStore, str]]:
    """Where scratch collections go, and their name prefix: a store in a scratch folder when the vectors
    are on this machine (one a killed tune left is removed by the next), else the collection's own server
    (scratch collections dropped after)."""
    if store.capabilities.local_vectors:
        with ScratchFolder("tune-") as folder:
            scratch = open_store(path=folder.path / "store")
            try:
                yield scratch, "tune-"
            finally:
                scratch.close()
        return
    prefix = f"{name}-tune-"
    try:
        yield store, prefix
    finally:
        for left in [c for c in store.collection_names() if c.startswith(prefix)]:
            store.drop(left)


def _build(
    target: VectorStore, scratch: str, build: Build, *, points: Points, info, settle_s: float
) -> tuple[float, int]:
    """Load the points into a new collection built with `build` and wait for its index: (seconds, points indexed)."""
    settings = build.index_settings()
    target.ensure_collection(scratch, info.dim, recreate=True, settings=settings, provenance=info.provenance)
    start = time.perf_counter()
    with target.bulk_load(scratch, settings) as loader:
        for first in range(0, len(points.ids), PAGE):
            end = first + PAGE
            loader.add(points.ids[first:end], points.vectors[first:end], points.payloads[first:end])
    target.build_index(scratch, force=True)
    indexed = _settled(target, scratch, len(points.ids), settle_s=settle_s)
    return time.perf_counter() - start, indexed


def _settled(target: VectorStore, scratch: str, points: int, *, settle_s: float) -> int:
    """Points in the graph once it covers them all, or once `settle_s` passed without progress (a server
    indexes in the background; an engine that builds on request is done already)."""
    indexed, last_change = target.index_status(scratch).indexed, time.monotonic()
    while indexed < points and time.monotonic() - last_change < settle_s:
        time.sleep(0.2)
        now_indexed = target.index_status(scratch).indexed
        if now_indexed != indexed:
            indexed, last_change = now_indexed, time.monotonic()
    return indexed


def _memory(target: VectorStore, scratch: str, dim: int, *, points: int, build: Build) -> Memory:
    """Bytes a point from the scratch collection's files where readable, else Qdrant's formula."""
    footprint = target.footprint(scratch)
    if footprint is None:
        return Memory.formula(dim, build)
    return Memory(
        footprint.vectors / points, footprint.index / points, footprint.quantized / points, "disk", build.quantized
    )


def _exact_memory(store: VectorStore, name: str, dim: int, *, points: int) -> Memory:
    """Exact search keeps only the vectors: the collection's own vector files, else 4 bytes a dimension."""
    footprint = store.footprint(name)
    if footprint is None:
        return Memory.formula(dim, None)
    return Memory(footprint.vectors / points, 0.0, 0.0, "disk")


def _notes(result: TuneResult, rows: list[TuneRow], points: int) -> list[str]:
    notes = []
    if any(row.indexed < points for row in rows):
        notes.append(
            "some settings' graphs did not cover every point when measured (see `indexed`): the server was "
            "still indexing, and points outside the graph are searched exactly"
        )
    fastest = min(rows, key=lambda row: row.p50_ms)
    if result.exact.p50_ms <= fastest.p50_ms:
        notes.append(
            f"exact search ({result.exact.p50_ms:.2f} ms p50) is as fast as every index here: at "
            f"{points} points an index saves no time"
        )
    return notes
