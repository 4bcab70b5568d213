"""What to rank and how: one record from the command line down to the ranking kernel, the same on every path.

`EvalOptions` (the command's) becomes a `RankingRequest` once
(`EvalOptions.ranking`); `leave_one_out`, `rank_all`, `ranked_blocks`, the
per-query drill-down (`rank_query`) and the metric pass take it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from evaluation.records.variant import Sample

if TYPE_CHECKING:
    from store import VectorStore


class Method(StrEnum):
    """How the rankings are computed (`eval --method`; the record's `method` prints the value).

    BLOCK scores the stored vectors here in blocks; BATCH_QUERY asks the store's
    exact batch query by point id (a server, where the vectors stay); AUTO is
    BLOCK where the engine keeps the vectors in this process, else BATCH_QUERY.
    """

    AUTO = "auto"
    BLOCK = "block"
    BATCH_QUERY = "batch-query"


class VectorStage(Protocol):
    """A re-ranking stage on vectors: stored vectors (n, d) -> (query vectors, database vectors).

    Row i of both belongs to point i; the ranking of point i compares its query
    vector with every other point's database vector, itself still excluded.
    `name` names the re-ranked figures (`paris_dinov2 +dba+aqe`); `to_json()`
    records the stage's settings with them.
    """

    @property
    def name(self) -> str: ...

    def __call__(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def to_json(self) -> dict: ...


@dataclass(frozen=True)
class RankingRequest:
    """One ranking's options: cut at `k` (AP@k; None: the full ranking), by `method`, re-ranked by `stage`,
    `sample` (only its drawn points as queries, each against every point) and `exclude_duplicates` (also the
    figures with each near-duplicate group reduced to one point; in a drill-down, the query among those points).

    `method` takes the strings of `Method` too; anything else is refused here, in one line.
    """

    k: int | None = None
    method: Method = Method.AUTO
    stage: VectorStage | None = None
    exclude_duplicates: bool = False
    sample: Sample | None = None

    def __post_init__(self) -> None:
        if self.method not in set(Method):
            choices = tuple(method.value for method in Method)
            raise ValueError(f"unknown ranking method '{self.method}'; choose one of {choices}")
        object.__setattr__(self, "method", Method(self.method))
        if self.stage is not None and self.method is Method.BATCH_QUERY:
            raise ValueError("a re-ranking stage needs the vectors: use the block method")

    def resolved(self, store: VectorStore) -> RankingRequest:
        """This request with its method chosen for `store`: AUTO is BLOCK where the engine keeps the vectors
        in this process (`Capabilities.local_vectors`) or a stage needs them, else BATCH_QUERY."""
        if self.method is not Method.AUTO:
            return self
        local = store.capabilities.local_vectors or self.stage is not None
        return replace(self, method=Method.BLOCK if local else Method.BATCH_QUERY)
