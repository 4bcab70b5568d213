"""Edge requests: filters on the payload fields queries use, point ids, vectors, and nearest-neighbour queries.

Edge has no nearest-by-id query: a query by stored point reads the point's
vector and queries it with the point left out by a filter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import qdrant_edge as edge

from errors import StoreError
from store.base import Query
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
    conditions = [carries_label(asked.label)] if asked.label is not None else []
    excluded = []
    if isinstance(query, str):
        key = point_key(query)
        records = shard.retrieve([key], with_payload=False, with_vector=True) if key is not None else []
        if not records:
            raise StoreError(f"no point with id '{query}' in collection '{asked.collection}'")
        excluded = [edge.HasIdCondition({key})]
        query = np.asarray(dense(records[0].vector, asked.collection), np.float32)
    return edge.QueryRequest(
        limit=asked.limit,
        query=edge.Query.Nearest(np.asarray(query, np.float32).tolist()),
        filter=edge.Filter(must=conditions or None, must_not=excluded or None) if conditions or excluded else None,
        params=asked.params,
        with_payload=asked.with_payload,
    )
