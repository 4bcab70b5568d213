"""Plain records the store hands to the stages, so they never see engine objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    points: int
    dim: int
    distance: str
    dataset: str
    encoder: str
    location: str


@dataclass(frozen=True)
class IndexSettings:
    """Server-side layout of a new collection; the embedded store ignores it."""

    shards: int | None = None
    replicas: int | None = None
    on_disk: bool = False
    hnsw_m: int | None = None
    hnsw_ef_construct: int | None = None
    quantization: str = "none"


@dataclass(frozen=True)
class AnnRecall:
    """How much of the exact top k the approximate index finds, averaged over sampled queries."""

    collection: str
    k: int
    queries: int
    recall: float
    exact_only: bool  # the store has no approximate index (embedded): recall is 1 by construction
    indexed: int  # vectors in the HNSW graph; below Qdrant's indexing threshold search is exact anyway
    points: int


@dataclass
class Points:
    """Every point of a collection, in dataset order (payload `index`)."""

    ids: list[str]
    payloads: list[dict]
    vectors: np.ndarray | None = None

    @property
    def labels(self) -> list[str]:
        return [p["label"] for p in self.payloads]


@dataclass
class Neighbours:
    """For each point (row, dataset order) the positions of its nearest other points.

    `order[i]` lists row positions, best first, ties broken by position; the
    point itself never appears. `scores[i]` are the cosine scores of the first
    `scores.shape[1]` of them: all, unless `rank_all` was asked to keep fewer.
    """

    points: Points
    order: np.ndarray
    scores: np.ndarray = field(repr=False)
