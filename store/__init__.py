"""The store: the contract every stage uses, its engines, naming and the payload schema.

Names, ids, records and the payload schema import at once; the engines
(qdrant-client about 0.7 to 2 s to import, Qdrant Edge 2 ms) load on first use
of `open_store`.
"""

from __future__ import annotations

import os
from pathlib import Path

from errors import StoreError
from store.base import Loader, VectorStore
from store.capabilities import Capabilities
from store.naming import DEFAULT_STORAGE, collection_name, point_id, slug
from store.payload import PAYLOAD_SCHEMA, ImagePayload, share_label
from store.provenance import Provenance, WeightsIdentity
from store.types import CollectionInfo, Hit, IndexSettings, IndexStatus, OpenOptions, Points, SearchSettings

__all__ = [
    "Capabilities",
    "DEFAULT_STORAGE",
    "PAYLOAD_SCHEMA",
    "CollectionInfo",
    "Hit",
    "ImagePayload",
    "IndexSettings",
    "IndexStatus",
    "Loader",
    "OpenOptions",
    "Points",
    "SearchSettings",
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
    *,
    create: bool = True,
    engine: str | None = None,
    options: OpenOptions | None = None,
) -> VectorStore:
    """A server when `url` is given, else the embedded store in `path`, read by the engine its
    folder records (a new folder: `engine`, by default Qdrant Edge). With `create` False a missing
    store is an error, not a new empty one (a misspelled --storage would otherwise look empty).
    `options`: the server's protocol and timeout, the embedded store's waits (`OpenOptions`)."""
    options = options or OpenOptions()
    if url:
        from store.client.server import ServerStore

        return ServerStore.open(url, api_key, prefer_grpc=options.prefer_grpc, timeout=options.timeout)
    from store.engines import choose

    return choose(Path(path), engine).open(
        Path(path), create, wait=options.wait, idle_release=options.idle_release, yielding=options.yielding
    )


def open_existing_store(
    url: str | None = None,
    api_key: str | None = None,
    path: str | Path = DEFAULT_STORAGE,
    *,
    engine: str | None = None,
    options: OpenOptions | None = None,
) -> VectorStore | None:
    """The store if there is one (a server, or an embedded store in `path`), opened; else None once
    `path` is known to be a place where one can be created. Nothing is created: a command checks its
    store this way before loading any model."""
    from store.engines import choose, has_store

    if url or has_store(Path(path)):
        return open_store(url, api_key, path, create=False, engine=engine, options=options)
    choose(Path(path), engine)  # an unknown engine fails now
    check_creatable(Path(path))
    return None


def check_creatable(folder: Path) -> None:
    """Raise StoreError unless an embedded store could be created in `folder` (nothing is made)."""
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"--storage '{folder}' is a file, not a folder; pass the folder of an embedded store")
    ancestor = next(parent for parent in (folder, *folder.absolute().parents) if parent.exists())
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise StoreError(
            f"cannot create the embedded store in '{folder}': '{ancestor}' is not writable; pass --storage "
            f"with a folder you can write to"
        )
