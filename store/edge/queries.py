"""Edge requests: filters on the payload fields queries use, point ids, vectors, nearest-neighbour queries
and queries by examples (recommend, MMR, score threshold).

Edge has no query by stored point id (a `TypeError`): a query by stored point reads the point's vector and
queries it with the point left out by a filter; so does a query by stored examples.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import qdrant_edge as edge

from errors import StoreError
from store.base import Query
from store.example_query import ExampleQuery, Strategy
from store.types import SearchSettings


@dataclass(frozen=True)
class Asked:
    """What a nearest-neighbour query of collection `collection` asks besides the query itself."""

    collection: str
    limit: int
    params: edge.SearchParams
    with_payload: bool = False
    label: str | None = None  # only points carrying this label


def match(key: str, value: str) -> edge.Filter:
    return edge.Filter(must=[edge.FieldCondition(key=key, match=edge.MatchValue(value))])


def carries_label(label: str) -> edge.Filter:
    """Points with `label` among their labels: as `label` (the first, or only one) or in `labels` (several)."""
    return edge.Filter(
        should=[edge.FieldCondition(key=key, match=edge.MatchValue(label)) for key in ("label", "labels")]
    )


def point_key(point_id: str) -> str | int | None:
    """A point id as Edge takes it (a UUID or an unsigned integer); None for anything else."""
    try:
        return str(uuid.UUID(point_id))
    except ValueError:
        return int(point_id) if point_id.isdigit() else None


def dense(vector, collection: str) -> list[float]:
    """The unnamed dense vector of a record of `collection` (Edge may return it as {'': [...]}); a record
    without one (the shard's vector storage removed or damaged) is one line saying what to do."""
    found = vector.get("") if isinstance(vector, dict) else vector
    if found is None:
        raise StoreError(
            f"collection '{collection}' has points without their vectors (its shard's vector_storage is missing "
            f"or damaged); move the collection's folder aside and ingest it again"
        )
    return found


def approximate_params(asked: SearchSettings | None, recorded: SearchSettings) -> edge.SearchParams:
    """The beam and quantization search `asked`, each unset one the collection's `recorded`."""
    search = (asked or SearchSettings()).over(recorded)
    quantization = None
    if search.rescore is not None or search.oversampling is not None:
        quantization = edge.QuantizationSearchParams(rescore=search.rescore, oversampling=search.oversampling)
    return edge.SearchParams(hnsw_ef=search.hnsw_ef, quantization=quantization)


def nearest(shard: edge.EdgeShard, query: Query, asked: Asked) -> edge.QueryRequest:
    """The request for the nearest points of `query` (a vector, or a stored point's id: then its
    vector, the point itself left out)."""
    stored = stored_vectors(shard, [query] if isinstance(query, str) else [], asked.collection)
    return edge.QueryRequest(
        limit=asked.limit,
        query=edge.Query.Nearest(stored[query].tolist() if isinstance(query, str) else _listed(query)),
        filter=_filter(asked.label, stored),
        params=asked.params,
        with_payload=asked.with_payload,
    )


def by_examples(shard: edge.EdgeShard, examples: ExampleQuery, asked: Asked) -> edge.QueryRequest:
    """The request for `examples`: Edge's nearest query (its `Mmr` with `examples.mmr`) for one positive
    example, else its recommend query of the strategy asked; the stored examples' vectors read and the
    points left out; `min_score` as the score threshold."""
    stored = stored_vectors(shard, examples.stored, asked.collection)

    def vectors(found: tuple) -> list[list[float]]:
        return [stored[e].tolist() if isinstance(e, str) else _listed(e) for e in found]

    positives, negatives = vectors(examples.positives), vectors(examples.negatives)
    if examples.nearest and examples.mmr is not None:
        query = edge.Mmr(positives[0], examples.mmr.relevance, examples.candidates)
    elif examples.nearest:
        query = edge.Query.Nearest(positives[0])
    else:
        scored = {Strategy.BEST: edge.Query.RecommendBestScore, Strategy.SUM: edge.Query.RecommendSumScores}
        query = scored[examples.strategy](edge.RecommendQuery(positives, negatives))
    return edge.QueryRequest(
        limit=asked.limit,
        query=query,
        filter=_filter(asked.label, stored),
        score_threshold=examples.min_score,
        params=asked.params,
        with_payload=asked.with_payload,
    )


def stored_vectors(shard: edge.EdgeShard, ids: list[str], collection: str) -> dict[str, np.ndarray]:
    """The vectors of the stored points `ids`, by id; an id no point has is one line naming it."""
    if not ids:
        return {}
    keys = {point: point_key(point) for point in ids}
    records = shard.retrieve(
        [key for key in set(keys.values()) if key is not None], with_payload=False, with_vector=True
    )
    found = {str(record.id): np.asarray(dense(record.vector, collection), np.float32) for record in records}
    for point, key in keys.items():
        if key is None or str(key) not in found:
            raise StoreError(f"no point with id '{point}' in collection '{collection}'")
    return {point: found[str(key)] for point, key in keys.items()}


def _listed(vector: np.ndarray) -> list[float]:
    return np.asarray(vector, np.float32).tolist()


def _filter(label: str | None, stored: dict[str, np.ndarray]) -> edge.Filter | None:
    """Only points carrying `label` (where given), and none of the `stored` examples."""
    conditions = [carries_label(label)] if label is not None else []
    excluded = [edge.HasIdCondition({point_key(point) for point in stored})] if stored else []
    return edge.Filter(must=conditions or None, must_not=excluded or None) if conditions or excluded else None
