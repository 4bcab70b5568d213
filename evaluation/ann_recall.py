"""How close the approximate index (HNSW, quantization) comes to exact search, as a metric.

Quality figures (mAP) always come from exact search; this says what the
index would lose on the same collection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from store import VectorStore

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
    recalls = []
    for start in range(0, len(chosen), BATCH_QUERIES):
        chunk = chosen[start : start + BATCH_QUERIES]
        exact = [set(hits) for hits, _ in store.query_many(name, chunk, k, exact=True)]
        approximate = [set(hits) for hits, _ in store.query_many(name, chunk, k, exact=False)]
        recalls += [len(e & a) / len(e) for e, a in zip(exact, approximate, strict=True) if e]
    recall = float(np.mean(recalls)) if recalls else 1.0
    return AnnRecall(name, k, len(recalls), recall, False, status.indexed, status.points)
