"""Leave-one-out ranking: every stored point as a query against its collection, itself excluded.

Two paths with the same result (exact cosine, ties broken by dataset order):

- `block`: read the stored vectors once and score queries in blocks with one
  matrix product each. This is what the embedded store does anyway (it is
  brute force in Python), minus a Python object per hit, which made one
  query per point about 600 times slower than the arithmetic. No row is
  sorted whole: given which points are relevant to each query (`relevance`),
  `evaluation.ranking.bins` finds where they rank and the first hits from one count
  per row, so the figures cost little more than the matrix product.
- `batch-query`: the store's batch query by point id with exact search, the
  path for servers and clusters, where the vectors stay on the server (a
  top-k query asks TIE_MARGIN hits past the cut, and for every hit when a
  tie runs further, so that ties are ordered here; see `_rank_batch_query`).

A re-ranking stage that changes vectors (query expansion, database-side
augmentation) plugs in as `stage`: it maps the stored vectors to the query
and database vectors the ranking then uses, so it needs the vectors here and
always takes the block path.

What to rank arrives as one `RankingRequest` (`evaluation.ranking.request`:
the cut, the method, the stage, ...), the same record on both paths; what a
caller keeps of each block (which queries, how many hits, where the relevant
points rank) as a `BlockOutput`, honoured alike on both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from errors import EvaluationError
from evaluation.ranking.bins import rank_rows
from evaluation.ranking.request import Method, RankingRequest
from evaluation.ranking.threads import THREADS, in_parts
from store import Points, VectorStore

BLOCK_ROWS = 512
MIN_BLOCK_ROWS = 16
BLOCK_ELEMENTS = 1 << 24  # scores per block: rows x n, so that memory stays near 16M x (4 B score + 1 B relevance)
BATCH_QUERIES = 32
TIE_MARGIN = 16  # extra hits each batch query asks for, so that ties at the cut can be ordered here

Progress = Callable[[int], None]
Relevance = Callable[[np.ndarray], np.ndarray]  # query positions -> (queries x n) bool: relevant, the query excluded
Inspect = Callable[[np.ndarray, np.ndarray], None]  # (query positions, their scores against every point)


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


def rank_all(
    store: VectorStore,
    name: str,
    request: RankingRequest | None = None,
    *,
    points: Points | None = None,
    keep_scores: int | None = None,
    progress: Progress | None = None,
) -> Neighbours:
    """Neighbours of every point: the full ranking, or the top `request.k`, held whole (n x width).

    A convenience for small collections and tests: `ranked_blocks` gives the
    same rows block by block, in memory that grows with block x n, which is
    what the leave-one-out evaluation uses. `points` are the collection's points
    when the caller has read them already (with vectors for the block method).
    `keep_scores` keeps the scores of only the first that many hits of each
    point (None: all of them); no request is the full ranking. `request.stage` re-ranks through the vectors (see
    `VectorStage`). Every point is a row: a request with a sample or duplicates
    excluded is refused (`leave_one_out` and `rank_query` measure those).
    """
    request = (request or RankingRequest()).resolved(store)
    if request.sample is not None or request.exclude_duplicates:
        raise ValueError("rank_all ranks every point: leave_one_out measures a sample or duplicates excluded")
    if points is None:
        points = store.points(name, with_vectors=request.method is Method.BLOCK)
    output = BlockOutput(keep_scores=keep_scores, progress=progress)
    blocks = list(ranked_blocks(store, name, points, request=request, output=output))
    width = _width(len(points.ids), request.k)
    kept = width if keep_scores is None else max(0, min(keep_scores, width))
    order = np.concatenate([b.order for b in blocks]) if blocks else np.empty((0, width), np.int32)
    scores = np.concatenate([b.scores for b in blocks]) if blocks else np.empty((0, kept), np.float32)
    return Neighbours(points, order, scores)


@dataclass(frozen=True)
class BlockOutput:
    """What a caller takes from each block of rankings, beside the request: which queries, how much of each row.

    `queries`: positions of the queries (None: every point). `keep_scores`: the
    scores of only the first that many hits (None: all). `shown`: only the first
    that many hits in `order` (None: all). `relevance`: which points are
    relevant to each query, so that each block also says where they rank in
    its full ranking (`RankedBlock.hit_rank`). `inspect(queries, scores)` sees
    each block's scores against every point first (the query's own -inf): the
    block method only. `progress(done)` counts queries. `tally`: each block also counts its scores, and its
    relevant ones, per bin of cosine (`RankedBlock.tally`; the block method without a stage: the stored
    vectors' cosines, every hit of the full ranking whatever the cut).
    """

    queries: np.ndarray | None = None
    keep_scores: int | None = None
    shown: int | None = None
    relevance: Relevance | None = None
    inspect: Inspect | None = None
    progress: Progress | None = None
    tally: bool = False


@dataclass(frozen=True)
class RankedBlock:
    """The rankings of a block of queries: `queries` (positions, dataset order) and their rows.

    `hit_row`, `hit_rank` (block path, when `ranked_blocks` was given a
    relevance): the relevant points of each query in rank order, as the row
    of its query in the block and the 1-based rank in its full ranking. `tally` (block path, when asked):
    (2, SCORE_BINS) counts of the block's scores and of its relevant ones per bin
    (`evaluation.ranking.score_tally`).
    """

    queries: np.ndarray
    order: np.ndarray  # (len(queries), shown) positions, best first, ties by position
    scores: np.ndarray  # (len(queries), kept) the scores of the first hits
    hit_row: np.ndarray | None = None
    hit_rank: np.ndarray | None = None
    tally: np.ndarray | None = None


def ranked_blocks(
    store: VectorStore, name: str, points: Points, *, request: RankingRequest, output: BlockOutput = BlockOutput()
) -> Iterator[RankedBlock]:
    """The rankings of `output.queries` (positions; None: every point) against all `points`, block by block.

    Each ranking is the full one, or its top `request.k`, sorted by score with
    ties by dataset order, the query itself excluded, re-ranked by
    `request.stage`; `output` says what each block keeps (see `BlockOutput`).
    A block holds at most `block_rows(n)` queries, so that a caller that
    measures each block and drops it needs memory of block x n, never n x n.
    Both methods honour every field of `output` but `inspect`, which needs
    every score and is refused on the batch-query method in one line.
    """
    request = request.resolved(store)
    block = request.method is Method.BLOCK
    if block and points.vectors is None:
        raise ValueError("the block method needs the points' vectors")
    if not block and output.inspect is not None:
        raise ValueError("inspecting every score of a block needs the vectors here: use the block method")
    n = len(points.ids)
    queries = np.arange(n) if output.queries is None else np.asarray(output.queries, dtype=np.int64)
    width = _width(n, request.k)
    kept = width if output.keep_scores is None else max(0, min(output.keep_scores, width))
    first = width if output.shown is None else max(kept, min(output.shown, width))
    progress = output.progress or (lambda done: None)
    if block:
        stage = request.stage
        vectors = stage(points.vectors) if stage is not None else (points.vectors, points.vectors)
        blocks = rank_vector_blocks(vectors, queries, first=first, kept=kept, output=output)
    else:
        asked = _rank_batch_query(store, name, points.ids, queries=queries, width=width, kept=kept)
        blocks = (_as_output(answer, first, output.relevance) for answer in asked)
    done = 0
    for ranked in blocks:
        done += len(ranked.queries)
        yield ranked
        progress(done)


def _as_output(block: RankedBlock, first: int, relevance: Relevance | None) -> RankedBlock:
    """A batch query's block as the block method gives it: its first `first` hits, and with `relevance` where
    the relevant points rank among the hits returned (those past a cut at k are not counted either way)."""
    if relevance is None:
        return replace(block, order=block.order[:, :first])
    relevant = relevance(block.queries)[np.arange(len(block.queries))[:, None], block.order]
    row, column = np.divmod(np.flatnonzero(relevant), relevant.shape[1])
    return replace(block, order=block.order[:, :first], hit_row=row, hit_rank=column + 1)


def block_rows(n: int) -> int:
    """Queries ranked at once against n points: BLOCK_ROWS, fewer where n is large (memory ~ rows x n)."""
    return int(np.clip(BLOCK_ELEMENTS // max(n, 1), MIN_BLOCK_ROWS, BLOCK_ROWS))


def _width(n: int, limit: int | None) -> int:
    return max(0, n - 1) if limit is None else max(0, min(limit, n - 1))


def top_neighbours(queries: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row i's `k` best database rows by inner product with `queries[i]`, row i itself excluded.

    (positions, scores), each (n, k), best first, ties by position; scored in
    blocks of `block_rows(n)` queries, so memory stays block x n.
    """
    width = _width(len(database), k)
    blocks = list(rank_vector_blocks((queries, database), np.arange(len(queries)), first=width, kept=width))
    if not blocks:
        return np.empty((0, width), np.int32), np.empty((0, width), np.float32)
    return np.concatenate([b.order for b in blocks]), np.concatenate([b.scores for b in blocks])


def rank_vector_blocks(
    vectors: tuple[np.ndarray, np.ndarray],
    positions: np.ndarray,
    *,
    first: int,
    kept: int,
    output: BlockOutput = BlockOutput(),
) -> Iterator[RankedBlock]:
    """Query vectors `queries[positions]` scored against `database` ((queries, database) = `vectors`) with one
    matrix product per block.

    Each block's first `first` hits and the scores of the first `kept`, and
    with `output.relevance` where the relevant points rank
    (`evaluation.ranking.bins.rank_rows`); `output.inspect` sees each block's
    scores first. No row is sorted whole.
    The BLAS runs one thread per call, and the rows of each product are shared
    among THREADS threads here: a BLAS thread pool spins on its cores for a
    while after each product, which slowed the ranking that follows by a third
    (BENCHMARKS.md, "Evaluation at scale").
    """
    queries, database = vectors
    relevance, inspect = output.relevance, output.inspect
    n = len(database)
    rows = block_rows(n)
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, len(positions), rows):
            chosen = positions[start : start + rows]
            scores = _scores(queries, database, chosen)
            scores[np.arange(len(chosen)), chosen] = -np.inf  # the query itself ranks last and is cut
            if inspect is not None:
                inspect(chosen, scores)
            relevant = None if relevance is None else relevance(chosen)
            ranked = rank_rows(scores, relevant, first, tally=output.tally)
            del scores, relevant
            hit_row, hit_rank = (None, None) if relevance is None else (ranked.row, ranked.rank)
            top, top_scores = ranked.top.astype(np.int32), ranked.top_scores[:, :kept]
            yield RankedBlock(chosen, top, top_scores, hit_row, hit_rank, ranked.tally)


