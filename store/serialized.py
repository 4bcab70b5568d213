"""An engine made for one thread at a time, shared by several: every contract call under one lock.

The web app answers requests on threads; an engine whose `Capabilities.threads`
is False (qdrant-client's local mode) is wrapped in `SerializedStore`, which
is a store like any other (the contract suite runs it) and reports the wrapped
engine's capabilities. A scroll takes the lock for each page, so a long read
lets other calls run between pages; a bulk load holds it until the load ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from store.base import Loader, Query, VectorStore
from store.capabilities import Capabilities
from store.example_query import ExampleQuery
from store.payload import ImagePayload
from store.provenance import Provenance
from store.types import CollectionInfo, Footprint, Hit, IndexSettings, IndexStatus, Points, SearchSettings


class SerializedStore(VectorStore):
    """`store` with each call made under one re-entrant lock."""

    def __init__(self, store: VectorStore) -> None:
        super().__init__()
        self._store = store
        self._lock = threading.RLock()
        self.location = store.location

    @property
    def capabilities(self) -> Capabilities:
        return self._store.capabilities

    def close(self) -> None:
        with self._lock:
            self._store.close()

    # collections

    def collection_names(self) -> list[str]:
        with self._lock:
            return self._store.collection_names()

    def exists(self, name: str) -> bool:
        with self._lock:
            return self._store.exists(name)

    def require(self, name: str) -> None:
        with self._lock:
            self._store.require(name)

    def ensure_collection(
        self,
        name: str,
        dim: int,
        *,
        recreate: bool = False,
        settings: IndexSettings | None = None,
        provenance: Provenance | None = None,
    ) -> bool:
        with self._lock:
            return self._store.ensure_collection(name, dim, recreate=recreate, settings=settings, provenance=provenance)

    def hold(self, name: str) -> None:
        with self._lock:
            self._store.hold(name)

    def metadata(self, name: str) -> dict:
        with self._lock:
            return self._store.metadata(name)

    def check_schema(self, name: str) -> None:
        with self._lock:
            self._store.check_schema(name)

    def forget_schema(self, name: str) -> None:
        with self._lock:
            self._store.forget_schema(name)

    def provenance(self, name: str) -> Provenance | None:
        with self._lock:
            return self._store.provenance(name)

    def set_provenance(self, name: str, provenance: Provenance) -> None:
        with self._lock:
            self._store.set_provenance(name, provenance)

    def drop(self, name: str) -> None:
        with self._lock:
            self._store.drop(name)

    def fresh_staging(self, name: str) -> str:
        with self._lock:
            return self._store.fresh_staging(name)

    def replace(self, name: str, staging: str, settings: IndexSettings | None = None) -> None:
        with self._lock:
            self._store.replace(name, staging, settings)

    def reindex(self, name: str, settings: IndexSettings) -> None:
        with self._lock:
            self._store.reindex(name, settings)

    def info(self, name: str) -> CollectionInfo:
        with self._lock:
            return self._store.info(name)

    def count(self, name: str) -> int:
        with self._lock:
            return self._store.count(name)

    def index_status(self, name: str) -> IndexStatus:
        with self._lock:
            return self._store.index_status(name)

    def build_index(self, name: str, force: bool = False) -> bool:
        with self._lock:
            return self._store.build_index(name, force)

    def footprint(self, name: str) -> Footprint | None:
        with self._lock:
            return self._store.footprint(name)

    # points

    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, *, payloads: list[ImagePayload]) -> None:
        with self._lock:
            self._store.upsert(name, ids, vectors, payloads=payloads)

    @contextmanager
    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> Iterator[Loader]:
        with self._lock, self._store.bulk_load(name, settings) as loader:
            yield loader

    def overwrite_payloads(self, name: str, payloads: dict[str, ImagePayload]) -> None:
        with self._lock:
            self._store.overwrite_payloads(name, payloads)

    def delete(self, name: str, ids: list[str]) -> None:
        with self._lock:
            self._store.delete(name, ids)

    def point_ids(self, name: str) -> set[str]:
        with self._lock:
            return self._store.point_ids(name)

    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[Points]:
        with self._lock:
            pages = self._store.scroll(name, with_vectors)
        try:
            while True:
                with self._lock:
                    page = next(pages, None)
                if page is None:
                    return
                yield page
        finally:
            with self._lock:
                pages.close()

    def points(self, name: str, with_vectors: bool = False) -> Points:
        with self._lock:
            return self._store.points(name, with_vectors)

    def find_by_path(self, name: str, path: str) -> str | None:
        with self._lock:
            return self._store.find_by_path(name, path)

    def payload(self, name: str, point_id: str) -> ImagePayload | None:
        with self._lock:
            return self._store.payload(name, point_id)

    # queries

    def query(self, name: str, query: Query, limit: int, *, label: str | None = None, exact: bool = False) -> list[Hit]:
        with self._lock:
            return self._store.query(name, query, limit, label=label, exact=exact)

    def query_examples(self, name: str, asked: ExampleQuery) -> list[Hit]:
        with self._lock:
            return self._store.query_examples(name, asked)

    def query_many(
        self, name: str, queries: list[Query], limit: int, *, exact: bool, search: SearchSettings | None = None
    ) -> list[tuple[list[str], np.ndarray]]:
        with self._lock:
            return self._store.query_many(name, queries, limit, exact=exact, search=search)

    def fused_query(
        self, members: list[str], point_id: str, limit: int, *, rank_constant: int, depth: int
    ) -> list[Hit]:
        with self._lock:
            return self._store.fused_query(members, point_id, limit, rank_constant=rank_constant, depth=depth)
