"""The store contract: what every stage may ask of a vector store, and nothing more.

Three engines sit behind it (`store/edge/`: Qdrant Edge, Qdrant's engine in
this process, the embedded store; `store/client/embedded.py`: qdrant-client's local
mode, stores of earlier releases; `store/client/server.py`: a Qdrant server or
cluster by URL), chosen once by `store.open_store` from `store/engines.py`.
Each states its `Capabilities`; callers ask those, never which engine it is. Callers pass and receive the
project's own records (ids, numpy arrays, `ImagePayload`, `Hit`), never
engine objects.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress

import numpy as np

from errors import CollectionNotFoundError, StoreError
from store.capabilities import Capabilities
from store.example_query import ExampleQuery
from store.naming import name_problem, staging_name
from store.payload import ImagePayload, refuse_newer_schema
from store.provenance import Provenance
from store.types import CollectionInfo, Footprint, Hit, IndexSettings, IndexStatus, Points, Rebuild, SearchSettings

SCROLL_PAGE = 2048  # the most points one page of `VectorStore.scroll` holds
Query = np.ndarray | str  # a vector, or the id of a stored point (which is then left out of its hits)


class VectorStore(ABC):
    """A connected store; `location` says which one, without secrets."""

    location: str

    def __init__(self) -> None:
        self._schema_read: set[str] = set()  # collections whose payload schema this store has read (once each)

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this engine can do (exact only, vectors local, threads, index settings, ...)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store (an embedded store locks its folder while open)."""

    # collections

    @abstractmethod
    def collection_names(self) -> list[str]: ...

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    def require(self, name: str) -> None:
        """Raise a clear error naming what exists when `name` does not (or cannot be a collection name)."""
        problem = name_problem(name)
        if problem is not None:
            raise CollectionNotFoundError(
                f"{name!r} is not a collection name ({problem}); `python cli.py collections` lists them"
            )
        if not self.exists(name):
            names = self.collection_names()
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise CollectionNotFoundError(
                f"collection '{name}' does not exist in {self.location}; {hint}(collections: "
                f"{', '.join(names) or 'none'}); create it with `python cli.py ingest`"
            )

    @abstractmethod
    def ensure_collection(
        self,
        name: str,
        dim: int,
        *,
        recreate: bool = False,
        settings: IndexSettings | None = None,
        provenance: Provenance | None = None,
    ) -> bool:
        """Create a cosine collection with a `label` index and `provenance`; True if it was created.

        An existing collection is kept when its vectors fit, and refused when not.
        """

    def hold(self, name: str) -> None:
        """Take collection `name` for this process now, where the engine holds collections one by one
        (a command reserves what it will write before loading a model); elsewhere only checks it exists."""
        self.require(name)

    @abstractmethod
    def metadata(self, name: str) -> dict:
        """The collection's own description (Qdrant's collection metadata); {} when it has none."""

    def provenance(self, name: str) -> Provenance | None:
        """Where the collection's vectors came from; None for a collection that does not say."""
        return Provenance.read(self.metadata(name))

    def check_schema(self, name: str) -> None:
        """Refuse to read `name` when a newer release wrote its points (`store.payload.refuse_newer_schema`);
        every engine calls it where it opens a collection's points for reading (scroll, queries, payloads).
        The metadata is read once per collection while the store is open (a server answers each read with a
        request, Edge with a file read); an engine forgets it (`forget_schema`) wherever the metadata changes."""
        if name in self._schema_read:
            return
        refuse_newer_schema(name, self.metadata(name))
        self._schema_read.add(name)

    def forget_schema(self, name: str) -> None:
        """Read `name`'s payload schema again at its next read (it was dropped, replaced or described anew)."""
        self._schema_read.discard(name)

    @abstractmethod
    def set_provenance(self, name: str, provenance: Provenance) -> None: ...

    @abstractmethod
    def drop(self, name: str) -> None: ...

    def replace(self, name: str, staging: str, settings: IndexSettings | None = None) -> None:
        """Make the finished collection `staging` (named by `fresh_staging`) the collection `name`.

        A rebuild writes into `staging` beside the old collection, so a failure
        before this call leaves `name` exactly as it was. Engines that can swap
        folders or aliases override this copy; `settings` is the server layout
        `name` gets when it is copied (the one `staging` was made with).
        """
        self.require(staging)
        info = self.info(staging)
        self.ensure_collection(name, info.dim, recreate=True, settings=settings, provenance=info.provenance)
        with self.bulk_load(name, settings) as loader:
            for page in self.scroll(staging, with_vectors=True):
                loader.add(page.ids, page.vectors, page.payloads)
        self.drop(staging)

    def fresh_staging(self, name: str) -> str:
        """The name of a new staging collection for a rebuild of `name`; one a killed rebuild left is dropped."""
        target = staging_name(name)
        if self.exists(target):
            self.drop(target)
        return target

    @contextmanager
    def rebuilding(
        self, name: str, dim: int, *, settings: IndexSettings | None = None, provenance: Provenance | None = None
    ) -> Iterator[Rebuild]:
        """A new collection `name` built beside the old one: the one rebuild of ingest and import.

        The block writes into `Rebuild.target`, a staging collection made here
        with `dim`, `settings` and `provenance` (`fresh_staging`). When the block ends, the staging collection replaces
        `name` (`replace`); when it raises, Ctrl-C included, or calls
        `Rebuild.abandon`, it is dropped. Until the swap `name` stays exactly as
        it was."""
        rebuild = Rebuild(name, self.fresh_staging(name))
        self.ensure_collection(rebuild.target, dim, recreate=True, settings=settings, provenance=provenance)
        try:
            yield rebuild
        except BaseException:
            with suppress(Exception):  # the rebuild's own error is the one to report; a next rebuild drops it
                self.drop(rebuild.target)
            raise
        if rebuild.abandoned:
            self.drop(rebuild.target)
        else:
            self.replace(name, rebuild.target, settings)

    def reindex(self, name: str, settings: IndexSettings) -> None:
        """Give collection `name` new index settings (HNSW, quantization, on disk, and where the engine records
        them the query-time ones) in place, from its own stored vectors: no image is read again.

        This default rebuilds through `rebuilding` from the collection's own pages, so until the swap (and
        after a failure, Ctrl-C included) the collection is as it was; a server updates its configuration."""
        if not self.capabilities.index_settings:
            raise StoreError(
                f"collection '{name}' is in {self.location}, whose engine searches exactly and takes no index "
                f"settings; `python cli.py store migrate` moves it to Qdrant Edge"
            )
        self.require(name)
        info = self.info(name)
        with self.rebuilding(name, info.dim, settings=settings, provenance=info.provenance) as rebuild:
            with self.bulk_load(rebuild.target, settings) as loader:
                for page in self.scroll(name, with_vectors=True):
                    loader.add(page.ids, page.vectors, page.payloads)
        self.build_index(name)

    @abstractmethod
    def info(self, name: str) -> CollectionInfo:
        """Size, vectors, dataset and encoder; a collection this tool did not write shows '?' or 0."""

    @abstractmethod
    def count(self, name: str) -> int: ...

    @abstractmethod
    def index_status(self, name: str) -> IndexStatus: ...

    def build_index(self, name: str, force: bool = False) -> bool:
        """Build the approximate index now, where the engine builds it on request: after a load, for a
        collection big enough to gain from it, or whatever its size with `force`; True if one was built.
        Servers index on their own as points arrive, and engines without an index have none: False."""
        self.require(name)
        return False

    def footprint(self, name: str) -> Footprint | None:
        """The bytes the collection's vectors, index and quantized copy take on disk, where the engine's
        files are readable here; None elsewhere (a server)."""
        return None

    # points

    @abstractmethod
    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, *, payloads: list[ImagePayload]) -> None:
        """Write points; an existing id is overwritten, never duplicated."""

    @abstractmethod
    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> AbstractContextManager[Loader]:
        """A load of many points: `Loader.add` batches as the engine likes them."""

    @abstractmethod
    def overwrite_payloads(self, name: str, payloads: dict[str, ImagePayload]) -> None:
        """Replace the payload of each given point (vectors untouched)."""

    @abstractmethod
    def delete(self, name: str, ids: list[str]) -> None: ...

    @abstractmethod
    def point_ids(self, name: str) -> set[str]: ...

    @abstractmethod
    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[Points]:
        """Every point, in pages of at most `SCROLL_PAGE` points in the engine's order (not dataset order),
        with payloads: what reads a whole collection in bounded memory (export, copy, replace)."""

    def points(self, name: str, with_vectors: bool = False) -> Points:
        """Every point in dataset order, read in one scroll.

        Pages fill a preallocated array (grown only for points added while reading), so the vectors are
        held once plus the reordered copy: at 100,000 384-d points this peaks at 0.8 GB, not 3 GB."""
        self.require(name)
        dim = self.info(name).dim if with_vectors else 0
        vectors = np.empty((self.count(name), dim), np.float32) if with_vectors else None
        ids: list[str] = []
        payloads: list[ImagePayload] = []
        for page in self.scroll(name, with_vectors):
            if vectors is not None:
                if len(ids) + len(page.ids) > len(vectors):
                    vectors = np.concatenate([vectors, np.empty((len(page.ids), dim), np.float32)])
                vectors[len(ids) : len(ids) + len(page.ids)] = page.vectors
            ids += page.ids
            payloads += page.payloads
        order = sorted(range(len(ids)), key=lambda i: payloads[i].index)
        return Points(
            [ids[i] for i in order],
            [payloads[i] for i in order],
            vectors[: len(ids)][order] if vectors is not None else None,
        )

    @abstractmethod
    def find_by_path(self, name: str, path: str) -> str | None:
        """The id of the point whose payload `path` equals `path`, if any."""

    @abstractmethod
    def payload(self, name: str, point_id: str) -> ImagePayload | None:
        """The payload of one stored point, or None when no point has that id."""

    # queries

    @abstractmethod
    def query(self, name: str, query: Query, limit: int, *, label: str | None = None, exact: bool = False) -> list[Hit]:
        """Nearest points to a vector or a stored point, best first, with their payloads; with `label`, only
        points that carry it among their labels (exactly; `search` resolves case)."""

    @abstractmethod
    def query_many(
        self, name: str, queries: list[Query], limit: int, *, exact: bool, search: SearchSettings | None = None
    ) -> list[tuple[list[str], np.ndarray]]:
        """(ids, scores) of the nearest points of each query, in the engine's order, without payloads;
        `search` sets an approximate query's beam and quantization (ignored where `exact`)."""

    @abstractmethod
    def query_examples(self, name: str, asked: ExampleQuery) -> list[Hit]:
        """The best points for `asked`'s examples, best first, with their payloads, answered by the engine's
        own query (recommend, nearest with MMR, score threshold: `store/example_query.py`); exact search.
        A stored example is never a hit."""

    def fused_query(
        self, members: list[str], point_id: str, limit: int, *, rank_constant: int, depth: int
    ) -> list[Hit]:
        """The stored point's nearest points by reciprocal rank fusion of the `members` collections' rankings.

        Each member ranks the point's `depth` nearest other points (exact); a
        point's fused score is the sum over members of 1 / (rank_constant + rank),
        rank 1-based; best first. Only points every member holds are fused.
        Engines with `Capabilities.fused_query` answer it; the others refuse.
        """
        raise StoreError(f"the store {self.location} offers no fusion query; use `eval --fuse` for fused figures")


class Loader:
    """Gathers writes into upserts of `size` points; `size` None writes each `add` at once."""

    def __init__(self, store: VectorStore, name: str, size: int | None) -> None:
        self.store = store
        self.name = name
        self.size = size
        self._ids: list[str] = []
        self._vectors: list[np.ndarray] = []
        self._payloads: list[ImagePayload] = []

    def add(self, ids: list[str], vectors: np.ndarray, payloads: list[ImagePayload]) -> None:
        self._ids += ids
        self._vectors.append(vectors)
        self._payloads += payloads
        if self.size is None or len(self._ids) >= self.size:
            self._write(everything=self.size is None)

    def flush(self) -> None:
        """Write what is still gathered."""
        self._write(everything=True)

    def _write(self, everything: bool) -> None:
        if not self._ids:
            return
        vectors = np.concatenate(self._vectors)
        step = self.size or len(self._ids)
        stop = len(self._ids) if everything else len(self._ids) - len(self._ids) % step
        for start in range(0, stop, step):
            end = min(start + step, stop)
            self.store.upsert(self.name, self._ids[start:end], vectors[start:end], payloads=self._payloads[start:end])
        self._ids, self._vectors, self._payloads = self._ids[stop:], [vectors[stop:]], self._payloads[stop:]
