"""AP@k of top-k position lists: how `tune` scores an index's answers with the evaluation's own definition.

A top-k list is `store.top_k_positions`' (positions in dataset order, best
first, padded with `MISSING`). AP@k is
`per_query.average_precision` with denominator min(R, k), so a tuned mAP@k
compares with the study's. The command layer hands `top_k_quality` to `tune`,
which never imports this stage.
"""

from __future__ import annotations

import numpy as np

from evaluation.metrics.per_query import average_precision
from evaluation.metrics.relevance import (
    label_sets,
    metric_labels,
    other_members,
    pack_membership,
    shares_label,
    shown_labels,
)
from store import ImagePayload
from store.top_k_positions import MISSING, TopKScorer


def encode_labels(labels: np.ndarray) -> np.ndarray:
    """Labels as `shares_label` compares them: integer codes, or a membership matrix packed into words."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return pack_membership(labels)
    return np.unique(labels, return_inverse=True)[1].ravel().astype(np.int32)


def ap_at_k(order: np.ndarray, codes: np.ndarray, queries: np.ndarray, *, k: int) -> np.ndarray:
    """AP@k of each query's top-k positions (NaN where its class has no other member)."""
    relevant = shares_label(codes, np.where(order == MISSING, 0, order), queries) & (order != MISSING)
    denominators = np.minimum(other_members(codes)[queries], k)
    return average_precision(relevant, denominators)


def top_k_quality(payloads: list[ImagePayload]) -> TopKScorer | None:
    """AP@k of (top-k positions, query positions, k) under the points' labels; None where a point has none."""
    if not all(payload.label_set for payload in payloads):
        return None
    sets = label_sets(payloads)
    codes = encode_labels(metric_labels(shown_labels(payloads, sets), sets))
    return lambda order, queries, k: ap_at_k(order, codes, queries, k=k)
