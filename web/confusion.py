"""Which classes a collection confuses with which: for each class, where its queries' top-k hits fall.

The evaluation records keep each query's AP but not its hits, so the top k
are ranked here from the stored vectors as the leave-one-out evaluation ranks
them (`evaluation.rank_all`: exact cosine, ties by dataset order, the query
itself excluded). Cell (a, b) is the share of the hits of class-a queries
that have class b; the diagonal is precision at k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation import Neighbours

DEFAULT_K = 10


@dataclass(frozen=True)
class Confusion:
    """Class x class shares of top-k hits, with the neighbours they were counted from."""

    k: int
    classes: list[str]
    counts: np.ndarray  # (classes, classes) hits of row-class queries that have the column's class
    queries: np.ndarray  # (classes,) queries of each class
    neighbours: Neighbours

    def share(self, row: int, column: int) -> float:
        hits = self.counts[row].sum()
        return float(self.counts[row, column] / hits) if hits else 0.0

    def rows(self) -> list[tuple[str, int, list[float]]]:
        """(class, its queries, its shares in every class) in class order."""
        return [
            (label, int(self.queries[i]), [self.share(i, j) for j in range(len(self.classes))])
            for i, label in enumerate(self.classes)
        ]

    def pairs(self, row: str, column: str) -> list[tuple[int, int, int]]:
        """(query position, hit position, rank from 1) of every class-`row` query's hit of class `column`."""
        labels = self.labels()
        order = self.neighbours.order
        found = []
        for query in np.flatnonzero(labels == row):
            for rank, hit in enumerate(order[query], start=1):
                if labels[hit] == column:
                    found.append((int(query), int(hit), rank))
        return found

    def labels(self) -> np.ndarray:
        return np.array([str(label) if label is not None else "?" for label in self.neighbours.points.labels])


def confusion(neighbours: Neighbours) -> Confusion:
    """The confusion of the top hits `neighbours` holds (every point a query, `order` cut at k)."""
    labels = np.array([str(label) if label is not None else "?" for label in neighbours.points.labels])
    classes = sorted(set(labels.tolist()))
    index = {label: i for i, label in enumerate(classes)}
    codes = np.array([index[label] for label in labels], dtype=np.int64)
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    if neighbours.order.size:
        rows = np.repeat(codes, neighbours.order.shape[1])
        np.add.at(counts, (rows, codes[neighbours.order.ravel()]), 1)
    queries = np.bincount(codes, minlength=len(classes))
    return Confusion(neighbours.order.shape[1], classes, counts, queries, neighbours)


def share_class(share: float) -> str:
    """A CSS class for a share's cell colour, in tenths (h0 .. h10): no inline style, so the CSP stays 'self'."""
    return f"h{round(max(0.0, min(share, 1.0)) * 10)}"
