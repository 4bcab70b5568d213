"""One stored point's leave-one-out ranking, measured: what a per-query drill-down shows.

The point is a query against every other point of its collection (itself
excluded), ranked by `evaluation.ranking.ranker.ranked_blocks` and measured by
`evaluation.metrics.per_query.FigureSums`, exactly as `leave_one_out` ranks and measures
it: the same variant (a cut at k, a re-ranking stage) gives the same AP. Which
hits are relevant is `store.share_label` (a shared label), the rule the
figures count by.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from errors import EvaluationError
from evaluation.metrics.per_query import PR_LEVELS, FigureSums
from evaluation.metrics.relevance import label_sets, metric_labels, shown_labels
from evaluation.ranking.near_duplicates import find_duplicates
from evaluation.ranking.ranker import BlockOutput, ranked_blocks
from evaluation.ranking.request import Method, RankingRequest
from evaluation.records.gallery_rows import json_number
from store import Hit, ImagePayload, Points, VectorStore


@dataclass(frozen=True)
class QueryRanking:
    """A query point, its ranking of the other points, which of them share a label with it, and its figures."""

    collection: str
    query_id: str
    query: ImagePayload
    hits: list[Hit]
    relevant: list[bool]
    ap: float | None  # None when no other point shares the query's label
    pr_curve: list[float | None]  # interpolated precision at PR_LEVELS recall levels
    n_relevant: int  # R: the other points relevant to the query (past a cut at k too)
    k: int | None = None  # the ranking was cut at k (AP@k, denominator min(R, k))

    def to_json(self) -> dict:
        return {
            "collection": self.collection,
            "query": {"id": self.query_id, **self.query.to_dict()},
            "ap": self.ap,
            "k": self.k,
            "n_relevant": self.n_relevant,
            "pr_curve": {
                "recall": [round(i / (PR_LEVELS - 1), 2) for i in range(PR_LEVELS)],
                "precision": self.pr_curve,
            },
            "hits": [{**hit.to_json(), "relevant": rel} for hit, rel in zip(self.hits, self.relevant, strict=True)],
        }


def rank_query(
    store: VectorStore, collection: str, point_id: str, *, request: RankingRequest | None = None
) -> QueryRanking:
    """The ranking and figures of the stored point `point_id` in `collection` as `leave_one_out` measures them
    with `request`: cut at `request.k`, re-ranked by its stage, and with `exclude_duplicates` among the points
    each near-duplicate group keeps (found from the vectors here: the block method). A request's sample draws
    queries; this point is the one query whatever the draw."""
    request = request or RankingRequest()
    if request.exclude_duplicates:
        if request.method is Method.BATCH_QUERY:
            raise ValueError("excluding near-duplicates reads the vectors here: use the block method")
        request = replace(request, method=Method.BLOCK)
    request = request.resolved(store)
    payload = store.payload(collection, point_id)
    if payload is None:
        raise EvaluationError(f"no point in '{collection}' has id '{point_id}'")
    if payload.label is None:
        raise EvaluationError(f"point '{point_id}' of '{collection}' has no label, so no relevant hits")
    points = store.points(collection, with_vectors=request.method is Method.BLOCK)
    if request.exclude_duplicates:
        kept = np.flatnonzero(find_duplicates(points.vectors).keep)
        points = Points([points.ids[i] for i in kept], [points.payloads[i] for i in kept], points.vectors[kept])
        if point_id not in points.ids:
            raise EvaluationError(f"point '{point_id}' is a near-duplicate left out when duplicates are excluded")
    position = points.ids.index(point_id)
    sets = label_sets(points.payloads)
    labels = metric_labels(shown_labels(points.payloads, sets), sets)
    sums = FigureSums(labels, request.k, np.array([position]))
    [block] = list(ranked_blocks(store, collection, points, request=request, output=BlockOutput(queries=[position])))
    sums.add(block.order)
    figures = sums.figures()
    hits = [
        Hit.of(points.ids[p], s, points.payloads[p])
        for p, s in zip(block.order[0].tolist(), block.scores[0].tolist(), strict=True)
    ]
    return QueryRanking(
        collection,
        point_id,
        payload,
        hits,
        [hit.relevant_to(payload.label_set) for hit in hits],
        json_number(figures.ap[0]),
        [json_number(p) for p in figures.pr_curve],
        int(figures.n_relevant[0]),
        request.k,
    )
