"""What `tune` measures on each setting's top-k lists: pure functions on arrays of positions.

A top-k list is a row of positions (into the collection, dataset order),
best first, padded with -1 where the engine returned fewer than k hits.
recall@k is |approximate top k & exact top k| / |exact top k|; AP@k uses
`evaluation.metrics`'s definition (denominator min(R, k)), so the tuned
mAP@k and the exact one compare with the study's.
"""

from __future__ import annotations

import numpy as np

from evaluation.metrics import average_precision, other_members, pack_membership, shares_label

MISSING = -1


def positions_of(hits: list[list[str]], position: dict[str, int], k: int, leave_out: list[str]) -> np.ndarray:
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


def encode_labels(labels: np.ndarray) -> np.ndarray:
    """Labels as `shares_label` compares them: integer codes, or a membership matrix packed into words."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return pack_membership(labels)
    return np.unique(labels, return_inverse=True)[1].ravel().astype(np.int32)


def ap_at_k(order: np.ndarray, codes: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """AP@k of each query's top-k positions (NaN where its class has no other member)."""
    relevant = shares_label(codes, np.where(order == MISSING, 0, order), queries) & (order != MISSING)
    denominators = np.minimum(other_members(codes)[queries], k)
    return average_precision(relevant, denominators)


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q)) if seconds else float("nan")
