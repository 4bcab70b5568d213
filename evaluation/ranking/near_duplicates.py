"""Near-duplicate points by cosine: pairs at or above a threshold, and groups reduced to one point.

The pairs and groups themselves are `store.close_pairs`'s, shared with the `duplicates` stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.ranking.ranker import BLOCK_ROWS
from store.close_pairs import Pairs, first_of_group, pairs_within

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
    found = pairs_within(vectors, threshold, block)
    return duplicates_of(len(vectors), [(found.first, found.second, found.score)], threshold)


def duplicates_of(n: int, pairs: list[tuple], threshold: float = THRESHOLD) -> Duplicates:
    """The `Duplicates` of n points from their close pairs, in blocks of (i, j, score) with i < j, i in order."""
    found = Pairs.joined(pairs)
    i, j, score = found.first, found.second, found.score
    group = first_of_group(n, i, j)
    keep = group == np.arange(n)
    examples = [
        (int(a), int(b), float(s)) for a, b, s in zip(i[:EXAMPLES], j[:EXAMPLES], score[:EXAMPLES], strict=True)
    ]
    return Duplicates(threshold, len(i), len(np.unique(group[i])), keep, examples)
