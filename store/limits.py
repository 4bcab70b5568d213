"""The size above which the embedded store stops serving, and the note ingest and eval give past it.

qdrant-client's embedded mode loads every point into Python objects when a
process opens the folder (each `search` command opens it) and scores a
stored-point query in Python over all of them, so open time, memory and query
latency all grow linearly with the points. bench/embedded_limits.py
(BENCHMARKS.md, "Embedded store limits"), 384-d, 2 loaded cores: 10,000
points open in 1.2 s with 0.24 GB and answer a stored-point query in 80 ms;
30,000 in 4.4 s, 0.70 GB, 0.40 s; 100,000 in 10.6 s, 2.3 GB, 0.88 s;
300,000 in 22.7 s, 6.9 GB, 1.5 s. Past about 20,000 points a search takes
seconds: a server is the right choice.
"""

from __future__ import annotations

from store.base import VectorStore

EMBEDDED_LIMIT = 20_000  # points; the measurement is in the module docstring


def embedded_note(store: VectorStore, name: str, limit: int = EMBEDDED_LIMIT) -> str | None:
    """One line when collection `name` of an embedded store holds more than `limit` points; None otherwise."""
    if not store.in_process:
        return None
    points = store.count(name)
    if points <= limit:
        return None
    return (
        f"{name}: {points:,} points in the embedded store, over the {limit:,} it serves well (at 100,000 "
        f"opening takes 11 s and 2.3 GB, a stored-point query 0.9 s); run a Qdrant server and pass "
        f"--qdrant-url (docs/scale.md)"
    )
