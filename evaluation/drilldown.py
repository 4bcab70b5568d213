"""One stored point's leave-one-out ranking, measured: what a per-query drill-down shows.

The point is a query against every other point of its collection (itself
excluded), exact search, ties by dataset position as in `evaluation.ranking`;
its AP and interpolated PR curve come from `evaluation.metrics`, so they are
the figures `leave_one_out` gives that query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from errors import EvaluationError
from evaluation.metrics import PR_LEVELS, average_precision, interpolated_precision
from store import Hit, ImagePayload, VectorStore


@dataclass(frozen=True)
class QueryRanking:
    """A query point, its full ranking of the other points, which of them share its label, and its figures."""

    collection: str
    query_id: str
    query: ImagePayload
    hits: list[Hit]
    relevant: list[bool]
    ap: float | None  # None when no other point has the query's label
    pr_curve: list[float | None]  # interpolated precision at PR_LEVELS recall levels

    @property
    def n_relevant(self) -> int:
        return sum(self.relevant)

    def to_json(self) -> dict:
        return {
            "collection": self.collection,
            "query": {"id": self.query_id, **self.query.to_dict()},
            "ap": self.ap,
            "n_relevant": self.n_relevant,
            "pr_curve": {
                "recall": [round(i / (PR_LEVELS - 1), 2) for i in range(PR_LEVELS)],
                "precision": self.pr_curve,
            },
            "hits": [{**hit.to_json(), "relevant": rel} for hit, rel in zip(self.hits, self.relevant, strict=True)],
        }


def rank_query(store: VectorStore, collection: str, point_id: str) -> QueryRanking:
    """The ranking and figures of the stored point `point_id` in `collection`."""
    payload = store.payload(collection, point_id)
    if payload is None:
        raise EvaluationError(f"no point in '{collection}' has id '{point_id}'")
    if payload.label is None:
        raise EvaluationError(f"point '{point_id}' of '{collection}' has no label, so no relevant hits")
    others = store.count(collection) - 1
    hits = store.query(collection, point_id, others, exact=True) if others > 0 else []
    hits.sort(key=lambda hit: (-hit.score, hit.index))
    relevant = np.array([[hit.label == payload.label for hit in hits]], dtype=bool).reshape(1, len(hits))
    n_relevant = relevant.sum(axis=1)
    ap = float(average_precision(relevant, n_relevant)[0])
    curve = interpolated_precision(relevant, n_relevant)[0]
    return QueryRanking(
        collection,
        point_id,
        payload,
        hits,
        relevant[0].tolist(),
        None if np.isnan(ap) else ap,
        [None if np.isnan(p) else float(p) for p in curve],
    )
