"""Qdrant's queries by examples written out in numpy: the references the engines and `search --like` must equal.

The formulas are Qdrant's own: the recommend strategies from "Explore the data" (qdrant.tech) and its
segment's `reco_query.rs`, MMR from "Maximal Marginal Relevance" (qdrant.tech, search relevance) and its
collection's `maximal_marginal_relevance.rs`.
"""

from __future__ import annotations

import numpy as np

from store.example_query import Strategy


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Qdrant's scaled fast sigmoid, 0.5 * (x / (1 + |x|) + 1): increasing, always above 0."""
    return 0.5 * (x / (1 + np.abs(x)) + 1)


def recommend_scores(vectors: np.ndarray, positives: list[int], negatives: list[int], strategy: Strategy) -> np.ndarray:
    """The recommend score of every point (unit rows of `vectors`) for the examples at those rows.

    best_score: with p the best cosine to a positive and n the best cosine to a negative, sigmoid(p) where
    p > n, else -sigmoid(n) (no positive: p = -inf). sum_scores: the sum of the cosines to the positives
    minus the sum of the cosines to the negatives."""
    cosines = vectors @ vectors.T
    best_negative = cosines[negatives].max(axis=0) if negatives else np.full(len(vectors), -np.inf)
    if strategy is Strategy.BEST:
        best_positive = cosines[positives].max(axis=0) if positives else np.full(len(vectors), -np.inf)
        return np.where(best_positive > best_negative, sigmoid(best_positive), -sigmoid(best_negative))
    return cosines[positives].sum(axis=0) - cosines[negatives].sum(axis=0)


def numpy_mmr(vectors: np.ndarray, query: int, lam: float, candidates: int, k: int) -> list[int]:
    """MMR for the stored point at row `query` (left out): among the `candidates` nearest points, the most
    relevant first, then each time the candidate c maximising lam * sim(query, c) - (1 - lam) * max over
    picked s of sim(c, s); Qdrant's `diversity` is 1 - lam."""
    relevance = vectors @ vectors[query]
    relevance[query] = -np.inf
    pool = [int(i) for i in np.argsort(-relevance, kind="stable")[:candidates]]
    picked = [pool.pop(0)]
    while len(picked) < k:
        mmr = [lam * relevance[c] - (1 - lam) * max(vectors[c] @ vectors[s] for s in picked) for c in pool]
        picked.append(pool.pop(int(np.argmax(mmr))))
    return picked
