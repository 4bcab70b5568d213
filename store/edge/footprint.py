"""What an Edge collection's parts take on disk, read from its shard's files.

Inside `shard/segments/<segment>/`, Edge keeps the original vectors under
`vector_storage/`, the quantized copy beside them as `vector_storage/quantized*`,
and the HNSW graph under `vector_index/`; everything else (payloads, payload
indexes, the id tracker, the write-ahead log) is `other`. Files are
preallocated sparse (a 32 MB chunk holding 1 MB), so a file counts the smaller
of its size and the blocks it occupies.
"""

from __future__ import annotations

import os
from pathlib import Path

from store.types import Footprint

SEGMENTS = "segments"


def shard_footprint(shard: Path) -> Footprint:
    """The bytes of the vectors, the graph, the quantized copy and the rest under the shard folder `shard`."""
    parts = {"vectors": 0, "index": 0, "quantized": 0, "other": 0}
    for folder, _, files in os.walk(shard):
        for file in files:
            path = Path(folder, file)
            stat = path.stat()
            parts[_part(path.relative_to(shard).parts)] += min(stat.st_size, stat.st_blocks * 512)
    return Footprint(**parts)


def _part(relative: tuple[str, ...]) -> str:
    """Which part a file is, by its path inside the shard (segments/<segment>/<area>/<name>...)."""
    if len(relative) < 4 or relative[0] != SEGMENTS:
        return "other"
    area, name = relative[2], relative[3]
    if area == "vector_index":
        return "index"
    if area == "vector_storage":
        return "quantized" if name.startswith("quantized") else "vectors"
    return "other"
