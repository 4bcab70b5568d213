"""Close pairs of unit vectors (cosine at or above a threshold) and the groups they connect.

The evaluation's duplicate note and the `duplicates` stage both find them, so
they meet here, since neither may import the other. Scores come in blocks of
whole rows, one matrix product each; within one set only the upper triangle
(i < j) is computed, so a set of n points costs half of n x n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK_ELEMENTS = 1 << 24  # scores per block: rows x columns, about 64 MB of float32
MAX_BLOCK_ROWS = 512
MIN_BLOCK_ROWS = 16


class TooManyPairs(Exception):
    """More close pairs than the caller allowed: the threshold joins most of the set (raised, never truncated)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} pairs")
        self.limit = limit


@dataclass(frozen=True)
class Pairs:
    """Close pairs as parallel arrays: positions `first` and `second` (i < j within one set; a row of the
    first set and a row of the second across two) and their cosine `score`."""

    first: np.ndarray
    second: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.first)

    @classmethod
    def joined(cls, parts: list[tuple]) -> Pairs:
        """One set of pairs from blocks of (first, second, score) arrays."""
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
        first, second, score = (np.concatenate([part[c] for part in parts]) for c in range(3))
        return cls(first.astype(np.int64), second.astype(np.int64), score.astype(np.float32))


def block_rows(columns: int) -> int:
    """Rows scored at once against `columns` points, so that a block stays near BLOCK_ELEMENTS scores."""
    return int(np.clip(BLOCK_ELEMENTS // max(columns, 1), MIN_BLOCK_ROWS, MAX_BLOCK_ROWS))


def pairs_within(vectors: np.ndarray, threshold: float, block: int | None = None, *, limit: int | None = None) -> Pairs:
    """Every pair i < j with vectors[i] . vectors[j] >= threshold (unit vectors: cosine), in row order.

    Each block of rows is scored against the columns from its own first row on: the upper triangle. Past
    `limit` pairs it raises `TooManyPairs` (a threshold that joins nearly everything), before memory runs out."""
    n = len(vectors)
    block = block or block_rows(n)
    parts = []
    found = 0
    for start in range(0, n, block):
        similarity = vectors[start : start + block] @ vectors[start:].T
        rows, cols = np.divmod(np.flatnonzero(similarity >= threshold), similarity.shape[1])  # 2-D nonzero: slower
        above = cols > rows
        rows, cols = rows[above], cols[above]
        parts.append((rows + start, cols + start, similarity[rows, cols]))
        found += len(rows)
        if limit is not None and found > limit:
            raise TooManyPairs(limit)
    return Pairs.joined(parts)


def pairs_across(
    first: np.ndarray, second: np.ndarray, threshold: float, *, block: int | None = None, limit: int | None = None
) -> Pairs:
    """Every (row of `first`, row of `second`) whose cosine is >= threshold: the second set scored in blocks;
    past `limit` pairs, `TooManyPairs`."""
    block = block or block_rows(len(first))
    parts = []
    found = 0
    for start in range(0, len(second), block):
        similarity = second[start : start + block] @ first.T
        rows, cols = np.divmod(np.flatnonzero(similarity >= threshold), similarity.shape[1])
        parts.append((cols, rows + start, similarity[rows, cols]))
        found += len(rows)
        if limit is not None and found > limit:
            raise TooManyPairs(limit)
    return Pairs.joined(parts)


def pairs_in_rows(positions: np.ndarray, scores: np.ndarray, threshold: float) -> tuple:
    """(i, j, score) of the pairs i < j with score >= threshold in a block of whole rows.

    Row r of `scores` is point positions[r] against every point (its own
    column out of reach, -inf): what the evaluation's ranking scores anyway,
    so the pairs cost one comparison instead of a second matrix product.
    """
    rows, cols = np.divmod(np.flatnonzero(scores >= threshold), scores.shape[1])
    first = positions[rows]
    above = cols > first
    return first[above], cols[above], scores[rows[above], cols[above]]


def first_of_group(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """For each of n points, the lowest position connected to it through the pairs (first, second): a group is
    a connected set of pairs (a ~ b and b ~ c put a, b, c in one group even when a and c are further apart)."""
    group = np.arange(n)
    while True:
        lowest = np.minimum(group[first], group[second])
        before = group.copy()
        np.minimum.at(group, first, lowest)
        np.minimum.at(group, second, lowest)
        group = group[group]  # follow the links to the lowest position found so far
        if np.array_equal(group, before):
            return group
