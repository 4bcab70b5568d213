"""Where the relevant points fall in each ranking, and each ranking's first hits, without ordering whole rows.

A ranking orders a query's scores best first, ties by position (dataset
order). The figures need only the rank of each relevant point and the first
few hits, so each row is cut into n bins of equal width between its lowest
relevant score and its best score, and three passes over the row do the rest:

1. the row's best score, its lowest relevant one and its first hits (the best
   so far kept, rarely replaced);
2. each score's bin (a monotone map, so equal scores share a bin and a higher
   score never lands lower) and a count of points per bin;
3. for each other point that shares a bin with relevant ones, which of them it
   precedes (a higher score, or an equal one and an earlier position).

A relevant point's rank is then the relevant points before it (its place among
them: sorted by bin, then by score and position inside the few sharing a bin),
plus the other points of higher bins, plus those of its own bin that precede
it, plus one. The passes are compiled (numba) and release the GIL, so the rows
of a block are shared among THREADS threads; each costs about what one numpy
operation over the row costs, where the numpy version of the same method
needed about eight (BENCHMARKS.md, "Evaluation at scale").

The first pass can also tally every score of the row and every relevant one
into fixed bins of cosine (`evaluation.ranking.score_tally`), for the table
of score against precision, at the cost of one increment per score.

Pure arrays in, arrays out: no store, no labels (the caller says which points
are relevant).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from evaluation.ranking.score_tally import SCORE_BINS, SCORE_STEPS
from evaluation.ranking.threads import THREADS, in_parts

BINS_PER_POINT = 1


@dataclass(frozen=True)
class RowRanks:
    """The relevant points of a block of rows in rank order, and each row's first hits.

    `row[h]`, `rank[h]` (1-based): hit h is a relevant point of row `row[h]`,
    at that rank of its row's full ranking; rows in order, ranks increasing.
    `top` (rows x shown) are each row's first positions, `top_scores` their scores. `tally` (2 x SCORE_BINS,
    when asked): how many scores of the block, and how many relevant ones, fall in each bin of cosine.
    """

    row: np.ndarray
    rank: np.ndarray
    top: np.ndarray
    top_scores: np.ndarray
    tally: np.ndarray | None = None


def rank_rows(scores: np.ndarray, relevant: np.ndarray | None, shown: int, *, tally: bool = False) -> RowRanks:
    """The ranks of the `relevant` points (bool, rows x n; None: none) in each row of `scores`, and the first `shown` hits.

    `scores` (float32, rows x n) holds -inf where a point is out of its row's
    ranking (the query itself), so that it ranks after every other point and
    is never among the first `shown` (at most n - 1). Scores must not be NaN.
    `tally`: also count every other score, and every relevant one, per bin of cosine (`RowRanks.tally`).
    """
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    rows, n = scores.shape
    shown = max(0, min(shown, n - 1))
    relevant = np.zeros((rows, n), bool) if relevant is None else np.ascontiguousarray(relevant, dtype=bool)
    per_row = np.zeros(rows, np.int64)
    top = np.empty((rows, shown), np.int64)
    top_scores = np.empty((rows, shown), np.float32)

    def rank_part(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        rank = np.empty(np.count_nonzero(relevant[first:last]), np.int64)
        counts = np.zeros((2, SCORE_BINS if tally else 0), np.int32)  # per thread; int32: half the cache
        if n:
            _rank_range(scores, relevant, first, last, per_row, rank, top, top_scores, counts)
        return rank, counts

    parts = in_parts(rows, min(THREADS, rows), rank_part)
    rank = np.concatenate([part[0] for part in parts])
    counts = sum(part[1].astype(np.int64) for part in parts) if tally else None  # blocks add up past 2^31
    return RowRanks(np.repeat(np.arange(rows), per_row), rank, top, top_scores, counts)


@numba.njit(nogil=True, cache=True)
def _precedes(scores: np.ndarray, a: int, b: int) -> bool:
    """Point a comes before point b in the row's ranking: a higher score, or an equal one and an earlier position."""
    return scores[a] > scores[b] or (scores[a] == scores[b] and a < b)


