"""The labels an evaluation measures with: one per point, or several (multi-label relevance).

A collection is multi-label when any of its points carries several labels
(`ImagePayload.labels`); then every point's label set is used, relevance is a
shared label, and a point's shown label is its labels joined by commas.

The arrays the metrics compare with: labels are one per point (an array), or
several (a boolean membership matrix, points x classes), packed 64 classes to
a word so that a multi-label comparison of up to 64 classes costs one AND per
hit, like the single-label one: two points are relevant to each other when
they share at least one class.
"""

from __future__ import annotations

import numpy as np

from store import ImagePayload

SEPARATOR = ","
GROUP_BLOCK = 1024  # label sets compared at once by `other_members`


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


def shares_label(labels: np.ndarray, order: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """relevant[i, j]: point order[i, j] has the label of point queries[i].

    With 2-D `labels` (packed membership words from `pack_membership`, points x
    words) a hit is relevant when it shares any class with the query.
    """
    if labels.ndim == 1:
        return labels[order] == labels[queries, None]
    relevant = np.zeros(np.broadcast_shapes(order.shape, (len(queries), 1)), dtype=bool)
    for word in range(labels.shape[1]):
        column = labels[:, word]
        relevant |= (column[order] & column[queries, None]) != 0
    return relevant


def pack_membership(membership: np.ndarray) -> np.ndarray:
    """A boolean membership matrix (points x classes) as uint64 words (points x ceil(classes / 64))."""
    membership = np.asarray(membership, dtype=bool)
    width = max(64, -(-membership.shape[1] // 64) * 64)
    padded = np.zeros((len(membership), width), dtype=bool)
    padded[:, : membership.shape[1]] = membership
    return np.ascontiguousarray(np.packbits(padded, axis=1)).view(np.uint64)


def other_members(labels: np.ndarray, block: int = GROUP_BLOCK) -> np.ndarray:
    """R per point: how many other points share its label (with packed membership words, any of its classes).

    Multi-label points are grouped by their exact set of classes first: R of a
    point is the size of every group sharing a class with its own, less itself.
    """
    axis = 0 if labels.ndim == 2 else None
    groups, inverse, counts = np.unique(labels, axis=axis, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if labels.ndim == 1:
        return counts[inverse] - 1
    reach = np.empty(len(groups), dtype=np.int64)
    for start in range(0, len(groups), block):
        shared = (groups[start : start + block, None, :] & groups[None, :, :]).any(axis=2)
        reach[start : start + block] = shared @ counts
    labelled = groups.any(axis=1)  # a point without a class shares none, not even with itself
    return (reach - labelled)[inverse]


def membership(label_sets: list[tuple[str, ...]]) -> tuple[np.ndarray, list[str]]:
    """The boolean matrix (points x classes) of each point's labels, and the classes in sorted order."""
    classes = sorted({label for labels in label_sets for label in labels})
    column = {label: c for c, label in enumerate(classes)}
    matrix = np.zeros((len(label_sets), len(classes)), dtype=bool)
    for row, labels in enumerate(label_sets):
        matrix[row, [column[label] for label in labels]] = True
    return matrix, classes
