"""Orderings and paired comparisons of evaluation records: `compare_records`, the one entry point.

The evaluation run returns those of the records it wrote (`EvaluationRun.comparisons`); reports/index.html and
the web app's backend ask for those of the records they show. The terminal, the report and the pages only
show them.

Records are grouped by dataset and by what they measured (`Variant.comparable`:
the metric and the queries; a re-ranked row joins the plain rows measured the
same way). Within a group the rows are ordered by the mAP shown (ties by
name), and each is compared with the next on the per-query APs of both
records, matched by point id; the p-values of a group are Holm-corrected
over its comparisons, so that with three rows or more the table says which
differences survive the multiplicity. A pair whose queries differ (another sample,
points added or removed since) is not compared: the row says why. A fused
record (`Variant.kind` fused) is also compared with each of its members'
records measured the same way (`member_comparisons`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from evaluation.metrics.statistics import SIGNIFICANT, PairedDifference, holm, paired_difference, permutation_range
from evaluation.records.run_records import RunRecord
from evaluation.records.variant import FUSED, LEAVE_ONE_OUT


@dataclass(frozen=True)
class RankedRow:
    """One row of an ordering, and its paired comparison with the next (None for the last, or a reason)."""

    name: str
    mean_ap: float | None
    low: float | None
    high: float | None
    next: str | None
    difference: PairedDifference | None
    unmatched: str | None = None  # why the row is not compared with the next, when it is not
    holm_p: float | None = None  # the p-value Holm-adjusted over the ordering's comparisons (None: not compared)

    @property
    def survives(self) -> bool:
        """The difference to the next stays significant once the ordering's comparisons are Holm-corrected."""
        return self.holm_p is not None and self.holm_p < SIGNIFICANT

    def to_json(self) -> dict:
        against = None if self.difference is None else self.difference.to_json()
        if against is not None:
            against.update({"holm_p": self.holm_p, "significant_after_holm": self.survives})
        return {
            "row": self.name,
            "map": self.mean_ap,
            "next": self.next,
            "against_next": against,
            "not_compared": self.unmatched,
        }


@dataclass(frozen=True)
class Ranking:
    """The rows of one dataset measured one way (`measured`: 'full ranking', '@10', ...), by mAP."""

    dataset: str
    measured: str
    metric: str
    rows: list[RankedRow]
    all_equal_p: float | None = None  # three rows or more on the same queries: the randomization test of them all

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "measured": self.measured,
            "metric": self.metric,
            "rows": [row.to_json() for row in self.rows],
            "all_equal": None
            if self.all_equal_p is None
            else {
                "p_value": self.all_equal_p,
                "test": "randomization (permutation) test of the range of the rows' means, rows permuted per query",
            },
        }


def rank_records(records: list[RunRecord]) -> list[Ranking]:
    """Per dataset and way of measuring, the records by mAP, each compared with the next by point id."""
    groups: dict[tuple, list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.dataset, record.variant.comparable), []).append(record)
    rankings = []
    for (dataset, _), group in sorted(groups.items(), key=lambda item: (item[0][0], item[1][0].variant.measured)):
        rows = sorted(group, key=lambda r: (-r.map if r.map is not None else math.inf, r.name))
        ranked = []
        for this, after in zip(rows, [*rows[1:], None], strict=True):
            difference, reason = (None, None) if after is None else compare(this, after)
            low, high = this.interval
            ranked.append(RankedRow(this.name, this.map, low, high, after and after.name, difference, reason))
        first = rows[0]
        ranking = Ranking(dataset, first.variant.measured, first.metric, _holm_corrected(ranked), _all_equal(rows))
        rankings.append(ranking)
    return rankings


def _holm_corrected(rows: list[RankedRow]) -> list[RankedRow]:
    """`rows` with each comparison's p-value Holm-adjusted over the ordering's comparisons (`statistics.holm`):
    with more than two rows, which differences survive the multiplicity; with two, the p-value itself."""
    p_values = [
        row.difference.p_value if row.difference is not None and row.difference.queries else math.nan for row in rows
    ]
    adjusted = holm(p_values)
    return [replace(row, holm_p=None if math.isnan(p) else p) for row, p in zip(rows, adjusted, strict=True)]


def _all_equal(rows: list[RunRecord]) -> float | None:
    """The p-value of the randomization test that all `rows` are equally good (`statistics.permutation_range`),
    where there are three or more, each with the same queries; None otherwise."""
    if len(rows) < 3 or any(not r.ap_per_query or r.ap_per_query.keys() != rows[0].ap_per_query.keys() for r in rows):
        return None
    ids = list(rows[0].ap_per_query)
    p = permutation_range(np.column_stack([_aps(record, ids) for record in rows]))
    return None if math.isnan(p) else p


def compare(a: RunRecord, b: RunRecord) -> tuple[PairedDifference | None, str | None]:
    """The paired difference a - b over the same queries matched by point id, or why there is none."""
    if not a.ap_per_query or not b.ap_per_query:
        return None, "not compared: a record without per-query AP (written by an older release)"
    if a.ap_per_query.keys() != b.ap_per_query.keys():
        shared = len(a.ap_per_query.keys() & b.ap_per_query.keys())
        return None, (
            f"not compared: different queries ({shared} shared of {len(a.ap_per_query)} and "
            f"{len(b.ap_per_query)}); evaluate both again"
        )
    ids = list(a.ap_per_query)
    return paired_difference(_aps(a, ids), _aps(b, ids)), None


def _aps(record: RunRecord, ids: list[str]) -> np.ndarray:
    return np.array([np.nan if record.ap_per_query[i] is None else record.ap_per_query[i] for i in ids], dtype=float)


@dataclass(frozen=True)
class MemberComparison:
    """A fused record against one of its members' records measured the same way: fused - member by point id."""

    fused: str
    member: str
    difference: PairedDifference | None
    unmatched: str | None = None  # why there is no difference, when there is none


@dataclass(frozen=True)
class Comparisons:
    """What every table of records shows beside their figures: the orderings with their paired tests, and each
    fused row against its members."""

    rankings: list[Ranking] = field(default_factory=list)
    members: list[MemberComparison] = field(default_factory=list)


def compare_records(records: list[RunRecord], *, members: bool = True) -> Comparisons:
    """The orderings and paired comparisons of `records`: the one entry point of the terminal, index.html and
    the web app, which show them and compute nothing; `members=False` leaves out the fused rows' comparisons
    with their members (a bootstrap each) for a page that shows only the orderings."""
    return Comparisons(rank_records(records), member_comparisons(records) if members else [])


def member_comparisons(records: list[RunRecord]) -> list[MemberComparison]:
    """Each fused record among `records` against each member's plain record measured the same way (the member
    missing from `records` is said so), on the per-query APs matched by point id."""
    compared = []
    for fused in (r for r in records if r.kind == FUSED):
        for member in fused.sources:
            found = next(
                (
                    r
                    for r in records
                    if r.collection == member
                    and r.kind == LEAVE_ONE_OUT
                    and r.variant.rerank is None
                    and r.variant.comparable == fused.variant.comparable
                ),
                None,
            )
            if found is None:
                reason = f"not compared: no record of {member} measured as {fused.variant.measured}"
                compared.append(MemberComparison(fused.name, member, None, reason))
                continue
            difference, reason = compare(fused, found)
            compared.append(MemberComparison(fused.name, found.name, difference, reason))
    return compared
