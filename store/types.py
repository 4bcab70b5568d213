"""Plain records the store hands to the stages, so they never see engine objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from store.payload import ImagePayload, share_label
from store.provenance import Provenance, unfinished


@dataclass(frozen=True)
class Hit:
    """One stored image in a ranked list, best first: what search and evaluation both return.

    `index` is the image's position in its dataset list (dataset order); `labels` are every label of the
    image (`label` is the first), what relevance compares (`store.payload.share_label`).
    """

    id: str
    index: int
    score: float
    label: str | None
    path: str
    labels: tuple[str, ...] = ()

    @classmethod
    def of(cls, point_id: str, score: float, payload: ImagePayload) -> Hit:
        return cls(point_id, payload.index, float(score), payload.label, payload.path, payload.label_set)

    @property
    def label_set(self) -> tuple[str, ...]:
        """Every label of the image (`labels`, or `label` alone for a hit made without them)."""
        return self.labels or (() if self.label is None else (self.label,))

    def relevant_to(self, labels: Iterable[str]) -> bool:
        """Whether this hit shares a label with `labels` (a query's): the one relevance rule."""
        return share_label(self.label_set, labels)

    def to_json(self) -> dict:
        record = asdict(self)
        record["labels"] = list(self.labels)
        return record


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    points: int
    dim: int
    distance: str
    dataset: str
    encoder: str
    location: str
    provenance: Provenance | None = None  # None: a collection that does not say (older release, other tool)
    busy: str | None = None  # who holds it when another process does (its points are as of its last write)
    broken: str | None = None  # why it cannot be read (damaged files or sidecar), one line with what to do

    @classmethod
    def unreadable(cls, name: str, location: str, reason: str) -> CollectionInfo:
        """A collection listed by name that cannot be read: nothing known of it but why."""
        return cls(name, 0, 0, "?", "?", "?", location, broken=reason)

    @property
    def random_weights(self) -> bool:
        return self.provenance is not None and self.provenance.random_weights

    @property
    def incomplete(self) -> str | None:
        """One line when its last write did not finish (`store.provenance.unfinished`), else None."""
        return unfinished(self.name, self.provenance)

    @property
    def labeled(self) -> bool:
        """Whether its points carry labels (a collection that records nothing is taken as labeled)."""
        return self.provenance is None or self.provenance.labeled

    def weights_text(self) -> str:
        """'random weights (...)', the weights identity, or 'provenance unknown'."""
        return self.provenance.weights_identity.describe() if self.provenance else "provenance unknown"

    def to_json(self) -> dict:
        return {
            **asdict(self),
            "random_weights": self.random_weights,
            "weights": self.weights_text(),
            "labeled": self.labeled,
        }


ANY_SIZE_KB = 10  # Qdrant's least full-scan threshold, and the indexing threshold, of `index_any_size`


class Quantization(StrEnum):
    """The quantized copy of a collection's vectors that approximate search reads (its value is what
    `--quantization` takes, records store and reports print)."""

    NONE = "none"
    INT8 = "int8"
    BINARY = "binary"
    PRODUCT = "product"


@dataclass(frozen=True)
class IndexSettings:
    """The layout of a new collection: where the engine keeps it and how it is indexed.

    `shards` and `replicas` apply to a server; HNSW and quantization to every
    engine with `Capabilities.index_settings`; `hnsw_ef` is the beam of
    approximate queries, and `rescore` and `oversampling` how a quantized
    collection's are rescored, recorded with an embedded collection and applied
    to its searches (`search`). `index_any_size` builds and searches the graph
    however small the collection (Qdrant otherwise searches segments under 10 MB
    of vectors exactly; both thresholds become ANY_SIZE_KB): `tune` measures
    small collections this way."""

    shards: int | None = None
    replicas: int | None = None
    on_disk: bool = False
    hnsw_m: int | None = None
    hnsw_ef_construct: int | None = None
    quantization: Quantization = Quantization.NONE
    hnsw_ef: int | None = None
    index_any_size: bool = False
    rescore: bool | None = None
    oversampling: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantization", Quantization(self.quantization))  # as read from a sidecar

    def describe(self) -> str:
        """The settings given, one line: 'hnsw m=16, ef_construct=100, quantization int8, hnsw_ef 64'."""
        parts = [
            f"hnsw m={'default' if self.hnsw_m is None else self.hnsw_m}, ef_construct="
            f"{'default' if self.hnsw_ef_construct is None else self.hnsw_ef_construct}",
            f"quantization {self.quantization}",
        ]
        parts += ["vectors on disk"] if self.on_disk else []
        parts += [] if self.hnsw_ef is None else [f"hnsw_ef {self.hnsw_ef}"]
        parts += [] if self.rescore is None else ["rescored" if self.rescore else "not rescored"]
        parts += [] if self.oversampling is None else [f"oversampling {self.oversampling:g}"]
        return ", ".join(parts)

    @property
    def search(self) -> SearchSettings:
        """The query-time settings recorded with the collection."""
        return SearchSettings(self.hnsw_ef, self.rescore, self.oversampling)


@dataclass(frozen=True)
class SearchSettings:
    """Query-time settings of an approximate search; None leaves the collection's own (or Qdrant's default).

    `hnsw_ef`: the HNSW beam; `rescore`: rescore the candidates a quantized copy found with the
    original vectors; `oversampling`: how many times `limit` candidates the quantized search gathers."""

    hnsw_ef: int | None = None
    rescore: bool | None = None
    oversampling: float | None = None

    def over(self, recorded: SearchSettings) -> SearchSettings:
        """These settings, each left unset taken from `recorded` (the collection's own)."""
        return SearchSettings(
            recorded.hnsw_ef if self.hnsw_ef is None else self.hnsw_ef,
            recorded.rescore if self.rescore is None else self.rescore,
            recorded.oversampling if self.oversampling is None else self.oversampling,
        )


@dataclass(frozen=True)
class OpenOptions:
    """How a store is opened, past where it is: a server's protocol and timeout, and how an embedded
    store waits for collections other processes hold and lets go of its own."""

    prefer_grpc: bool = False
    timeout: int = 60  # seconds a server request may take
    wait: float = 0.0  # seconds to wait for a collection another process holds
    idle_release: float | None = None  # let go of collections unused that long (a long-running server)
    yielding: bool = False  # let go of a collection another process waits for, wait for none (`serve`; edge/shards.py)


@dataclass(frozen=True)
class Footprint:
    """Bytes a collection's parts take on disk, read from its files (what a memory estimate starts from)."""

    vectors: int
    index: int
    quantized: int
    other: int  # payloads, payload indexes, id tracker, write-ahead log


@dataclass(frozen=True)
class IndexStatus:
    """How much of a collection its approximate index covers."""

    points: int
    indexed: int  # vectors in the HNSW graph; below Qdrant's indexing threshold search is exact anyway


@dataclass
class Rebuild:
    """A rebuild under way (`VectorStore.rebuilding`): its points go into `target`, which replaces `name`
    when the rebuild ends, unless `abandon` was called (nothing worth keeping was written)."""

    name: str
    target: str
    abandoned: bool = False

    def abandon(self) -> None:
        """Drop the staging collection at the end of the block and keep `name` as it was."""
        self.abandoned = True


@dataclass
class Points:
    """Points of a collection: every one in dataset order (payload `index`) from `VectorStore.points`, or one
    page in the engine's order from `VectorStore.scroll`."""

    ids: list[str]
    payloads: list[ImagePayload]
    vectors: np.ndarray | None = None

    @property
    def labels(self) -> list[str | None]:
        return [p.label for p in self.payloads]

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.payloads]
