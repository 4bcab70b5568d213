"""What an engine can do, stated once so callers ask the capability, never the engine's type."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Capabilities:
    """The facts about an engine that change what a caller should do.

    `exact_only`: every search is exact (no approximate index to measure or tune).
    `local_vectors`: the vectors are on this machine, so reading them all is cheap
    and the evaluation ranks in blocks here rather than asking the engine.
    `threads`: calls may run on several threads at once.
    `index_settings`: HNSW and quantization settings apply to new collections.
    `shared`: several processes may use the store at once; a collection is held
    only while one of them uses it.
    `note_above`: points past which this engine serves poorly and a note is due,
    with `advice` saying what serves better; None where no limit was measured.
    `fused_query`: `VectorStore.fused_query` answers (a fusion query of the engine's own, prefetch + RRF).
    """

    exact_only: bool
    local_vectors: bool
    threads: bool
    index_settings: bool
    shared: bool
    note_above: int | None = None
    advice: str = ""
    fused_query: bool = False

    def to_json(self) -> dict:
        return asdict(self)
