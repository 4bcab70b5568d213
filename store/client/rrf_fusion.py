"""Qdrant's prefetch + RRF fusion query over several collections of the same points (`search --fuse`).

Qdrant fuses the prefetches of one collection (one named vector each); here
every member is a collection of its own. So each member's `depth` nearest
points to the stored point (exact; the point itself left out) are gathered,
with every member's vector of each, into a transient in-memory collection with
one named vector per member, and one query there prefetches each member's top
`depth` by its vector and fuses them with `RrfQuery`: the query a deployment
with the members as named vectors of one collection sends, and the same
candidates. Qdrant scores the hit at 0-based position i of a prefetch
1 / (k' + i), with k' = 2 unless given: the 1-based 1 / (rank_constant + rank)
is k' = rank_constant + 1. Qdrant leaves equal fused scores in no defined order.
"""

from __future__ import annotations

from dataclasses import dataclass

from qdrant_client import QdrantClient, models

from errors import StoreError
from store.payload import ImagePayload
from store.types import Hit


@dataclass(frozen=True)
class FusedAsk:
    """One fused query: the stored point, the hits wanted, RRF's rank constant and each member's depth."""

    point_id: str
    limit: int
    rank_constant: int
    depth: int


def fused_hits(
    client: QdrantClient, members: list[str], asked: FusedAsk, *, exact: models.SearchParams | None
) -> list[Hit]:
    """The fused hits of `asked` over the member collections of `client`; `exact` is the engine's exact search."""
    wanted: dict[str, None] = {}
    for name in members:
        for p in client.query_points(name, query=asked.point_id, limit=asked.depth, search_params=exact).points:
            wanted[str(p.id)] = None
    vectors = {}
    for name in members:
        found = {str(r.id): r.vector for r in client.retrieve(name, [asked.point_id, *wanted], with_vectors=True)}
        if asked.point_id not in found:
            raise StoreError(
                f"no point in '{name}' has id '{asked.point_id}'; fused collections must hold the same points"
            )
        vectors[name] = found
    shared = [pid for pid in wanted if all(pid in vectors[name] for name in members)]
    payloads = {str(r.id): r.payload for r in client.retrieve(members[0], shared, with_payload=True)}
    fusion = QdrantClient(":memory:")  # Qdrant fuses the prefetches of one collection: the members, named vectors
    try:
        named = {f"m{i}": name for i, name in enumerate(members)}
        fusion.create_collection(
            "fused",
            vectors_config={
                key: models.VectorParams(size=len(vectors[name][asked.point_id]), distance=models.Distance.COSINE)
                for key, name in named.items()
            },
        )
        if shared:
            fusion.upsert(
                "fused",
                points=[
                    models.PointStruct(
                        id=pid, vector={key: vectors[name][pid] for key, name in named.items()}, payload=payloads[pid]
                    )
                    for pid in shared
                ],
            )
        result = fusion.query_points(
            "fused",
            prefetch=[
                models.Prefetch(query=vectors[name][asked.point_id], using=key, limit=asked.depth)
                for key, name in named.items()
            ],
            query=models.RrfQuery(rrf=models.Rrf(k=asked.rank_constant + 1)),
            limit=asked.limit,
            with_payload=True,
        )
    finally:
        fusion.close()
    return [Hit.of(str(p.id), p.score, ImagePayload.read(p.payload)) for p in result.points]
