"""reports/index.html: the report of one store, rendered from the templates the web app uses.

The command layer writes it after `evaluation.evaluate_collections` returns
(`eval`, and the demo). It is drawn from the records of the store's
collections that still exist (`evaluation.records.run_records`), with when and
by which command it was made and each collection's provenance; its orderings
and paired comparisons come from the evaluation's entry point
(`evaluation.compare_records`) over the records it shows. One static page with
relative links, its stylesheet inline: it opens from disk with no server, and
is written aside then renamed. Every label, path and name in it is escaped,
control and bidi characters included (`presentation.environment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evaluation import compare_records, store_records, study_table
from evaluation.records.study_grid import cell_text
from evaluation.report.pr_plots import pr_plot
from evaluation.report.revisited_section import revisited_records
from media.files import write_text_atomic
from media.folders import safe_name
from presentation.environment import render
from presentation.report_view import (
    FIGURES,
    Figure,
    IndexView,
    Made,
    Table,
    relative_href,
    revisited,
    section,
    study_rows,
    table_notes,
)
from redaction import redact
from store.provenance import now, versions

INDEX_FILE = "index.html"


def write_index(
    reports_dir: Path,
    location: str,
    collections: set[str],
    *,
    command: str,
    order: Sequence[str],
    skipped: list[str] | None = None,
) -> Path:
    """reports/index.html for the store at `location` and one reports/pr_<dataset>.png per dataset.

    `collections` are the store's collections now; `command` is what made the report; `order` orders the
    encoders of the study table (the registry's order, handed in by the command); a record that is not valid is
    left out and named in `skipped`.
    """
    records = store_records(reports_dir, location, collections, skipped=skipped)
    summaries = [record.data for record in records]
    sections = [
        section(record.data, [name for name in FIGURES if (reports_dir / record.folder / name).is_file()])
        for record in records
    ]
    table = Table(*study_table(records, order))
    plots = []
    for dataset in table.datasets:
        curves = {
            f"{row} ({cell_text(table.cells[row, dataset])})": table.cells[row, dataset].data["pr_curve"]["precision"]
            for row in table.rows
            if (row, dataset) in table.cells and table.cells[row, dataset].variant.is_full
        }
        name = f"pr_{safe_name(dataset)}.png"
        pr_plot(curves, reports_dir / name, f"{dataset}: mean interpolated PR curves")
        caption = f"{dataset}: the mean precision-recall curve of every encoder evaluated on it."
        plots.append(Figure(relative_href(name), caption, "plot"))
    made = Made(now(), redact(command), redact(location), ", ".join(f"{n} {v}" for n, v in versions().items()))
    view = IndexView(
        made=made,
        datasets=table.datasets,
        rows=study_rows(table),
        notes=table_notes(summaries),
        comparisons=compare_records(records),
        revisited=revisited(revisited_records(reports_dir, location, collections)),
        plots=plots,
        sections=sections,
    )
    index = reports_dir / INDEX_FILE
    write_text_atomic(index, render("report.html", view=view))
    return index
