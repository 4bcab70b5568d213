"""A Qdrant server or cluster by URL: checked on open, writes retried, bulk loads without graph building."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import grpc
import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from errors import StoreError
from redaction import redact, remember
from store.base import Loader
from store.capabilities import Capabilities
from store.client.qdrant import QdrantStore, collection_config
from store.types import IndexSettings, SearchSettings

BULK_BATCH = 256  # points per upsert request on a server; Qdrant advises 64 to 256
DEFAULT_HNSW_M = 16  # Qdrant's default HNSW edges per node
WRITE_TRIES = 3  # a transient write failure is retried, each time with twice the timeout
SERVER = Capabilities(
    exact_only=False, local_vectors=False, threads=True, index_settings=True, shared=True, fused_query=True
)
TRANSIENT_HTTP = {429, 500, 502, 503, 504}
TRANSIENT_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


class ServerStore(QdrantStore):
    """A server; `client` is any qdrant-client connection to it (tests pass stand-ins)."""

    def __init__(self, client: QdrantClient, location: str, timeout: int = 60) -> None:
        super().__init__(client, location)
        self.timeout = timeout

    @classmethod
    def open(cls, url: str, api_key: str | None = None, *, prefer_grpc: bool = False, timeout: int = 60) -> ServerStore:
        """Connect and check that the server answers and takes the key; `location` is `url` without
        credentials, and the key is never shown."""
        remember(url, url=True)  # the URL's user and password and the key are hidden in every line shown from now on
        remember(api_key)
        location = redact(url)
        problem = _port_problem(url)
        if problem:
            raise StoreError(f"--qdrant-url {location}: {problem}; pass a URL like http://localhost:6333")
        with warnings.catch_warnings():
            if _local_host(url):  # the compose network or this machine: plain http is expected
                warnings.filterwarnings("ignore", "Api key is used with an insecure connection")
            try:
                client = QdrantClient(
                    url=url, api_key=api_key, prefer_grpc=prefer_grpc, timeout=timeout, check_compatibility=False
                )
            except ValueError as error:  # an unknown scheme; urllib3's LocationParseError is one too
                raise StoreError(
                    f"--qdrant-url {location} is not a usable URL ({str(error).replace(url, location)}); "
                    f"pass a URL like http://localhost:6333"
                ) from None
        store = cls(client, location, timeout)
        store._check()
        return store

    @property
    def capabilities(self) -> Capabilities:
        return SERVER

    def _check(self) -> None:
        try:
            self._client.get_collections()
        except UnexpectedResponse as error:
            if error.status_code in (401, 403):
                raise StoreError(
                    f"Qdrant at {self.location} refused the API key (HTTP {error.status_code}); "
                    f"check --api-key / QDRANT_API_KEY"
                ) from None
            raise StoreError(f"Qdrant at {self.location} answered HTTP {error.status_code}") from None
        except Exception as error:  # httpx, gRPC and socket errors alike
            if _timed_out(error):
                raise StoreError(
                    f"Qdrant at {self.location} did not answer within the {self.timeout} s timeout; "
                    f"is the server running, and the URL's port its REST port (6333)?"
                ) from None
            if "UNAUTHENTICATED" in str(error) or "PERMISSION_DENIED" in str(error):
                raise StoreError(f"Qdrant at {self.location} refused the API key") from None
            raise StoreError(
                f"cannot reach Qdrant at {self.location} ({describe(error)}); is the server running and the URL right?"
            ) from None
        self.settle()  # a --recreate killed mid-swap is finished before anything reads

    def _write(self, name: str, batch: models.Batch) -> None:
        """A transient failure (timeout, lost connection, 429, 5xx) is retried with a longer
        timeout; the write is idempotent, so a retry is safe."""
        for attempt in range(WRITE_TRIES):
            try:
                self._client.upsert(name, points=batch, wait=True, timeout=self.timeout * 2**attempt)
                return
            except Exception as error:
                if not _transient(error):
                    raise
                if attempt == WRITE_TRIES - 1:
                    raise StoreError(
                        f"writing to '{name}' at {self.location} failed {WRITE_TRIES} times "
                        f"({describe(error)}); rerun the same command to resume"
                    ) from None
                time.sleep(2**attempt)

    @contextmanager
    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> Iterator[Loader]:
        """Qdrant's advice for bulk loads: requests of 64 to 256 points, and no graph building
        while points arrive.

        A load into an empty collection sets HNSW m=0 and, when it ends, sets m to
        `settings.hnsw_m` if given, else to what the collection had (Qdrant's
        default 16 if that was 0). A collection left at m=0 by a killed load gets
        its graph at the end of the next load.
        """
        loader = Loader(self, name, BULK_BATCH)
        restore = self._defer_hnsw(name, settings or IndexSettings())
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

    def reindex(self, name: str, settings: IndexSettings) -> None:
        """Update the collection's HNSW, quantization and on-disk settings in place; the server rebuilds its
        index in the background. The query-time settings travel with each query on a server: refused here."""
        self.require(name)
        if settings.search != SearchSettings():
            raise StoreError(
                f"collection '{name}' is on {self.location}, which takes hnsw_ef, rescore and oversampling with "
                f"each query, not with the collection; leave out --hnsw-ef, --rescore and --oversampling"
            )
        config = collection_config(self.info(name).dim, settings)
        self._client.update_collection(
            name,
            hnsw_config=config["hnsw_config"],
            quantization_config=config["quantization_config"] or models.Disabled.DISABLED,
            vectors_config={"": models.VectorParamsDiff(on_disk=settings.on_disk)},
        )

    def _defer_hnsw(self, name: str, settings: IndexSettings) -> int | None:
        """Stop graph building for a load into an empty collection; the m to set after, if any."""
        m = self._client.get_collection(name).config.hnsw_config.m
        target = settings.hnsw_m if settings.hnsw_m is not None else (m or DEFAULT_HNSW_M)
        if m != 0 and self.count(name) == 0:
            self._set_hnsw_m(name, 0)
            m = 0
        return target if m == 0 and target != 0 else None

    def _set_hnsw_m(self, name: str, m: int) -> None:
        self._client.update_collection(name, hnsw_config=models.HnswConfigDiff(m=m))


def _transient(error: Exception) -> bool:
    """A failure worth retrying: a timeout or lost connection, 429 or 5xx, gRPC unavailable."""
    if isinstance(error, ResponseHandlingException):  # also wraps replies that do not parse
        return isinstance(error.source, httpx.TransportError)
    if isinstance(error, UnexpectedResponse):
        return error.status_code in TRANSIENT_HTTP
    if isinstance(error, grpc.RpcError):
        return error.code() in TRANSIENT_GRPC
    return isinstance(error, ResourceExhaustedResponse | ConnectionError | TimeoutError)


def describe(error: BaseException) -> str:
    """A connection error in words: gRPC's status and details, the cause inside qdrant-client's
    wrapper, else the message (the class name only when there is none)."""
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        return f"gRPC {error.code().name}: {error.details()}"
    if isinstance(error, ResponseHandlingException):
        return describe(error.source)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text or type(error).__name__


def _timed_out(error: BaseException) -> bool:
    if isinstance(error, ResponseHandlingException):
        return _timed_out(error.source)
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        return error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    return isinstance(error, httpx.TimeoutException | TimeoutError)


def _port_problem(url: str) -> str | None:
    """Why the port of `url` cannot be a server's (qdrant-client's own message does not say), or None."""
    try:
        port = urlsplit(url if "//" in url else f"//{url}").port
    except ValueError as error:
        return str(error)
    return "port 0 is no server's port" if port == 0 else None


def _local_host(url: str) -> bool:
    """This machine or a bare name (a compose or cluster service), where http is the norm."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.") or "." not in host