@numba.njit(nogil=True, cache=True)
def _rank_range(  # noqa: PLR0913, PLR0917 - a numba kernel: compiled code takes no keyword-only parameters or records
    scores: np.ndarray,
    relevant: np.ndarray,
    first: int,
    last: int,
    per_row: np.ndarray,
    rank: np.ndarray,
    top: np.ndarray,
    top_scores: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Rows first..last-1: their relevant points counted into `per_row`, their ranks one row after the other
    into `rank`, their first hits into `top`; where `counts` has bins, every score but -inf (the query) and
    every relevant one tallied into its two rows."""
    n = scores.shape[1]
    shown = top.shape[1]
    tallied = counts.shape[1] > 0
    every, related = counts[0], counts[1]
    bins = BINS_PER_POINT * n  # bins 1..bins between the lowest relevant score and the best; bin 0 below
    points = np.empty(bins + 2, np.int32)  # per bin: points in it, then other points in the bins above
    begin = np.empty(bins + 2, np.int32)  # per bin: relevant points in the bins above (where its own start)
    mixed = np.empty(bins + 2, np.bool_)  # per bin: it holds relevant points
    ordered = np.empty(n, np.int64)  # the row's relevant points, in rank order
    passed = np.empty(n + 1, np.int64)  # differences: other points of its bin that precede the i-th relevant point
    start = 0  # where the row's ranks go in `rank`
    for r in range(first, last):
        row = scores[r]
        hit = relevant[r]
        best = np.float32(-np.inf)
        low = np.float32(np.inf)
        found = 0
        kept = top[r]
        kept_scores = top_scores[r]
        worst = 0  # of the first hits kept so far, the one that ranks last
        last_kept = np.float32(-np.inf)  # its score
        for j in range(n):
            value = row[j]
            best = max(best, value)
            if tallied and value > -np.inf:
                every[_score_bin(value)] += 1
            if hit[j]:
                if tallied:
                    related[_score_bin(value)] += 1
                low = min(low, value)
                ordered[found] = j
                found += 1
            if j < shown or value > last_kept:  # rarely true; equal to the last kept: that one comes earlier
                slot = j if j < shown else worst
                kept[slot] = j
                kept_scores[slot] = value
                if j >= shown - 1:
                    worst = 0
                    for i in range(1, shown):
                        if _precedes(row, kept[worst], kept[i]):
                            worst = i
                    last_kept = kept_scores[worst]
        _in_order(row, kept)
        for i in range(shown):
            kept_scores[i] = row[kept[i]]
        if found == 0:
            continue
        span = np.float64(best) - np.float64(low)
        scale = (bins - 1) / span if span > 0 else 0.0  # 0: every relevant score is the best; one bin for them
        points[:] = 0
        for i in range(found):
            points[_bin(row[ordered[i]], low, scale, bins)] += 1
        above = 0
        for b in range(bins + 1, -1, -1):
            begin[b] = above
            mixed[b] = points[b] > 0
            above += points[b]
        per_row[r] = found
        placed = rank[start : start + found]  # scratch: the relevant points by bin, best bin first
        for i in range(found):
            j = ordered[i]
            b = _bin(row[j], low, scale, bins)
            placed[begin[b] + points[b] - 1] = j  # filled from the end: points[b] counts down
            points[b] -= 1
        _in_order(row, placed)  # inside a bin, by score then position (the bins are ordered already)
        ordered[:found] = placed
        passed[: found + 1] = 0
        for j in range(n):
            b = _bin(row[j], low, scale, bins)
            points[b] += 1
            if mixed[b] and not hit[j]:  # an other point in a bin with relevant ones: which of them it precedes
                i = begin[b]
                end = begin[b - 1]
                while i < end and _precedes(row, ordered[i], j):
                    i += 1
                passed[i] += 1
                passed[end] -= 1
        above = 0
        for b in range(bins + 1, -1, -1):
            inside = points[b]
            points[b] = above - begin[b]  # other points in the bins above: all of them less the relevant ones
            above += inside
        running = 0
        for i in range(found):
            running += passed[i]
            rank[start + i] = i + 1 + points[_bin(row[ordered[i]], low, scale, bins)] + running
        start += found


@numba.njit(nogil=True, cache=True)
def _in_order(row: np.ndarray, points: np.ndarray) -> None:
    """Sort `points` by their place in the row's ranking (insertion: they are nearly in order already)."""
    for i in range(1, len(points)):
        j = points[i]
        k = i
        while k > 0 and _precedes(row, j, points[k - 1]):
            points[k] = points[k - 1]
            k -= 1
        points[k] = j


@numba.njit(nogil=True, cache=True, inline="always")
def _score_bin(value: float) -> int:
    """The fixed bin of a cosine: floor(value x SCORE_STEPS) from -1 (bin 0) to 1 (the last), clipped; exact,
    since SCORE_STEPS is a power of two (`evaluation.ranking.score_tally`)."""
    return min(SCORE_BINS - 1, max(0, int(np.float64(value) * SCORE_STEPS + SCORE_STEPS)))


@numba.njit(nogil=True, cache=True, inline="always")
def _bin(value: float, low: float, scale: float, bins: int) -> int:  # noqa: PLR0917 - a numba kernel, inlined
    """The bin of a score: 1 + (score - low) x scale, truncated, in 1..bins; 0 below `low` (and for -inf).

    Each step is monotone in the score, so equal scores share a bin and a higher score never lands lower.
    """
    return 0 if value < low else min(bins, 1 + int((np.float64(value) - low) * scale))
