"""Which classes a collection confuses with which: for each class, where its queries' top-k hits fall.

The evaluation records keep each query's AP but not its hits, so the top k
are ranked from the stored vectors (by the caller: the web app's map page) as
the leave-one-out evaluation ranks them (`evaluation.rank_all`: exact cosine, ties by dataset order, the query
itself excluded). A point counts in every class among its labels
(`ImagePayload.label_set`; "?" for a point without one): a query of classes a
and b is a row-a and a row-b query, a hit of classes b and c a column-b and a
column-c hit. Cell (a, b) is the share of the top-k hits of class-a queries
that have class b; for single-label points a row sums to 1 and the diagonal is
precision at k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.metrics.relevance import membership
from evaluation.ranking.ranker import Neighbours

NO_LABEL = "?"


@dataclass(frozen=True)
class Confusion:
    """Class x class shares of top-k hits, with the neighbours they were counted from."""

    k: int
    classes: list[str]
    counts: np.ndarray  # (classes, classes) hits of row-class queries that have the column's class
    queries: np.ndarray  # (classes,) queries of each class
    members: np.ndarray  # (points, classes) each point's classes
    neighbours: Neighbours

    def share(self, row: int, column: int) -> float:
        hits = self.queries[row] * self.k
        return float(self.counts[row, column] / hits) if hits else 0.0

    def rows(self) -> list[tuple[str, int, list[float]]]:
        """(class, its queries, its shares in every class) in class order."""
        return [
            (label, int(self.queries[i]), [self.share(i, j) for j in range(len(self.classes))])
            for i, label in enumerate(self.classes)
        ]

    def pairs(self, row: str, column: str) -> list[tuple[int, int, int]]:
        """(query position, hit position, rank from 1) of every class-`row` query's hit of class `column`."""
        in_row = self.members[:, self.classes.index(row)]
        in_column = self.members[:, self.classes.index(column)]
        return [
            (int(query), int(hit), rank)
            for query in np.flatnonzero(in_row)
            for rank, hit in enumerate(self.neighbours.order[query], start=1)
            if in_column[hit]
        ]


def confusion(neighbours: Neighbours) -> Confusion:
    """The confusion of the top hits `neighbours` holds (every point a query, `order` cut at k)."""
    members, classes = membership([p.label_set or (NO_LABEL,) for p in neighbours.points.payloads])
    matrix = members.astype(np.int64)
    k = neighbours.order.shape[1]
    hit_classes = np.zeros_like(matrix)  # (points, classes): how many of each point's top-k hits have each class
    for rank in range(k):
        hit_classes += matrix[neighbours.order[:, rank]]
    counts = matrix.T @ hit_classes
    return Confusion(k, classes, counts, matrix.sum(axis=0), members, neighbours)
