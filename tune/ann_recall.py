"""How close a collection's approximate index (HNSW, quantization) comes to exact search: `eval --ann`.

An index measurement, so tune's: quality figures (mAP) always come from exact
search; this says what the index as it stands would lose on the same
collection, by tune's one recall@k (`top_k_lists.recall_at_k`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from store import VectorStore
from tune.top_k_lists import positions_of, recall_at_k

BATCH_QUERIES = 32


@dataclass(frozen=True)
class AnnRecall:
    """How much of the exact top k the approximate index finds, averaged over sampled queries."""

    collection: str
    k: int
    queries: int
    recall: float
    exact_only: bool  # the engine has no approximate index: recall is 1 by construction
    indexed: int  # vectors in the HNSW graph; below Qdrant's indexing threshold search is exact anyway
    points: int

    def to_json(self) -> dict:
        return asdict(self)


def ann_recall(store: VectorStore, name: str, k: int = 10, *, sample: int = 200, seed: int = 0) -> AnnRecall:
    """recall@k of the collection's approximate search against exact search.

    For `sample` stored points drawn with `seed`, each queried by id (itself
    excluded): |approximate top k & exact top k| / |exact top k|, averaged.
    A store whose engine has only exact search: recall 1.0, nothing sampled.
    """
    status = store.index_status(name)
    if store.capabilities.exact_only:
        return AnnRecall(name, k, 0, 1.0, exact_only=True, indexed=0, points=status.points)
    ids = sorted(store.point_ids(name))
    rng = np.random.default_rng(seed)
    chosen = [ids[i] for i in np.sort(rng.choice(len(ids), size=min(sample, len(ids)), replace=False))]
    position = {point: i for i, point in enumerate(ids)}
    recalls = []
    for start in range(0, len(chosen), BATCH_QUERIES):
        chunk = chosen[start : start + BATCH_QUERIES]
        exact, approximate = (
            positions_of(
                [hits for hits, _ in store.query_many(name, chunk, k, exact=way)], position, k, leave_out=chunk
            )
            for way in (True, False)
        )
        recalls += [r for r in recall_at_k(exact, approximate).tolist() if not np.isnan(r)]
    recall = float(np.mean(recalls)) if recalls else 1.0
    return AnnRecall(name, k, len(recalls), recall, False, status.indexed, status.points)
