"""The pieces of Edge requests: filters on the payload fields queries use, point ids, vectors."""

from __future__ import annotations

import uuid

import qdrant_edge as edge


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


def dense(vector) -> list[float]:
    """The unnamed dense vector of a record (Edge may return it as {'': [...]})."""
    return vector[""] if isinstance(vector, dict) else vector
