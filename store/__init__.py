"""The store: the contract every stage uses, its two engines, naming and the payload schema.

Names, ids, records and the payload schema import at once; the engines
(qdrant-client, about 2 s to import) load on first use of `open_store`.
"""

from __future__ import annotations

from pathlib import Path

from store.base import Loader, VectorStore
from store.naming import DEFAULT_STORAGE, collection_name, point_id, slug
from store.payload import PAYLOAD_SCHEMA, ImagePayload
from store.provenance import Provenance, WeightsIdentity
from store.types import CollectionInfo, Hit, IndexSettings, IndexStatus, Points

__all__ = [
    "DEFAULT_STORAGE",
    "PAYLOAD_SCHEMA",
    "CollectionInfo",
    "Hit",
    "ImagePayload",
    "IndexSettings",
    "IndexStatus",
    "Loader",
    "Points",
    "Provenance",
    "VectorStore",
    "WeightsIdentity",
    "collection_name",
    "open_store",
    "point_id",
    "slug",
]


def open_store(
    url: str | None = None,
    api_key: str | None = None,
    path: str | Path = DEFAULT_STORAGE,
    prefer_grpc: bool = False,
    timeout: int = 60,
    create: bool = True,
) -> VectorStore:
    """A server when `url` is given, else the embedded store in `path` (see `EmbeddedStore.open`)."""
    if url:
        from store.server import ServerStore

        return ServerStore.open(url, api_key, prefer_grpc, timeout)
    from store.embedded import EmbeddedStore

    return EmbeddedStore.open(path, create)
