"""The one door to Qdrant: an embedded store on disk or a server by URL.

Stages call these few operations and get plain records back; which engine
sits behind them (qdrant-client's embedded mode, a server, a cluster) is this
module's business alone.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from errors import CollectionNotFoundError, StoreError
from store.naming import DEFAULT_STORAGE
from store.types import CollectionInfo, Hit, IndexSettings, Points

PAGE = 1024
BULK_BATCH = 256  # points per upsert request on a server; Qdrant advises 64 to 256
DEFAULT_HNSW_M = 16  # Qdrant's default HNSW edges per node
WRITE_TRIES = 3  # a transient write failure is retried, each time with twice the timeout
TRANSIENT_HTTP = {429, 500, 502, 503, 504}
TRANSIENT_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


class Store:
    """A connected Qdrant; `location` says which one, without secrets."""

    def __init__(self, client: QdrantClient, location: str, embedded: bool, timeout: int = 60) -> None:
        self.client = client
        self.location = location
        self.embedded = embedded
        self.timeout = timeout

    @classmethod
    def open(
        cls,
        url: str | None = None,
        api_key: str | None = None,
        path: str | Path = DEFAULT_STORAGE,
        prefer_grpc: bool = False,
        timeout: int = 60,
        create: bool = True,
    ) -> Store:
        """A server when `url` is given, else the embedded store in `path`.

        With `create` False a missing embedded store is an error, not a new
        empty one (a misspelled --storage would otherwise look empty).
        """
        if url:
            with warnings.catch_warnings():
                if _local_host(url):  # the compose network or this machine: plain http is expected
                    warnings.filterwarnings("ignore", "Api key is used with an insecure connection")
                client = QdrantClient(url=url, api_key=api_key, prefer_grpc=prefer_grpc, timeout=timeout)
            store = cls(client, url, embedded=False, timeout=timeout)
            store._check_server()
            return store
        if not create and not (Path(path) / "meta.json").is_file():
            raise StoreError(
                f"there is no embedded store in '{path}'; create one with `python cli.py ingest`, "
                f"or pass --storage with its folder or --qdrant-url for a server"
            )
        try:
            client = QdrantClient(path=str(path))
        except RuntimeError as error:
            if "already accessed" in str(error):
                raise StoreError(
                    f"the embedded store in '{path}' is open in another process; wait for it to "
                    f"finish, or run a Qdrant server and pass --qdrant-url"
                ) from None
            raise
        return cls(client, f"embedded:{Path(path).resolve()}", embedded=True)

    def _check_server(self) -> None:
        try:
            self.client.get_collections()
        except UnexpectedResponse as error:
            if error.status_code in (401, 403):
                raise StoreError(
                    f"Qdrant at {self.location} refused the API key (HTTP {error.status_code}); "
                    f"check --api-key / QDRANT_API_KEY"
                ) from None
            raise StoreError(f"Qdrant at {self.location} answered HTTP {error.status_code}") from None
        except (ResponseHandlingException, ConnectionError, OSError) as error:
            raise StoreError(
                f"cannot reach Qdrant at {self.location} ({type(error).__name__}); is the server "
                f"running and the URL right?"
            ) from None
        except Exception as error:  # gRPC raises its own error types
            if "StatusCode.UNAUTHENTICATED" in str(error) or "PERMISSION_DENIED" in str(error):
                raise StoreError(f"Qdrant at {self.location} refused the API key") from None
            raise StoreError(f"cannot reach Qdrant at {self.location} ({type(error).__name__})") from None

    def close(self) -> None:
        self.client.close()

    # collections

    def collection_names(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def require(self, name: str) -> None:
        """Raise a clear error naming what exists when `name` does not."""
        if not self.exists(name):
            known = ", ".join(self.collection_names()) or "none"
            raise CollectionNotFoundError(
                f"collection '{name}' does not exist in {self.location} (collections: {known}); "
                f"create it with `python cli.py ingest`"
            )

    def ensure_collection(
        self, name: str, dim: int, recreate: bool = False, settings: IndexSettings | None = None
    ) -> bool:
        """Create a cosine collection with a `label` index; True if it was created.

        An existing collection is kept when its vectors fit, and refused when not.
        """
        if self.exists(name):
            if not recreate:
                self._check_vectors(name, dim)
                return False
            self.client.delete_collection(name)
        settings = settings or IndexSettings()
        self.client.create_collection(name, **collection_config(dim, settings))
        if not self.embedded:  # the embedded store has no payload indexes
            self.client.create_payload_index(name, "label", models.PayloadSchemaType.KEYWORD)
        return True

    def _check_vectors(self, name: str, dim: int) -> None:
        params = self.client.get_collection(name).config.params.vectors
        if not isinstance(params, models.VectorParams):
            raise StoreError(f"collection '{name}' has named vectors; this tool writes one unnamed vector")
        if params.size != dim or params.distance != models.Distance.COSINE:
            raise StoreError(
                f"collection '{name}' holds {params.size}-d {params.distance.value} vectors but this "
                f"encoder gives {dim}-d Cosine; drop it (`python cli.py collections drop {name}`) "
                f"or ingest with --recreate"
            )

    def drop(self, name: str) -> None:
        self.require(name)
        self.client.delete_collection(name)

    def info(self, name: str) -> CollectionInfo:
        """Size, vectors, dataset and encoder; a collection this tool did not write shows '?' or 0."""
        self.require(name)
        params = self.client.get_collection(name).config.params.vectors
        first = self.client.scroll(name, limit=1, with_payload=True)[0]
        payload = (first[0].payload if first else None) or {}
        single = isinstance(params, models.VectorParams)
        return CollectionInfo(
            name=name,
            points=self.count(name),
            dim=params.size if single else 0,
            distance=params.distance.value if single else "named vectors",
            dataset=payload.get("dataset", "?"),
            encoder=payload.get("encoder", "?"),
            location=self.location,
        )

    def count(self, name: str) -> int:
        return self.client.count(name, exact=True).count

    # points

    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict]) -> None:
        """Write points; an existing id is overwritten, never duplicated.

        On a server a transient failure (timeout, lost connection, 429, 5xx) is
        retried with a longer timeout; the write is idempotent, so a retry is safe.
        """
        batch = models.Batch(ids=ids, vectors=vectors.tolist(), payloads=payloads)
        for attempt in range(WRITE_TRIES):
            try:
                self.client.upsert(name, points=batch, wait=True, timeout=self.timeout * 2**attempt)
                return
            except Exception as error:
                if self.embedded or not _transient(error):
                    raise
                if attempt == WRITE_TRIES - 1:
                    raise StoreError(
                        f"writing to '{name}' at {self.location} failed {WRITE_TRIES} times "
                        f"({type(error).__name__}); rerun the same command to resume"
                    ) from None
                time.sleep(2**attempt)

    @contextmanager
    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> Iterator[Loader]:
        """A load of many points: batched writes and, on a server, HNSW built after the load.

        Qdrant's advice for bulk loads: requests of 64 to 256 points, and no graph
        building while points arrive. A load into an empty server collection sets
        HNSW m=0 and, when it ends, sets m to `settings.hnsw_m` if given, else to
        what the collection had (Qdrant's default 16 if that was 0). A collection
        left at m=0 by a killed load gets its graph at the end of the next load.
        The embedded store writes every `add` at once, as a plain upsert.
        """
        loader = Loader(self, name, None if self.embedded else BULK_BATCH)
        restore = None if self.embedded else self._defer_hnsw(name, settings or IndexSettings())
        try:
            yield loader
            loader.flush()
        except BaseException:
            if restore is not None:
                with suppress(Exception):  # the load's own error is the one to report
                    self._set_hnsw_m(name, restore)
            raise
        if restore is not None:
            self._set_hnsw_m(name, restore)

    def _defer_hnsw(self, name: str, settings: IndexSettings) -> int | None:
        """Stop graph building for a load into an empty collection; the m to set after, if any."""
        m = self.client.get_collection(name).config.hnsw_config.m
        target = settings.hnsw_m if settings.hnsw_m is not None else (m or DEFAULT_HNSW_M)
        if m != 0 and self.count(name) == 0:
            self._set_hnsw_m(name, 0)
            m = 0
        return target if m == 0 and target != 0 else None

    def _set_hnsw_m(self, name: str, m: int) -> None:
        self.client.update_collection(name, hnsw_config=models.HnswConfigDiff(m=m))

    def _scroll(self, name: str, with_payload: bool | list[str], with_vectors: bool) -> Iterator:
        offset = None
        while True:
            records, offset = self.client.scroll(
                name, limit=PAGE, offset=offset, with_payload=with_payload, with_vectors=with_vectors
            )
            yield from records
            if offset is None:
                return

    def point_ids(self, name: str) -> set[str]:
        """Ids already stored; an ingest skips them."""
        return {str(r.id) for r in self._scroll(name, with_payload=False, with_vectors=False)}

    def overwrite_payloads(self, name: str, payloads: dict[str, dict]) -> None:
        """Replace the payload of each given point (vectors untouched)."""
        for point, payload in payloads.items():
            self.client.overwrite_payload(name, payload=payload, points=[point], wait=True)

    def points(self, name: str, with_vectors: bool = False) -> Points:
        """Every point in dataset order, read in one scroll."""
        self.require(name)
        records = sorted(
            self._scroll(name, with_payload=True, with_vectors=with_vectors), key=lambda r: r.payload.get("index", 0)
        )
        vectors = None
        if with_vectors:
            vectors = np.asarray([r.vector for r in records], dtype=np.float32)
        return Points([str(r.id) for r in records], [r.payload for r in records], vectors)

    def find_by_path(self, name: str, path: str) -> str | None:
        """The id of the point whose payload `path` equals `path`, if any."""
        records, _ = self.client.scroll(name, limit=1, scroll_filter=match("path", path), with_payload=False)
        return str(records[0].id) if records else None

    def payload(self, name: str, point_id: str) -> dict | None:
        """The payload of one stored point, or None when no point has that id."""
        records = self.client.retrieve(name, [point_id], with_payload=True)
        return (records[0].payload or {}) if records else None

    def query(
        self, name: str, query: np.ndarray | str, limit: int, label: str | None = None, exact: bool = False
    ) -> list[Hit]:
        """Nearest points to a vector, or to a stored point (given by id, itself excluded)."""
        self.require(name)
        result = self.client.query_points(
            name,
            query=query.tolist() if isinstance(query, np.ndarray) else query,
            limit=limit,
            query_filter=match("label", label) if label is not None else None,
            search_params=None if self.embedded else models.SearchParams(exact=exact),
            with_payload=True,
        )
        return [Hit(str(p.id), p.score, p.payload or {}) for p in result.points]


class Loader:
    """Gathers writes into upserts of `size` points; `size` None writes each `add` at once."""

    def __init__(self, store: Store, name: str, size: int | None) -> None:
        self.store = store
        self.name = name
        self.size = size
        self._ids: list[str] = []
        self._vectors: list[np.ndarray] = []
        self._payloads: list[dict] = []

    def add(self, ids: list[str], vectors: np.ndarray, payloads: list[dict]) -> None:
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
            self.store.upsert(self.name, self._ids[start:end], vectors[start:end], self._payloads[start:end])
        self._ids, self._vectors, self._payloads = self._ids[stop:], [vectors[stop:]], self._payloads[stop:]


def _transient(error: Exception) -> bool:
    """A failure worth retrying: a timeout or lost connection, 429 or 5xx, gRPC unavailable."""
    if isinstance(error, ResponseHandlingException):  # also wraps replies that do not parse
        return isinstance(error.source, httpx.TransportError)
    if isinstance(error, UnexpectedResponse):
        return error.status_code in TRANSIENT_HTTP
    if isinstance(error, grpc.RpcError):
        return error.code() in TRANSIENT_GRPC
    return isinstance(error, ResourceExhaustedResponse | ConnectionError | TimeoutError)


def _local_host(url: str) -> bool:
    """This machine or a bare name (a compose or cluster service), where http is the norm."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.") or "." not in host


def match(key: str, value: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))])


def collection_config(dim: int, settings: IndexSettings) -> dict:
    """Keyword arguments of `create_collection` for a cosine collection."""
    quantization = {
        "none": None,
        "int8": models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        ),
        "binary": models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True)),
    }[settings.quantization]
    hnsw = None
    if settings.hnsw_m is not None or settings.hnsw_ef_construct is not None:
        hnsw = models.HnswConfigDiff(m=settings.hnsw_m, ef_construct=settings.hnsw_ef_construct)
    return {
        "vectors_config": models.VectorParams(
            size=dim, distance=models.Distance.COSINE, on_disk=settings.on_disk or None
        ),
        "shard_number": settings.shards,
        "replication_factor": settings.replicas,
        "hnsw_config": hnsw,
        "quantization_config": quantization,
    }
