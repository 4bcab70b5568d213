"""Every stored point as a query against its collection, itself excluded.

Two paths with the same result (exact cosine, ties broken by dataset order):

- `block`: read the stored vectors once and score queries in blocks with one
  matrix product each. This is what the embedded store does anyway (it is
  brute force in Python), minus a Python object per hit, which made one
  query per point about 600 times slower than the arithmetic.
- `batch-query`: Qdrant's batch query API by point id with exact search, the
  path for servers and clusters, where the vectors stay on the server (a
  top-k query asks TIE_MARGIN hits past the cut, and for every hit when a
  tie runs further, so that ties are ordered here; see `_rank_batch_query`).

`ann_recall` measures the other side: how close the approximate index (HNSW,
quantization) comes to that exact search, on the same collection.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qdrant_client import models

from errors import EvaluationError
from store.qdrant_store import Store
from store.types import AnnRecall, Neighbours, Points

METHODS = ("auto", "block", "batch-query")
BLOCK_ROWS = 512
BATCH_QUERIES = 32
TIE_MARGIN = 16  # extra hits each batch query asks for, so that ties at the cut can be ordered here

Progress = Callable[[int], None]


def resolve_method(store: Store, method: str) -> str:
    """The ranking method `method` stands for: "auto" is "block" on the embedded store, else "batch-query"."""
    if method == "auto":
        return "block" if store.embedded else "batch-query"
    if method not in METHODS:
        raise ValueError(f"unknown ranking method '{method}'; choose one of {METHODS}")
    return method


def rank_all(
    store: Store,
    name: str,
    limit: int | None = None,
    method: str = "auto",
    progress: Progress | None = None,
    points: Points | None = None,
    keep_scores: int | None = None,
) -> Neighbours:
    """Neighbours of every point: the full ranking, or the top `limit`.

    Either way the order equals the first columns of the full ranking sorted
    by score, ties by dataset order. `points` are the collection's points when
    the caller has read them already (with vectors for "block"), so that it can
    check them before the ranking starts. `keep_scores` keeps the scores of only
    the first that many hits of each point (None: all of them): a full ranking's
    score matrix is as large as its order, n x (n-1), and callers often need
    scores only for the first few hits.
    """
    method = resolve_method(store, method)
    if points is None:
        points = store.points(name, with_vectors=method == "block")
    elif method == "block" and points.vectors is None:
        raise ValueError("the block method needs the points' vectors")
    n = len(points.ids)
    width = n - 1 if limit is None else max(0, min(limit, n - 1))
    kept = width if keep_scores is None else max(0, min(keep_scores, width))
    progress = progress or (lambda done: None)
    if method == "block":
        order, scores = _rank_blocks(points.vectors, width, kept, progress)
    else:
        order, scores = _rank_batch_query(store, name, points.ids, width, kept, progress)
    return Neighbours(points, order, scores)


def _rank_blocks(vectors: np.ndarray, width: int, kept: int, progress: Progress) -> tuple[np.ndarray, np.ndarray]:
    n = len(vectors)
    order = np.empty((n, width), dtype=np.int32)
    scores = np.empty((n, kept), dtype=np.float32)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        negated = -(vectors[start:stop] @ vectors.T)
        rows = np.arange(stop - start)
        negated[rows, start + rows] = np.inf  # the query itself sorts last and is cut
        best, ordered = _argsort_rows(negated) if width == n - 1 else _top_rows(negated, width)
        order[start:stop] = best[:, :width]
        scores[start:stop] = -ordered[:, :kept]
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


def _top_rows(negated: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `width` columns of `_argsort_rows(negated)`, without sorting whole rows.

    argpartition finds each row's `width` smallest values, but among values
    equal to the largest of them it keeps an arbitrary few. Partitioning at
    `width` also puts the best value left out at column `width`: where it equals
    the largest value kept, equal values straddle the cut, and that row is
    sorted whole, stably, so the lowest positions are kept as in the full ranking.
    """
    if width == 0:
        return np.empty((len(negated), 0), dtype=np.intp), negated[:, :0]
    parted = np.argpartition(negated, width, axis=1)
    chosen = np.sort(parted[:, :width], axis=1)
    values = np.take_along_axis(negated, chosen, 1)
    within = np.argsort(values, axis=1, kind="stable")
    best = np.take_along_axis(chosen, within, 1)
    ordered = np.take_along_axis(values, within, 1)
    left_out = np.take_along_axis(negated, parted[:, width : width + 1], 1)[:, 0]
    tied = np.flatnonzero(ordered[:, -1] == left_out)
    if len(tied):  # the values kept, and so `ordered`, are the same; only which positions changes
        best[tied] = np.argsort(negated[tied], axis=1, kind="stable")[:, :width]
    return best, ordered


def _rank_batch_query(
    store: Store, name: str, ids: list[str], width: int, kept: int, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    """The top `width` of every point through Qdrant's batch query API, exact search.

    Qdrant orders equal scores its own way and cuts at the limit wherever that
    falls. Each query asks for TIE_MARGIN hits more than `width` (at most n-1)
    and sorts them by (score descending, position) before keeping `width`; a
    row whose tie at the cut reaches the last hit returned is asked again for
    every hit. The result equals the block method's.
    """
    position = {point_id: i for i, point_id in enumerate(ids)}
    n = len(ids)
    order = np.empty((n, width), dtype=np.int32)
    scores = np.empty((n, kept), dtype=np.float32)
    if width == 0:
        return order, scores
    exact = None if store.embedded else models.SearchParams(exact=True)  # embedded is always exact

    def ask(chunk: list[str], limit: int) -> list[tuple[np.ndarray, np.ndarray]]:
        requests = [models.QueryRequest(query=pid, limit=limit, params=exact, with_payload=False) for pid in chunk]
        answers = []
        for pid, response in zip(chunk, store.client.query_batch_points(name, requests), strict=True):
            hit_positions = np.fromiter((position.get(str(p.id), -1) for p in response.points), np.int32)
            if len(hit_positions) != limit or (hit_positions < 0).any():
                raise EvaluationError(
                    f"collection '{name}' changed during the evaluation (Qdrant returned "
                    f"{len(hit_positions)} of {limit} hits for '{pid}', or a point it did not hold "
                    f"at the start); run the evaluation again once nothing writes to it"
                )
            hit_scores = np.fromiter((p.score for p in response.points), np.float32)
            best = np.lexsort((hit_positions, -hit_scores))
            answers.append((hit_positions[best], hit_scores[best]))
        return answers

    limit = min(width + TIE_MARGIN, n - 1)
    for start in range(0, n, BATCH_QUERIES):
        chunk = ids[start : start + BATCH_QUERIES]
        for row, (hit_positions, hit_scores) in enumerate(ask(chunk, limit), start):
            if limit < n - 1 and hit_scores[width - 1] == hit_scores[-1]:  # the tie may go on past the margin
                [(hit_positions, hit_scores)] = ask([ids[row]], n - 1)
            order[row] = hit_positions[:width]
            scores[row] = hit_scores[:kept]
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
