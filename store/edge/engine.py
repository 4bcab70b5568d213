"""The Qdrant Edge store: the store contract over one Edge shard per collection.

Each collection is an Edge shard in its own folder (`store/edge/store_folder.py`),
opened when first used and held only while this process uses it
(`store/edge/shards.py`, the one owner of opens, holds and releases), so other
commands can work on other collections of the same store at the same time.
What Edge lacks is built here: collection metadata lives in a sidecar file; a
query by stored point reads the point's vector and queries it with the point
excluded by a filter (`store/edge/queries.py`); scrolls always page (without a
limit Edge returns 10 points); every engine error, a bare Exception, becomes
one line naming the collection (`store/edge/engine_errors.py`). The HNSW build
(`optimize`) holds the GIL and ignores Ctrl-C, so it runs in a child process
(`store/edge/indexing.py`).
"""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import qdrant_edge as edge

from errors import CollectionBusyError, MediaError, StoreError
from store.base import SCROLL_PAGE, Loader, Query, VectorStore
from store.capabilities import Capabilities
from store.edge.footprint import shard_footprint
from store.edge.indexing import HNSW_MIN_POINTS, build_index, check_settings, edge_config
from store.edge.queries import Asked, approximate_params, by_examples, dense, match, nearest, point_key
from store.edge.shards import OpenShards
from store.edge.store_folder import StoreFolder, is_edge_store
from store.example_query import ExampleQuery
from store.naming import is_staging, name_problem
from store.payload import PAYLOAD_SCHEMA, SCHEMA_KEY, ImagePayload
from store.provenance import Provenance
from store.types import CollectionInfo, Footprint, Hit, IndexSettings, IndexStatus, Points, SearchSettings

INDEXED_FIELDS = ("label", "labels", "path")  # the payload fields queries filter on
EDGE = Capabilities(
    exact_only=False,
    local_vectors=True,
    threads=True,
    index_settings=True,
    shared=True,
    note_above=1_000_000,
    advice="run a Qdrant server or cluster and pass --qdrant-url",
)


