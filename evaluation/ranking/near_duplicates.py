"""Near-duplicate points by cosine: pairs at or above a threshold, and groups reduced to one point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.ranking.ranker import BLOCK_ROWS

THRESHOLD = 0.995
EXAMPLES = 5


@dataclass(frozen=True)
class Duplicates:
    """Pairs of points with cosine >= `threshold`, and which points stay when each group keeps one.

    A group is a connected set of such pairs (a ~ b and b ~ c put a, b, c in
    one group even when a and c are further apart); it keeps its first point
    in dataset order. `examples` are the first pairs (i < j, dataset order)
    with their cosine.
    """

    threshold: float
    pairs: int
    groups: int
    keep: np.ndarray  # bool per point
    examples: list[tuple[int, int, float]]

    @property
    def removed(self) -> int:
        return int((~self.keep).sum())

    def to_json(self, paths: list[str]) -> dict:
        return {
            "threshold": self.threshold,
            "pairs": self.pairs,
            "groups": self.groups,
            "points_removed": self.removed,
            "examples": [{"a": paths[i], "b": paths[j], "cosine": round(s, 6)} for i, j, s in self.examples],
        }


def find_duplicates(vectors: np.ndarray, threshold: float = THRESHOLD, block: int = BLOCK_ROWS) -> Duplicates:
    """Every pair i < j with vectors[i] . vectors[j] >= threshold (unit vectors: cosine), scored in blocks."""
    n = len(vectors)
    pairs = []
    for start in range(0, n, block):
        similarity = vectors[start : start + block] @ vectors[start:].T  # pairs i < j only: the columns from `start`
        rows, cols = np.nonzero(similarity >= threshold)
        above = cols > rows
        pairs.append((rows[above] + start, cols[above] + start, similarity[rows[above], cols[above]]))
    return duplicates_of(n, pairs, threshold)


def close_pairs(positions: np.ndarray, scores: np.ndarray, threshold: float = THRESHOLD) -> tuple:
    """(i, j, score) of the pairs i < j with score >= threshold in a block of whole rows.

    Row r of `scores` is point positions[r] against every point (its own
    column out of reach, -inf): what the evaluation's ranking scores anyway,
    so the pairs cost one comparison instead of a second matrix product.
    """
    rows, cols = np.divmod(np.flatnonzero(scores >= threshold), scores.shape[1])  # 2-D nonzero: 10x slower
    first = positions[rows]
    above = cols > first
    return first[above], cols[above], scores[rows[above], cols[above]]


def duplicates_of(n: int, pairs: list[tuple], threshold: float = THRESHOLD) -> Duplicates:
    """The `Duplicates` of n points from their close pairs, in blocks of (i, j, score) with i < j, i in order."""
    i, j = (np.concatenate([p[c] for p in pairs]).astype(np.int64) if pairs else np.empty(0, np.int64) for c in (0, 1))
    score = np.concatenate([p[2] for p in pairs]) if pairs else np.empty(0)
    group = _first_of_group(n, i, j)
    keep = group == np.arange(n)
    examples = [
        (int(a), int(b), float(s)) for a, b, s in zip(i[:EXAMPLES], j[:EXAMPLES], score[:EXAMPLES], strict=True)
    ]
    return Duplicates(threshold, len(i), len(np.unique(group[i])), keep, examples)


def _first_of_group(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """For each point, the lowest position connected to it through the pairs (i, j)."""
    group = np.arange(n)
    while True:
        lowest = np.minimum(group[i], group[j])
        before = group.copy()
        np.minimum.at(group, i, lowest)
        np.minimum.at(group, j, lowest)
        group = group[group]  # follow the links to the lowest position found so far
        if np.array_equal(group, before):
            return group
