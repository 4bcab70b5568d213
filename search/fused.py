"""Ad-hoc fused search: a stored point's neighbours by reciprocal rank fusion of several encoders' collections.

The collections hold the same dataset (ids are UUIDv5 of dataset and path, so
one image has one id in all of them). The fusion is the store's own query
(`VectorStore.fused_query`: Qdrant's prefetch + RRF); equal fused scores, which
Qdrant leaves in no defined order, are put in dataset order here, as the
evaluation's fused ranking puts them (a few hits past the cut are asked for,
so a tie there is ordered too).
"""

from __future__ import annotations

from dataclasses import dataclass

from errors import QueryError
from search.point_refs import checked_id
from store import Hit, VectorStore

RRF_K = 60  # the evaluation's constant (evaluation/ranking/fusion_rules.py): 1 / (k + rank), rank 1-based
EXACT_DEPTH = 10_000  # members up to this size rank every point: the fused top-k equals the evaluation's
DEPTH = 1_000  # each member's candidates in larger collections
TIE_MARGIN = 16


@dataclass(frozen=True)
class FusedQuery:
    """A stored point (by id or stored path) asked of the fusion of `members`."""

    members: tuple[str, ...]
    point_id: str | None = None
    path: str | None = None
    limit: int = 10
    rank_constant: int = RRF_K
    depth: int | None = None  # None: every point up to EXACT_DEPTH, else DEPTH


@dataclass
class FusedResult:
    query: FusedQuery
    point_id: str
    depth: int
    hits: list[Hit]

    def to_json(self) -> dict:
        return {
            "members": list(self.query.members),
            "fusion": {"method": "rrf", "k": self.query.rank_constant, "depth": self.depth},
            "query": {"id": self.point_id, "path": self.query.path},
            "hits": [{"rank": rank, **hit.to_json()} for rank, hit in enumerate(self.hits, start=1)],
        }


def fused_search(store: VectorStore, query: FusedQuery) -> FusedResult:
    """The `query.limit` best points by the store's RRF of the members' rankings; the query point left out."""
    members = list(query.members)
    if len(members) < 2 or len(set(members)) != len(members):
        raise QueryError(f"--fuse needs two or more different collections, got {', '.join(members)}")
    if (query.point_id is None) == (query.path is None):
        raise QueryError("a fused search asks by a stored point: give exactly one of --id, --path")
    if not store.capabilities.fused_query:
        raise QueryError(
            f"the store {store.location} has no fusion query; `eval --fuse {','.join(members)}` measures the fused "
            f"ranking, or search a Qdrant server (--qdrant-url) holding these collections"
        )
    for name in members:
        store.require(name)
    infos = [store.info(name) for name in members]
    datasets = {info.dataset for info in infos}
    if len(datasets) != 1:
        shown = ", ".join(f"{info.name} ({info.dataset})" for info in infos)
        raise QueryError(f"fused collections must hold the same dataset's points: {shown}")
    point = _point(store, members[0], query)
    points = infos[0].points
    depth = query.depth or (points - 1 if points <= EXACT_DEPTH else DEPTH)
    asked = store.fused_query(
        members, point, query.limit + TIE_MARGIN, rank_constant=query.rank_constant, depth=max(depth, 1)
    )
    ordered = sorted(asked, key=lambda hit: (-hit.score, hit.index))
    return FusedResult(query, point, depth, ordered[: query.limit])


def _point(store: VectorStore, collection: str, query: FusedQuery) -> str:
    if query.path is not None:
        found = store.find_by_path(collection, query.path)
        if found is None:
            raise QueryError(f"no point in '{collection}' has path '{query.path}' (give it as stored)")
        return found
    point = checked_id(query.point_id)
    if store.payload(collection, point) is None:
        raise QueryError(f"no point in '{collection}' has id '{point}'")
    return point
