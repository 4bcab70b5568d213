"""The full-sort ranking the evaluation used before `evaluation.ranking.bins`: the reference its figures must equal.

Every row is scored, turned into uint64 keys (score descending, then
position) and sorted whole; the query itself sorts last and is cut. Kept here
only, as the independent reference of the tie order (dataset position).
"""

from __future__ import annotations

import numpy as np


def full_ranking(queries: np.ndarray, database: np.ndarray, positions: np.ndarray, width: int):
    """(order, scores), each (len(positions), width): every query's first `width` hits, best first, ties by position."""
    negated = queries[positions] @ database.T
    np.negative(negated, out=negated)
    negated[np.arange(len(positions)), positions] = np.inf  # the query itself sorts last and is cut
    keys = np.sort(sort_keys(negated), axis=1)[:, :width]
    return key_positions(keys), key_scores(keys)


def sort_keys(negated: np.ndarray) -> np.ndarray:
    """uint64 keys that sort as (negated score, position); -0.0 is made 0.0 first."""
    negated = negated + np.float32(0)
    bits = negated.view(np.uint32)
    flip = (bits >> 31).astype(np.uint32) * np.uint32(0x7FFFFFFF) | np.uint32(0x80000000)
    keys = (bits ^ flip).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(negated.shape[1], dtype=np.uint64)
    return keys


def key_positions(keys: np.ndarray) -> np.ndarray:
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.int32)


def key_scores(keys: np.ndarray) -> np.ndarray:
    """The scores `keys` were built from (inverse of `sort_keys`'s high half, negated back)."""
    bits = (keys >> np.uint64(32)).astype(np.uint32)
    flip = np.where(bits >> 31, np.uint32(0x80000000), np.uint32(0xFFFFFFFF))
    return -((bits ^ flip).view(np.float32))
