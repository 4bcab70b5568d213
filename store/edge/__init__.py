"""Qdrant Edge: Qdrant's own engine in this process, the embedded store (one shard per collection).

`engine.py` is the store contract over the shards; `shards.py` the one owner of
every open, hold and release of a shard, with `holders.py` the holder lock (who
holds a collection, let go of in a forked child); `store_folder.py` the folder
layout and sidecars; `queries.py` the filters and queries Edge is asked;
`indexing.py` the index settings and the HNSW build in a child process;
`footprint.py` what a collection takes on disk; `engine_errors.py` Edge's bare
Exceptions as one line each.
"""

from store.edge.engine import EdgeStore

__all__ = ["EdgeStore"]