class EdgeStore(VectorStore):
    """The Edge store in `folder`; opened by `store.open_store` (`wait`, `idle_release`, `yielding`: `OpenShards`)."""

    def __init__(
        self, folder: StoreFolder, *, wait: float = 0.0, idle_release: float | None = None, yielding: bool = False
    ) -> None:
        super().__init__()
        self._folder = folder
        self.location = folder.location
        self._shards = OpenShards(folder, wait=wait, idle_release=idle_release, yielding=yielding)
        self._shards.settle_swaps()

    @classmethod
    def open(
        cls,
        path: str | Path,
        create: bool = True,
        *,
        wait: float = 0.0,
        idle_release: float | None = None,
        yielding: bool = False,
    ) -> EdgeStore:
        folder = StoreFolder(Path(path))
        if folder.path.exists() and not folder.path.is_dir():
            raise StoreError(f"--storage '{path}' is a file, not a folder; pass the folder of an embedded store")
        if not is_edge_store(folder.path):
            if not create:
                raise StoreError(
                    f"there is no embedded store in '{path}'; create one with `python cli.py ingest`, "
                    f"or pass --storage with its folder or --qdrant-url for a server"
                )
            try:
                folder.mark(importlib.metadata.version("qdrant-edge-py"))  # a failed write is one line naming the file
            except (OSError, MediaError) as error:  # the folder cannot be made, or the format file written
                raise StoreError(
                    f"cannot create the embedded store in '{path}': {getattr(error, 'strerror', None) or error}; "
                    f"pass --storage with a folder you can write to"
                ) from None
        return cls(folder, wait=wait, idle_release=idle_release, yielding=yielding)

    @property
    def capabilities(self) -> Capabilities:
        return EDGE

    def close(self) -> None:
        self._shards.close()

    def _shard(
        self, name: str, *, wait: float | None = None, writes: bool = False
    ) -> AbstractContextManager[edge.EdgeShard]:
        """The open shard of collection `name` while the block runs (`OpenShards.use`)."""
        self.require(name)
        return self._shards.use(name, wait=wait, writes=writes)

    # collections

    def collection_names(self) -> list[str]:
        return [name for name in self._folder.names() if not is_staging(name)]

    def exists(self, name: str) -> bool:
        return name_problem(name) is None and self._folder.has(name)

    def ensure_collection(
        self,
        name: str,
        dim: int,
        *,
        recreate: bool = False,
        settings: IndexSettings | None = None,
        provenance: Provenance | None = None,
    ) -> bool:
        settings = settings or IndexSettings()
        check_settings(settings)
        if self.exists(name):
            if not recreate:
                self._check_vectors(name, dim)
                return False
            self.drop(name)
        if not self._shards.create(name, edge_config(dim, settings)):
            self._check_vectors(name, dim)  # this process holds it, or another part of the same ingest made it
            return False
        with self._shards.use(name) as shard:
            for key in INDEXED_FIELDS:
                shard.update(edge.UpdateOperation.create_field_index(key, edge.PayloadSchemaType.Keyword))
        metadata = provenance.to_metadata() if provenance else {SCHEMA_KEY: PAYLOAD_SCHEMA}
        self._folder.write_sidecar(
            name, {"name": name, "dim": dim, "distance": "Cosine", "settings": asdict(settings), "metadata": metadata}
        )
        return True

    def _check_vectors(self, name: str, dim: int) -> None:
        stored = self._folder.sidecar(name).get("dim")
        if stored != dim:
            raise StoreError(
                f"collection '{name}' holds {stored}-d Cosine vectors but this encoder gives {dim}-d Cosine; "
                f"drop it (`python cli.py collections drop {name}`) or ingest with --recreate"
            )

    def hold(self, name: str) -> None:
        """Take the collection now (before a model loads), until this process lets it go."""
        with self._shard(name):
            pass

    def metadata(self, name: str) -> dict:
        self.require(name)
        return dict(self._folder.sidecar(name).get("metadata") or {})

    def set_provenance(self, name: str, provenance: Provenance) -> None:
        self.require(name)
        self.forget_schema(name)
        self._folder.write_sidecar(name, {**self._folder.sidecar(name), "metadata": provenance.to_metadata()})

    def settings(self, name: str) -> IndexSettings:
        """The index settings the collection was created with."""
        recorded = self._folder.sidecar(name).get("settings") or {}
        return IndexSettings(**{k: v for k, v in recorded.items() if k in IndexSettings.__dataclass_fields__})

    def drop(self, name: str) -> None:
        self.require(name)
        self.forget_schema(name)
        with self._shards.alone(name, "drop it") as folder:
            self._folder.unmark(name)  # no longer a collection, whatever happens next
            shutil.rmtree(self._folder.shard(name), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)

    def replace(self, name: str, staging: str, settings: IndexSettings | None = None) -> None:
        """Swap folders: the old collection's folder is set aside (held), the staging collection's takes its
        place, then the old one is removed, so a kill at any moment leaves the old collection or the new one,
        which the next open settles (`OpenShards.settle_swaps`). `settings` are not needed: the staging
        collection was made with them and keeps them."""
        self.require(staging)
        self.forget_schema(name)
        self.forget_schema(staging)
        with self._shards.alone(staging, "replace it") as staged:
            self._folder.write_sidecar(staging, {**self._folder.sidecar(staging), "name": name})
            if not self.exists(name):
                staged.rename(self._folder.collection(name))
                return
            with self._shards.alone(name, "replace it") as old:
                self._folder.swap_in(staged, old)
        self._folder.remove_set_aside(name)

    def info(self, name: str) -> CollectionInfo:
        """Never waits: a collection another process holds shows its sidecar's facts, its count as
        of its last write, and who holds it (`busy`)."""
        self.require(name)
        sidecar = self._folder.sidecar(name)
        provenance = Provenance.read(dict(sidecar.get("metadata") or {}))
        payload, busy = ImagePayload.read(None), None
        try:
            with self._shard(name, wait=0) as shard:
                points = shard.count(edge.CountRequest(exact=True))
                if provenance is None:  # a collection that does not describe itself: its first point may
                    first, _ = shard.scroll(edge.ScrollRequest(limit=1, with_payload=True))
                    payload = ImagePayload.read(first[0].payload if first else None)
        except CollectionBusyError as error:
            points, busy = int(sidecar.get("points") or 0), str(error).split("; ")[0]
        return CollectionInfo(
            name=name,
            points=points,
            dim=int(sidecar.get("dim") or 0),
            distance=str(sidecar.get("distance", "Cosine")),
            dataset=provenance.dataset if provenance else payload.dataset,
            encoder=provenance.encoder if provenance else payload.encoder,
            location=self.location,
            provenance=provenance,
            busy=busy,
        )

    def count(self, name: str) -> int:
        with self._shard(name) as shard:
            return shard.count(edge.CountRequest(exact=True))

    def index_status(self, name: str) -> IndexStatus:
        with self._shard(name) as shard:
            info = shard.info()
            return IndexStatus(info.points_count, info.indexed_vectors_count)

    # points

    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, *, payloads: list[ImagePayload]) -> None:
        points = [
            edge.Point(id=point, vector=vector.astype(np.float32, copy=False), payload=payload.to_dict())
            for point, vector, payload in zip(ids, vectors, payloads, strict=True)
        ]
        with self._shard(name, writes=True) as shard:
            shard.update(edge.UpdateOperation.upsert_points(points))
            shard.flush()

    @contextmanager
    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> Iterator[Loader]:
        """Upserts of SCROLL_PAGE points (Edge takes large batches best)."""
        loader = Loader(self, name, SCROLL_PAGE)
        yield loader
        loader.flush()

    def build_index(self, name: str, force: bool = False) -> bool:
        """Build the HNSW index (and quantized copy) in a child process, for a collection of at least
        HNSW_MIN_POINTS points (below that exact search is as fast) or when forced; True if built."""
        if not force and self.count(name) < HNSW_MIN_POINTS:
            return False
        with self._shards.alone_held(name, "build its index") as holder:
            build_index(self._folder.shard(name), name, holder.descriptor)
        return True

    def footprint(self, name: str) -> Footprint:
        """Read from the shard's files (`store/edge/footprint.py`), after writing out what is pending."""
        with self._shard(name) as shard:
            shard.flush()
        return shard_footprint(self._folder.shard(name))

    def overwrite_payloads(self, name: str, payloads: dict[str, ImagePayload]) -> None:
        if not payloads:
            return
        with self._shard(name) as shard:
            for point, payload in payloads.items():
                shard.update(edge.UpdateOperation.overwrite_payload([point], payload.to_dict()))
            shard.flush()

    def delete(self, name: str, ids: list[str]) -> None:
        if not ids:
            return
        with self._shard(name, writes=True) as shard:
            for start in range(0, len(ids), SCROLL_PAGE):
                shard.update(edge.UpdateOperation.delete_points(list(ids[start : start + SCROLL_PAGE])))
            shard.flush()

    def _pages(self, name: str, with_payload: bool, with_vectors: bool) -> Iterator[list]:
        with self._shard(name) as shard:
            offset = None
            while True:
                records, offset = shard.scroll(
                    edge.ScrollRequest(
                        offset=offset, limit=SCROLL_PAGE, with_payload=with_payload, with_vector=with_vectors
                    )
                )
                yield records
                if offset is None:
                    return

    def point_ids(self, name: str) -> set[str]:
        return {str(r.id) for page in self._pages(name, False, False) for r in page}

    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[Points]:
        self.check_schema(name)
        for page in self._pages(name, True, with_vectors):
            if page:
                vectors = np.asarray([dense(r.vector, name) for r in page], np.float32) if with_vectors else None
                yield Points([str(r.id) for r in page], [ImagePayload.read(r.payload) for r in page], vectors)

    def find_by_path(self, name: str, path: str) -> str | None:
        self.check_schema(name)
        with self._shard(name) as shard:
            records, _ = shard.scroll(edge.ScrollRequest(limit=1, filter=match("path", path), with_payload=False))
        return str(records[0].id) if records else None

    def payload(self, name: str, point_id: str) -> ImagePayload | None:
        key = point_key(point_id)
        self.check_schema(name)
        if key is None:
            return None
        with self._shard(name) as shard:
            records = shard.retrieve([key], with_payload=True, with_vector=False)
        return ImagePayload.read(records[0].payload) if records else None

    # queries

    def _params(self, name: str, exact: bool, *, search: SearchSettings | None = None) -> edge.SearchParams:
        """Exact, or the beam and quantization `search` asked for, each unset one the collection's (read once
        per call: the sidecar is a file)."""
        if exact:
            return edge.SearchParams(exact=True)
        return approximate_params(search, self.settings(name).search)

    def query(self, name: str, query: Query, limit: int, *, label: str | None = None, exact: bool = False) -> list[Hit]:
        self.check_schema(name)
        with self._shard(name) as shard:
            asked = Asked(name, limit, self._params(name, exact), with_payload=True, label=label)
            found = shard.query(nearest(shard, query, asked))
        return [Hit.of(str(p.id), p.score, ImagePayload.read(p.payload)) for p in found]

    def query_examples(self, name: str, asked: ExampleQuery) -> list[Hit]:
        self.check_schema(name)
        with self._shard(name) as shard:
            request = Asked(name, asked.limit, self._params(name, True), with_payload=True, label=asked.label)
            found = shard.query(by_examples(shard, asked, request))
        return [Hit.of(str(p.id), p.score, ImagePayload.read(p.payload)) for p in found]

    def query_many(
        self, name: str, queries: list[Query], limit: int, *, exact: bool, search: SearchSettings | None = None
    ) -> list[tuple[list[str], np.ndarray]]:
        self.check_schema(name)
        with self._shard(name) as shard:
            asked = Asked(name, limit, self._params(name, exact, search=search))
            requests = [nearest(shard, query, asked) for query in queries]
            answers = shard.query_batch(edge.QueryBatchRequest(requests))
        return [([str(p.id) for p in found], np.fromiter((p.score for p in found), np.float32)) for found in answers]
