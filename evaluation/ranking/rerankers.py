"""Re-ranking stages on vectors: alpha query expansion (aqe) and database-side augmentation (dba).

Both follow Radenovic, Tolias and Chum, "Fine-tuning CNN image retrieval with
no human annotation" (TPAMI 2018): a vector x becomes

    x' = normalise(x + sum over i = 1..k of max(0, s_i)^alpha * y_i)

where y_1..y_k are x's k nearest vectors among a set (x itself excluded) and
s_i = x . y_i their cosine scores. k = 0 leaves x as it is.

Leave-one-out, as the plain evaluation: a query never counts itself.

- aqe: query q is expanded with its k nearest other stored points, and the
  expanded vector ranks the other points (q is excluded from its ranking).
- dba: every stored vector is augmented once, over its own k nearest other
  points, as a database is augmented offline before any query arrives. The
  query is its stored vector as it is (a query is an image, not a database
  entry), and its own augmented vector is out of its ranking. The augmented
  vector of another point j was built from j's neighbours, which may include
  q: that is the standard DBA protocol for a database that holds the query
  image, chosen so that the figures are those of an augmented database queried
  by its own images. It favours points that have q among their k neighbours
  (slightly optimistic against a database built without q); recomputing the
  database without each query would be n augmentations, and a different
  protocol from the paper's.
- dba+aqe: dba first, then q is expanded with its k nearest augmented
  vectors (its own excluded), and ranks the augmented database.

A stage needs the vectors in this process: on a server the evaluation reads
them with `store.points(name, with_vectors=True)` and ranks here, in blocks.
Neighbours are found in blocks of rows (`ranking.top_neighbours`), so memory
stays BLOCK_ROWS x n, never n x n.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evaluation.ranking.ranker import top_neighbours
from evaluation.ranking.request import VectorStage
from evaluation.records.variant import Variant

METHODS = ("aqe", "dba", "dba+aqe")
DEFAULT_K = 2
DEFAULT_ALPHA = 3.0


def augment(vectors: np.ndarray, among: np.ndarray, k: int, *, alpha: float) -> np.ndarray:
    """Each row of `vectors` expanded with its `k` nearest rows of `among` (row i itself excluded).

    Row i of `vectors` and of `among` belong to the same point, so its own row
    of `among` is never a neighbour. Returns float32 unit rows.
    """
    if k == 0:
        return vectors
    order, scores = top_neighbours(vectors, among, k)
    weights = np.maximum(scores, 0) ** np.float32(alpha)
    expanded = np.array(vectors, dtype=np.float32, copy=True)
    for rank in range(order.shape[1]):  # one neighbour at a time: memory n x d, not n x k x d
        expanded += weights[:, rank, None] * among[order[:, rank]]
    norms = np.linalg.norm(expanded, axis=1, keepdims=True)
    return expanded / np.where(norms > 0, norms, 1)


@dataclass(frozen=True)
class Rerank:
    """A re-ranking stage (`evaluation.ranking.request.VectorStage`): `method` with `k` neighbours and `alpha`."""

    method: str
    k: int = DEFAULT_K
    alpha: float = DEFAULT_ALPHA

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown re-ranking '{self.method}'; choose one of {METHODS}")
        if self.k < 0 or self.alpha < 0:
            raise ValueError(f"re-ranking needs k >= 0 and alpha >= 0, not k={self.k}, alpha={self.alpha}")

    @property
    def name(self) -> str:
        """How the re-ranked rows are named: collection + ' +' + name (`paris_dinov2 +dba+aqe`)."""
        return self.method

    def __call__(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        database = augment(vectors, vectors, self.k, alpha=self.alpha) if "dba" in self.method else vectors
        queries = augment(vectors, database, self.k, alpha=self.alpha) if "aqe" in self.method else vectors
        return queries, database

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "k": self.k,
            "alpha": self.alpha,
            "source": "Radenovic, Tolias and Chum (2018): alpha query expansion and database-side augmentation",
            "protocol": "leave-one-out; the database is augmented once, each point over its k nearest others "
            "(which may include the query); the query is expanded over its k nearest others, itself excluded",
            "comparable_with_study": False,
        }


@dataclass(frozen=True)
class Parameter:
    """One setting of a re-ranker, with the default and lower bound the command line offers."""

    name: str
    default: float
    minimum: float
    help: str
    integer: bool = False


@dataclass(frozen=True)
class Reranker:
    """A re-ranker the evaluation can run: its name, what it reorders, its parameters and how to build it.

    `reorders` is "vectors" for a `VectorStage` (new query and database vectors,
    ranked by `evaluation.ranking.ranker`); a re-ranker that reorders ranked lists
    (e.g. k-reciprocal) would register "lists" and its own stage type.
    """

    name: str
    reorders: str
    parameters: tuple[Parameter, ...]
    help: str
    build: Callable[..., VectorStage]

    def stage(self, **values: float) -> VectorStage:
        """The stage with `values` for its parameters (defaults for the ones not given)."""
        settings = {p.name: values.get(p.name, p.default) for p in self.parameters}
        return self.build(**{n: int(v) if self._integer(n) else v for n, v in settings.items()})

    def _integer(self, name: str) -> bool:
        return next(p.integer for p in self.parameters if p.name == name)


NEIGHBOUR_PARAMETERS = (
    Parameter("k", DEFAULT_K, 0, "Neighbours re-ranking uses.", integer=True),
    Parameter("alpha", DEFAULT_ALPHA, 0, "Re-ranking weight exponent."),
)
RERANKERS: dict[str, Reranker] = {
    method: Reranker(
        method,
        "vectors",
        NEIGHBOUR_PARAMETERS,
        {
            "aqe": "alpha query expansion",
            "dba": "database-side augmentation",
            "dba+aqe": "database-side augmentation, then alpha query expansion",
        }[method],
        lambda k, alpha, method=method: Rerank(method, k, alpha),
    )
    for method in METHODS
}


def parameter(name: str) -> Parameter:
    """The parameter `name` the registered re-rankers share (the command line has one option for it)."""
    found = {p for reranker in RERANKERS.values() for p in reranker.parameters if p.name == name}
    if len(found) != 1:
        raise ValueError(f"re-rankers do not share one parameter '{name}': {sorted(p.default for p in found)}")
    return found.pop()


def stage_of(variant: Variant) -> VectorStage | None:
    """The re-ranking stage a recorded variant names, with its recorded parameters (None: not re-ranked)."""
    if variant.rerank is None:
        return None
    if variant.rerank not in RERANKERS:
        raise ValueError(f"unknown re-ranker '{variant.rerank}'; known: {', '.join(RERANKERS)}")
    return RERANKERS[variant.rerank].stage(**dict(variant.parameters))
