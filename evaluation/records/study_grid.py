"""The study's table from evaluation records: encoders by datasets, full runs first, each other variant its own row.

The main rows are the encoders' full-ranking records, the figures the study
publishes; every other variant (a cut at k, a sample, a re-ranking, duplicates
excluded) is a row of its own named by its variant (`colorhist @10`,
`colorhist sample 100 seed 0`), never mixed into an encoder's cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evaluation.records.run_records import RunRecord
from evaluation.records.study import study_text
from store.provenance import random_marked


@dataclass(frozen=True)
class TableRow:
    """One row of the table: an encoder's full runs, or one variant of an encoder's runs."""

    encoder: str
    variant: str  # the variant's label; 'full' for the main rows

    @property
    def full(self) -> bool:
        return self.variant == "full"

    @property
    def label(self) -> str:
        return self.encoder if self.full else f"{self.encoder} {self.variant}"

    def __str__(self) -> str:
        return self.label


def study_table(
    records: list[RunRecord], order: Sequence[str]
) -> tuple[list[TableRow], list[str], dict[tuple[TableRow, str], RunRecord]]:
    """(rows, datasets, cells): encoders as rows and datasets as columns, as in the study.

    The full-ranking rows come first, encoders in `order` (the registry's,
    handed in by the caller; unknown ones after, by name); then each other
    variant's rows, by encoder and variant. Datasets are sorted. A cell holds
    the record of that row and dataset.
    """
    known = list(order)
    cells: dict[tuple[TableRow, str], RunRecord] = {}
    for record in records:
        cells.setdefault((TableRow(record.encoder, record.variant.label), record.dataset), record)
    order = {
        row: (not row.full, known.index(row.encoder) if row.encoder in known else len(known), row.encoder)
        for row, _ in cells
    }
    rows = sorted({row for row, _ in cells}, key=lambda row: (*order[row], _variant_order(cells, row)))
    datasets = sorted({d for _, d in cells})
    return rows, datasets, cells


def _variant_order(cells: dict, row: TableRow) -> str:
    return next(record.variant.slug for (r, _), record in cells.items() if r == row)


@dataclass(frozen=True)
class StudyGrid:
    """The study's table as text: rows (encoders, then variants), datasets as columns, a figure per cell."""

    metric: str
    rows: list[TableRow]
    datasets: list[str]
    cells: dict[tuple[TableRow, str], str]


def study_grid(records: list[RunRecord], order: Sequence[str]) -> StudyGrid:
    """The grid of `records` (encoders in `order`, see `study_table`), '-' where a pair was not evaluated."""
    rows, datasets, cells = study_table(records, order)
    metrics = sorted({r.metric for r in records}) or ["mAP"]
    text = {(r, d): with_study(cells.get((r, d)), interval=False) for r in rows for d in datasets}
    return StudyGrid(" / ".join(metrics), rows, datasets, text)


def cell_text(record: RunRecord | None) -> str:
    """'0.5110', 'mAP@10 0.4321', '0.2699 (100 of 960 queries)', marked when the weights were random;
    '-' when absent."""
    if record is None:
        return "-"
    text = figure_text(record.map) if record.variant.k is None else f"{record.metric} {figure_text(record.map)}"
    if record.variant.sample is not None:
        text += f" ({record.queries} of {record.points} queries)"
    return random_marked(text, record.random_weights)


def with_study(record: RunRecord | None, interval: bool = True) -> str:
    """cell_text, then the mAP interval (always for a sample, where it says how far the figure may be off;
    with `interval` otherwise) and, where the study has the pair, its figure and our difference."""
    text = cell_text(record)
    if record is None:
        return text
    low, high = record.interval
    if (interval or record.variant.sample is not None) and low is not None:
        text += f" [{low:.4f}, {high:.4f}]"
    study = study_text(record.data)
    return f"{text} ({study})" if study else text


def figure_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def percent_text(value: float | None) -> str:
    """A figure as a percentage to one decimal (the Revisited tables); 'n/a' for none or NaN (no relevant point)."""
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f}"
