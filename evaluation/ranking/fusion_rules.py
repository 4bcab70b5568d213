"""Late fusion of several encoders' rankings of the same points: pure functions on score blocks.

Two rules, each on a block of queries at once (rows: queries, columns: every
point in dataset order; each member's cosine scores of the same points):

- `rrf`, reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009):
  fused(p) = sum over members m of 1 / (k + rank_m(p)), rank 1-based in m's
  ranking of the other points (ties by dataset position), k = RRF_K = 60 by
  default, the paper's constant. Qdrant's own RRF writes the same sum as
  1 / (k' + position) with a 0-based position (and k' = 2 by default in its
  engine), so the same ranking there needs k' = k + 1 (`store.fused_query`).
- `sum`, normalised score sum: fused(p) = sum over m of
  (s_m(p) - min_m) / (max_m - min_m), the min and max over the query's other
  points (a member whose scores are all equal adds 0). Min-max rather than
  z-scores: every member then spans exactly [0, 1] whatever its cosine range
  (a colour histogram's cosines crowd near 1, CLIP's do not), and it assumes
  nothing about the shape of the score distribution, which is skewed for
  retrieval (few relevant, many far points), so a mean and standard deviation
  describe it poorly.

The query itself gets -inf, so it sorts last and is cut. The fused ranking is
sorted by fused score, ties by dataset position.
"""

from __future__ import annotations

import numpy as np

RRF_K = 60
FUSIONS = ("rrf", "sum")


def member_ranks(scores: np.ndarray, queries: np.ndarray | None) -> np.ndarray:
    """rank[i, j]: 1-based rank of point j in row i's ranking of the other points (ties by position).

    `queries[i]` is the position of row i's own point, ranked after every other
    point (rank n); None when the rows are not points (every column is ranked).
    """
    keyed = -scores.astype(np.float64)
    if queries is not None:
        keyed[np.arange(len(keyed)), queries] = np.inf
    order = np.argsort(keyed, axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(len(order))[:, None], order] = np.arange(1, scores.shape[1] + 1)
    return ranks


def min_max(scores: np.ndarray, queries: np.ndarray | None) -> np.ndarray:
    """Each row scaled to [0, 1] over its other points (min -> 0, max -> 1); a constant row gives 0."""
    values = scores.astype(np.float64)
    others = np.ones(values.shape, dtype=bool)
    if queries is not None:
        others[np.arange(len(values)), queries] = False
    low = np.where(others, values, np.inf).min(axis=1, keepdims=True)
    high = np.where(others, values, -np.inf).max(axis=1, keepdims=True)
    spread = high - low
    return np.where(spread > 0, (values - low) / np.where(spread > 0, spread, 1), 0.0)


def fuse(member_scores: list[np.ndarray], method: str, queries: np.ndarray | None, *, k: int = RRF_K) -> np.ndarray:
    """The fused scores (rows x points) of the members' score blocks; the query's own column -inf."""
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion '{method}'; choose one of {FUSIONS}")
    fused = np.zeros(member_scores[0].shape, dtype=np.float64)
    for scores in member_scores:  # summed in member order, as Qdrant accumulates its prefetches
        if method == "rrf":
            fused += 1.0 / (k + member_ranks(scores, queries))
        else:
            fused += min_max(scores, queries)
    if queries is not None:
        fused[np.arange(len(fused)), queries] = -np.inf
    return fused


def fused_order(fused: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, fused scores) of each row's first `width` points, best first, ties by position."""
    order = np.argsort(-fused, axis=1, kind="stable")[:, :width]
    return order.astype(np.int32), np.take_along_axis(fused, order, axis=1)