def _scores(queries: np.ndarray, database: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """`queries[chosen] @ database.T`, its rows shared among THREADS threads in parts of two rows or more
    (a one-row product is a gemv, whose last bits differ from the whole block's)."""
    scores = np.empty((len(chosen), len(database)), np.float32)

    def product(first: int, last: int) -> None:
        np.matmul(queries[chosen[first:last]], database.T, out=scores[first:last])

    in_parts(len(chosen), min(THREADS, len(chosen) // 2), product)
    return scores


def _rank_batch_query(
    store: VectorStore, name: str, ids: list[str], *, queries: np.ndarray, width: int, kept: int
) -> Iterator[RankedBlock]:
    """The top `width` of each query through Qdrant's batch query API, exact search, BATCH_QUERIES at a time.

    The engine orders equal scores its own way and cuts at the limit wherever that
    falls. Each query asks for TIE_MARGIN hits more than `width` (at most n-1)
    and sorts them by (score descending, position) before keeping `width`; a
    row whose tie at the cut reaches the last hit returned is asked again for
    every hit. The result equals the block method's.
    """
    position = {point_id: i for i, point_id in enumerate(ids)}
    n = len(ids)

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
    for start in range(0, len(queries), BATCH_QUERIES):
        chosen = queries[start : start + BATCH_QUERIES]
        order = np.empty((len(chosen), width), dtype=np.int32)
        scores = np.empty((len(chosen), kept), dtype=np.float32)
        if width:
            for row, (hit_positions, hit_scores) in enumerate(ask([ids[q] for q in chosen], limit)):
                if limit < n - 1 and hit_scores[width - 1] == hit_scores[-1]:  # the tie may go on past the margin
                    [(hit_positions, hit_scores)] = ask([ids[chosen[row]]], n - 1)
                order[row] = hit_positions[:width]
                scores[row] = hit_scores[:kept]
        yield RankedBlock(chosen, order, scores)
