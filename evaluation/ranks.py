"""Where the relevant points fall in each ranking, and each ranking's first hits, without ordering whole rows.

A ranking orders a query's scores best first, ties by position (dataset
order). The figures need only the rank of each relevant point and the first
few hits, so each row is cut into BINS_PER_POINT x n bins of equal width
between its lowest relevant score and its best score. A monotone map puts
every score in a bin with one pass of arithmetic, and one count per bin
(`np.bincount`) says how many points lie in the bins above a relevant point.
Only the points that share a bin with a relevant point (about twice the
relevant ones) are sorted, by (score descending, position), which gives each
relevant point its exact rank: the points of higher bins, plus those before it
in its own bin, plus one. Equal scores always share a bin, so ties keep their
dataset order. The first hits come the same way from the top bins.

Measured here (256 queries x 50,000 points, 10 classes): searching every
score into the sorted relevant ones (`np.searchsorted`, n log R) took longer
than numpy's sort of the whole row, hence bins.

Pure arrays in, arrays out: no store, no labels (the caller says which points
are relevant).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

BINS_PER_POINT = 2.0
THREADS = min(4, os.cpu_count() or 1)
LOW_32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class RowRanks:
    """The relevant points of a block of rows in rank order, and each row's first hits.

    `row[h]`, `rank[h]` (1-based): hit h is a relevant point of row `row[h]`,
    at that rank of its row's full ranking; rows in order, ranks increasing.
    `top` (rows x shown) are each row's first positions, `top_scores` their scores.
    """

    row: np.ndarray
    rank: np.ndarray
    top: np.ndarray
    top_scores: np.ndarray


def rank_rows(scores: np.ndarray, relevant: np.ndarray | None, shown: int) -> RowRanks:
    """The ranks of the `relevant` points (bool, rows x n; None: none) in each row of `scores`, and the first `shown` hits.

    `scores` (float32, rows x n) holds -inf where a point is out of its row's
    ranking (the query itself), so that it ranks after every other point and
    is never among the first `shown` (at most n - 1). Scores must not be NaN.
    Rows are shared among THREADS threads (numpy releases the GIL in the work).
    """
    rows, n = scores.shape
    shown = max(0, min(shown, n - 1))
    bounds = np.linspace(0, rows, max(1, min(THREADS, rows)) + 1).astype(int)
    parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def rank_part(part: slice) -> RowRanks:
        return _rank_part(scores[part], None if relevant is None else relevant[part], shown)

    if len(parts) == 1:
        done = [rank_part(parts[0])]
    else:
        with ThreadPoolExecutor(len(parts)) as pool:
            done = list(pool.map(rank_part, parts))
    return RowRanks(
        np.concatenate([d.row + part.start for d, part in zip(done, parts, strict=True)]),
        np.concatenate([d.rank for d in done]),
        np.concatenate([d.top for d in done]),
        np.concatenate([d.top_scores for d in done]),
    )


def _rank_part(scores: np.ndarray, relevant: np.ndarray | None, shown: int) -> RowRanks:
    """`rank_rows` for a share of the rows, in one thread."""
    rows, n = scores.shape
    bins = max(2, int(BINS_PER_POINT * n))
    hit_row, hit_col = np.nonzero(relevant) if relevant is not None else (np.zeros(0, np.int64),) * 2
    per_row = np.bincount(hit_row, minlength=rows)
    starts = np.cumsum(per_row) - per_row
    best = scores.max(axis=1) if n else np.zeros(rows, np.float32)
    low = best.copy()
    has = per_row > 0
    if has.any():
        low[has] = np.minimum.reduceat(scores[hit_row, hit_col], starts[has])
    span = best - low
    scale = np.where(span > 0, (bins - 1) / np.where(span > 0, span, 1), 1).astype(np.float32)
    found = _bins(scores, low, scale, bins)
    ranks = []
    tops = np.zeros((rows, shown), np.int64)
    top_scores = np.zeros((rows, shown), np.float32)
    for r in range(rows):
        at = found[r]
        counts = np.bincount(at, minlength=bins + 2)
        wanted = np.zeros(bins + 2, bool)  # the bins whose points are sorted: the relevant ones', and the top
        wanted[at[hit_col[starts[r] : starts[r] + per_row[r]]]] = True
        if shown:  # the highest bins that hold `shown` points: from the last bin t with n - below(t) >= shown
            below = np.cumsum(counts)
            wanted[np.searchsorted(below, n - shown, "right") :] = True
        candidates = _ordered(scores[r], np.flatnonzero(wanted[at]))
        tops[r] = candidates[:shown]
        top_scores[r] = scores[r, tops[r]]
        if per_row[r]:
            # rank = place among the sorted candidates + the points of unsorted bins above its own
            outside = np.cumsum(np.where(wanted, 0, counts))
            place = np.flatnonzero(relevant[r, candidates])
            ranks.append(place + 1 + outside[-1] - outside[at[candidates[place]]])
    rank = np.concatenate(ranks) if ranks else np.zeros(0, np.int64)
    return RowRanks(np.repeat(np.arange(rows), per_row), rank, tops, top_scores)


def _bins(scores: np.ndarray, low: np.ndarray, scale: np.ndarray, bins: int) -> np.ndarray:
    """Each score's bin, 0..bins+1, a non-decreasing function of the score within each row.

    (score - low) * scale, clipped and truncated: every step is monotone in
    float32, so a higher score never lands in a lower bin and equal scores share
    one. Scores below `low` fall in bins 0-1, -inf in bin 0.
    """
    found = scores - low[:, None]
    found *= scale[:, None]
    np.clip(found, -1, bins, out=found)
    found = found.astype(np.int32)
    found += 1
    return found


def _ordered(scores: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`positions` ordered by (score descending, position): one sort of uint64 keys.

    The high 32 bits map the float32 score to an unsigned integer that sorts
    descending (-0.0 made 0.0 first), the low 32 bits hold the position.
    """
    bits = (scores[positions] + np.float32(0)).view(np.uint32)
    bits ^= np.where(bits >> 31, np.uint32(0), np.uint32(0x7FFFFFFF))
    combined = bits.astype(np.uint64) << np.uint64(32)
    combined |= positions.astype(np.uint64)
    combined.sort()
    return (combined & LOW_32).astype(np.int64)
