"""Leave-one-out ranking: every stored point as a query against its collection, itself excluded.

Two paths with the same result (exact cosine, ties broken by dataset order):

- `block`: read the stored vectors once and score queries in blocks with one
  matrix product each. This is what the embedded store does anyway (it is
  brute force in Python), minus a Python object per hit, which made one
  query per point about 600 times slower than the arithmetic.
- `batch-query`: the store's batch query by point id with exact search, the
  path for servers and clusters, where the vectors stay on the server (a
  top-k query asks TIE_MARGIN hits past the cut, and for every hit when a
  tie runs further, so that ties are ordered here; see `_rank_batch_query`).

A re-ranking stage that changes vectors (query expansion, database-side
augmentation) plugs in as `stage`: it maps the stored vectors to the query
and database vectors the ranking then uses, so it needs the vectors here and
always takes the block path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from errors import EvaluationError
from store import Points, VectorStore

METHODS = ("auto", "block", "batch-query")
BLOCK_ROWS = 512
BATCH_QUERIES = 32
TIE_MARGIN = 16  # extra hits each batch query asks for, so that ties at the cut can be ordered here

Progress = Callable[[int], None]


class VectorStage(Protocol):
    """A re-ranking stage on vectors: stored vectors (n, d) -> (query vectors, database vectors).

    Row i of both belongs to point i; the ranking of point i compares its query
    vector with every other point's database vector, itself still excluded.
    `name` names the re-ranked figures (`paris_dinov2 +dba+aqe`); `to_json()`
    records the stage's settings with them.
    """

    @property
    def name(self) -> str: ...

    def __call__(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def to_json(self) -> dict: ...


@dataclass
class Neighbours:
    """For each point (row, dataset order) the positions of its nearest other points.

    `order[i]` lists row positions, best first, ties broken by position; the
    point itself never appears. `scores[i]` are the cosine scores of the first
    `scores.shape[1]` of them: all, unless `rank_all` was asked to keep fewer.
    """

    points: Points
    order: np.ndarray
    scores: np.ndarray = field(repr=False)


def resolve_method(store: VectorStore, method: str, stage: VectorStage | None = None) -> str:
    """The ranking method `method` stands for: "auto" is "block" where the vectors are in this
    process (or a stage needs them), else "batch-query"."""
    if method not in METHODS:
        raise ValueError(f"unknown ranking method '{method}'; choose one of {METHODS}")
    if stage is not None and method == "batch-query":
        raise ValueError("a re-ranking stage needs the vectors: use the block method")
    if method == "auto":
        return "block" if store.in_process or stage is not None else "batch-query"
    return method


def rank_all(
    store: VectorStore,
    name: str,
    limit: int | None = None,
    method: str = "auto",
    progress: Progress | None = None,
    points: Points | None = None,
    keep_scores: int | None = None,
    stage: VectorStage | None = None,
) -> Neighbours:
    """Neighbours of every point: the full ranking, or the top `limit`.

    Either way the order equals the first columns of the full ranking sorted
    by score, ties by dataset order. `points` are the collection's points when
    the caller has read them already (with vectors for "block"), so that it can
    check them before the ranking starts. `keep_scores` keeps the scores of only
    the first that many hits of each point (None: all of them): a full ranking's
    score matrix is as large as its order, n x (n-1), and callers often need
    scores only for the first few hits. `stage` re-ranks through the vectors
    (see `VectorStage`).
    """
    method = resolve_method(store, method, stage)
    if points is None:
        points = store.points(name, with_vectors=method == "block")
    elif method == "block" and points.vectors is None:
        raise ValueError("the block method needs the points' vectors")
    n = len(points.ids)
    width = n - 1 if limit is None else max(0, min(limit, n - 1))
    kept = width if keep_scores is None else max(0, min(keep_scores, width))
    progress = progress or (lambda done: None)
    if method == "block":
        queries, database = stage(points.vectors) if stage is not None else (points.vectors, points.vectors)
        order, scores = _rank_blocks(queries, database, width, kept, progress)
    else:
        order, scores = _rank_batch_query(store, name, points.ids, width, kept, progress)
    return Neighbours(points, order, scores)


def top_neighbours(queries: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row i's `k` best database rows by inner product with `queries[i]`, row i itself excluded.

    (positions, scores), each (n, k), best first, ties by position; scored in
    blocks of BLOCK_ROWS queries, so memory stays BLOCK_ROWS x n.
    """
    width = max(0, min(k, len(database) - 1))
    return _rank_blocks(queries, database, width, width, lambda done: None)


def _rank_blocks(
    queries: np.ndarray, database: np.ndarray, width: int, kept: int, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    n = len(database)
    order = np.empty((n, width), dtype=np.int32)
    scores = np.empty((n, kept), dtype=np.float32)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        negated = -(queries[start:stop] @ database.T)
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
    store: VectorStore, name: str, ids: list[str], width: int, kept: int, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    """The top `width` of every point through Qdrant's batch query API, exact search.

    The engine orders equal scores its own way and cuts at the limit wherever that
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

    def ask(chunk: list[str], limit: int) -> list[tuple[np.ndarray, np.ndarray]]:
        answers = []
        for pid, (hit_ids, hit_scores) in zip(chunk, store.query_many(name, chunk, limit, exact=True), strict=True):
            hit_positions = np.fromiter((position.get(hit, -1) for hit in hit_ids), np.int32)
            if len(hit_positions) != limit or (hit_positions < 0).any():
                raise EvaluationError(
                    f"collection '{name}' changed during the evaluation (the store returned "
                    f"{len(hit_positions)} of {limit} hits for '{pid}', or a point it did not hold "
                    f"at the start); run the evaluation again once nothing writes to it"
                )
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
