"""The labels an evaluation measures with: one per point, or several (multi-label relevance).

A collection is multi-label when any of its points carries several labels
(`ImagePayload.labels`); then every point's label set is used, relevance is a
shared label (`evaluation.metrics.per_query`), and a point's shown label is its labels
joined by commas.
"""

from __future__ import annotations

import numpy as np

from evaluation.metrics.per_query import membership
from store import ImagePayload

SEPARATOR = ","


def label_sets(payloads: list[ImagePayload]) -> list[tuple[str, ...]] | None:
    """Every point's labels when any point has several; None for a single-label collection."""
    if not any(payload.labels for payload in payloads):
        return None
    return [payload.label_set for payload in payloads]


def shown_labels(payloads: list[ImagePayload], sets: list[tuple[str, ...]] | None) -> list[str]:
    """One label string per point: the label, or the labels joined by commas."""
    if sets is None:
        return [str(payload.label) for payload in payloads]
    return [SEPARATOR.join(labels) for labels in sets]


def metric_labels(shown: list[str], sets: list[tuple[str, ...]] | None) -> np.ndarray:
    """What `evaluate_rankings` takes: the labels, or the membership matrix of the label sets."""
    return np.array(shown) if sets is None else membership(sets)[0]
