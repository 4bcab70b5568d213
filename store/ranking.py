"""Every stored point as a query against its collection, itself excluded.

Two paths with the same result (exact cosine, ties broken by dataset order):

- `block`: read the stored vectors once and score queries in blocks with one
  matrix product each. This is what the embedded store does anyway (it is
  brute force in Python), minus a Python object per hit, which made one
  query per point about 600 times slower than the arithmetic.
- `batch-query`: Qdrant's batch query API by point id with exact search, the
  path for servers and clusters, where the vectors stay on the server.

`ann_recall` measures the other side: how close the approximate index (HNSW,
quantization) comes to that exact search, on the same collection.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qdrant_client import models

from store.qdrant_store import Store
from store.types import AnnRecall, Neighbours

METHODS = ("auto", "block", "batch-query")
BLOCK_ROWS = 512
BATCH_QUERIES = 32

Progress = Callable[[int], None]


def rank_all(
    store: Store,
    name: str,
    limit: int | None = None,
    method: str = "auto",
    progress: Progress | None = None,
) -> Neighbours:
    """Neighbours of every point: the full ranking, or the top `limit`."""
    if method == "auto":
        method = "block" if store.embedded else "batch-query"
    points = store.points(name, with_vectors=method == "block")
    n = len(points.ids)
    width = n - 1 if limit is None else max(0, min(limit, n - 1))
    progress = progress or (lambda done: None)
    if method == "block":
        order, scores = _rank_blocks(points.vectors, width, progress)
    elif method == "batch-query":
        order, scores = _rank_batch_query(store, name, points.ids, width, progress)
    else:
        raise ValueError(f"unknown ranking method '{method}'; choose one of {METHODS}")
    return Neighbours(points, order, scores)


def _rank_blocks(vectors: np.ndarray, width: int, progress: Progress) -> tuple[np.ndarray, np.ndarray]:
    n = len(vectors)
    order = np.empty((n, width), dtype=np.int32)
    scores = np.empty((n, width), dtype=np.float32)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        negated = -(vectors[start:stop] @ vectors.T)
        rows = np.arange(stop - start)
        negated[rows, start + rows] = np.inf  # the query itself sorts last and is cut
        if width == n - 1:
            best, ordered = _argsort_rows(negated)
        else:
            chosen = np.sort(np.argpartition(negated, width - 1, axis=1)[:, :width], axis=1)
            within = np.argsort(np.take_along_axis(negated, chosen, 1), axis=1, kind="stable")
            best = np.take_along_axis(chosen, within, 1)
            ordered = np.take_along_axis(negated, best, 1)
        order[start:stop] = best[:, :width]
        scores[start:stop] = -ordered[:, :width]
        progress(stop)
    return order, scores


def _argsort_rows(negated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's argsort with ties broken by position (as kind="stable"), and the sorted values.

    numpy's default sort is several times faster than its stable one; only the
    rows that hold equal scores (duplicate images) are sorted again, stably.
    """
    best = np.argsort(negated, axis=1)
    ordered = np.take_along_axis(negated, best, 1)
    tied = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    if len(tied):
        best[tied] = np.argsort(negated[tied], axis=1, kind="stable")
    return best, ordered


def _rank_batch_query(
    store: Store, name: str, ids: list[str], width: int, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    position = {point_id: i for i, point_id in enumerate(ids)}
    n = len(ids)
    order = np.empty((n, width), dtype=np.int32)
    scores = np.empty((n, width), dtype=np.float32)
    exact = None if store.embedded else models.SearchParams(exact=True)  # embedded is always exact
    for start in range(0, n, BATCH_QUERIES):
        chunk = ids[start : start + BATCH_QUERIES]
        requests = [
            models.QueryRequest(query=pid, limit=width, params=exact, with_payload=False)
            for pid in chunk
        ]
        for row, response in enumerate(store.client.query_batch_points(name, requests), start):
            hit_positions = np.fromiter((position[str(p.id)] for p in response.points), np.int32)
            hit_scores = np.fromiter((p.score for p in response.points), np.float32)
            if len(hit_positions) != width:
                raise RuntimeError(f"Qdrant returned {len(hit_positions)} of {width} hits for '{ids[row]}'")
            tie_order = np.lexsort((hit_positions, -hit_scores))
            order[row] = hit_positions[tie_order]
            scores[row] = hit_scores[tie_order]
        progress(min(start + BATCH_QUERIES, n))
    return order, scores


def ann_recall(store: Store, name: str, k: int = 10, sample: int = 200, seed: int = 0) -> AnnRecall:
    """recall@k of the collection's approximate search against exact search.

    For `sample` stored points drawn with `seed`, each queried by id (itself
    excluded): |approximate top k & exact top k| / |exact top k|, averaged.
    Quality figures (mAP) always come from exact search; this says what the
    index would lose. The embedded store is exact: recall 1.0, nothing sampled.
    """
    store.require(name)
    info = store.client.get_collection(name)
    points = info.points_count or 0
    if store.embedded:
        return AnnRecall(name, k, 0, 1.0, exact_only=True, indexed=0, points=points)
    ids = sorted(store.point_ids(name))
    rng = np.random.default_rng(seed)
    chosen = [ids[i] for i in np.sort(rng.choice(len(ids), size=min(sample, len(ids)), replace=False))]
    recalls = []
    for start in range(0, len(chosen), BATCH_QUERIES):
        chunk = chosen[start : start + BATCH_QUERIES]
        exact = _top_ids(store, name, chunk, k, exact=True)
        approximate = _top_ids(store, name, chunk, k, exact=False)
        recalls += [len(e & a) / len(e) for e, a in zip(exact, approximate, strict=True) if e]
    recall = float(np.mean(recalls)) if recalls else 1.0
    return AnnRecall(name, k, len(recalls), recall, False, info.indexed_vectors_count or 0, points)


def _top_ids(store: Store, name: str, ids: list[str], k: int, exact: bool) -> list[set[str]]:
    requests = [
        models.QueryRequest(query=pid, limit=k, params=models.SearchParams(exact=exact), with_payload=False)
        for pid in ids
    ]
    return [{str(p.id) for p in r.points} for r in store.client.query_batch_points(name, requests)]
