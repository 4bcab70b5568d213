"""The store: the contract every stage uses, its two engines, naming and the payload schema.

Names, ids, records and the payload schema import at once; the engines
(qdrant-client, about 2 s to import) load on first use of `open_store`.
"""

from __future__ import annotations

from pathlib import Path

from store.base import Loader, VectorStore
from store.naming import DEFAULT_STORAGE, collection_name, point_id, slug
from store.payload import PAYLOAD_SCHEMA, ImagePayload, share_label
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
    "open_existing_store",
    "open_store",
    "point_id",
    "share_label",
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


def open_existing_store(
    url: str | None = None, api_key: str | None = None, path: str | Path = DEFAULT_STORAGE, prefer_grpc: bool = False
) -> VectorStore | None:
    """The store if there is one (a server, or an embedded store in `path`), opened; else None once
    `path` is known to be a place where one can be created. Nothing is created: a command checks its
    store this way before loading any model."""
    if url or (Path(path) / "meta.json").is_file():
        return open_store(url, api_key, path, prefer_grpc, create=False)
    from store.embedded import check_creatable

    check_creatable(Path(path))
    return None
