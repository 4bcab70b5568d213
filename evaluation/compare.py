"""The rows of each dataset ordered by mAP, each compared with the next on the same queries."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evaluation.runner import Evaluation
from evaluation.statistics import PairedDifference, paired_difference


@dataclass(frozen=True)
class RankedRow:
    """One row of a dataset's ordering, and its paired comparison with the next (None for the last)."""

    name: str
    mean_ap: float
    low: float
    high: float
    next: str | None
    difference: PairedDifference | None

    def to_json(self) -> dict:
        return {
            "row": self.name,
            "map": None if math.isnan(self.mean_ap) else self.mean_ap,
            "next": self.next,
            "against_next": None if self.difference is None else self.difference.to_json(),
        }


@dataclass(frozen=True)
class DatasetRanking:
    """A dataset's evaluated rows (encoders, re-ranked rows) by mAP, highest first."""

    dataset: str
    rows: list[RankedRow]

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "rows": [row.to_json() for row in self.rows]}


def aligned_ap(evaluation: Evaluation, ids: list[str]) -> np.ndarray:
    """The evaluation's per-query AP in the order of `ids`; NaN for a point it does not hold or query."""
    position = {point_id: i for i, point_id in enumerate(evaluation.query_ids)}
    ap = np.append(evaluation.figures.ap, np.nan)
    return ap[[position.get(point_id, -1) for point_id in ids]]


def rank_datasets(evaluations: list[Evaluation]) -> list[DatasetRanking]:
    """Per dataset, its rows by mAP (ties by name), each with the paired difference to the next.

    The pair is matched by point id (the same images), so collections of one
    dataset ingested with different encoders compare query by query; a point
    only one of them holds is left out of that comparison. Each evaluation's
    `comparison` is set to its record, for its metrics.json.
    """
    rankings = []
    for dataset in sorted({e.dataset for e in evaluations}):
        rows = sorted(
            (e for e in evaluations if e.dataset == dataset),
            key=lambda e: (-e.mean_ap if not math.isnan(e.mean_ap) else math.inf, e.name),
        )
        ranked = []
        for this, after in zip(rows, [*rows[1:], None], strict=True):
            difference = None
            if after is not None:
                difference = paired_difference(this.figures.ap, aligned_ap(after, this.query_ids))
            ranked.append(
                RankedRow(
                    this.name, this.mean_ap, this.interval.low, this.interval.high, after and after.name, difference
                )
            )
            this.comparison = {"rank": len(ranked), "of": len(rows), **ranked[-1].to_json()}
        rankings.append(DatasetRanking(dataset, ranked))
    return rankings
