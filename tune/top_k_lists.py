"""What `tune` measures on each setting's top-k lists: pure functions on arrays of positions.

A top-k list is `store.top_k_positions`' (positions in dataset order, best
first, padded with `MISSING` where the engine returned fewer than k hits).
recall@k is |approximate top k & exact top k| / |exact top k|. AP@k is the
evaluation's, handed in by the command layer (`TuneOptions.quality`).
"""

from __future__ import annotations

import numpy as np

from store.top_k_positions import MISSING


def positions_of(hits: list[list[str]], position: dict[str, int], k: int, *, leave_out: list[str]) -> np.ndarray:
    """The top-k positions of each query's hits (ids), the query's own id `leave_out[i]` removed."""
    order = np.full((len(hits), k), MISSING, dtype=np.int64)
    for row, (ids, own) in enumerate(zip(hits, leave_out, strict=True)):
        kept = [position[point] for point in ids if point != own][:k]
        order[row, : len(kept)] = kept
    return order


def recall_at_k(exact: np.ndarray, approximate: np.ndarray) -> np.ndarray:
    """Per query: the share of its exact top k (rows of positions) that the approximate top k holds."""
    recalls = np.full(len(exact), np.nan)
    for row, (truth, found) in enumerate(zip(exact, approximate, strict=True)):
        truth = set(truth[truth != MISSING].tolist())
        if truth:
            recalls[row] = len(truth & set(found[found != MISSING].tolist())) / len(truth)
    return recalls


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q)) if seconds else float("nan")
