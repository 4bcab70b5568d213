"""The note ingest and eval give when a collection outgrows what its engine serves well.

Each engine states the size past which it serves poorly (`Capabilities.note_above`),
measured by bench/embedded_limits.py (BENCHMARKS.md, "Embedded store limits"),
384-d vectors on 2 loaded cores. qdrant-client's local mode loads every point
into Python objects when a process opens the folder and scores a stored-point
query in Python: at 100,000 points opening takes 5 to 11 s and 2.3 GB and a
stored-point query 0.35 to 0.9 s, so past 20,000 points a search takes seconds.
Qdrant Edge memory-maps its segments: at 1,000,000 points it opens in about
1 s with 1.75 GB and answers an exact stored-point query in about 55 ms; past
that, a server or cluster spreads the points over machines.
"""

from __future__ import annotations

from store.base import VectorStore


def size_note(store: VectorStore, name: str, limit: int | None = None) -> str | None:
    """One line when collection `name` holds more points than `limit` (default: what its engine
    serves well); None otherwise, and always None for an engine without a measured limit."""
    limit = store.capabilities.note_above if limit is None else limit
    if limit is None or store.capabilities.note_above is None:
        return None
    points = store.count(name)
    if points <= limit:
        return None
    return (
        f"{name}: {points:,} points in the embedded store, over the {limit:,} its engine serves well; "
        f"{store.capabilities.advice} (docs/scale.md)"
    )
