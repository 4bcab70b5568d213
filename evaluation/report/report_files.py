"""Report files: reports/<collection>/ (records and PNGs) and reports/index.html.

Each evaluation writes its record (`evaluation.records.run_records`: reports/<collection>/runs/<variant>.json)
and its figures: the full ranking's in reports/<collection>/, another variant's in
reports/<collection>/<variant slug>/ (at10/, sample100-seed0/, dba+aqe-k2-alpha3/), so no
variant replaces another's. The index belongs to one store: it is drawn from the records of
that store's collections that still exist, with when and by which command it was made and
each collection's provenance; its orderings and paired comparisons are computed as it is
drawn (`evaluation.metrics.comparisons`). It is one static page with relative links: it opens from disk
with no server, and is written aside then renamed. Every label, path and name in it is
escaped, control and bidi characters included.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evaluation.metrics.comparisons import member_comparisons, rank_records
from evaluation.protocols.leave_one_out import Evaluation
from evaluation.records.run_records import store_records, write_record
from evaluation.records.study_grid import cell_text, figure_text, study_table
from evaluation.records.variant import Variant
from evaluation.report.galleries import draw_gallery
from evaluation.report.index_page import FIGURES, page
from evaluation.report.pr_plots import pr_plot
from evaluation.report.revisited_section import revisited_html, revisited_records
from media.files import write_text_atomic
from media.folders import report_folder, safe_name
from media.text import html_text
from redaction import redact
from store.provenance import now, versions

INDEX_FILE = "index.html"


def variant_folder(reports_dir: Path, collection: str, variant: Variant) -> Path:
    """Where a variant's figures go: reports/<collection>/ for the full ranking, else a folder named by its slug."""
    folder = report_folder(reports_dir, collection)
    return folder if variant.is_full else folder / variant.slug


def write_collection_report(
    evaluation: Evaluation, reports_dir: Path, image_root: Path | None, command: str = ""
) -> list[Path]:
    """The record, pr.png, and (when the images were found) best.png and worst.png; returns their paths.

    Without `image_root` the galleries are not drawn, so galleries drawn
    earlier from the real images are not replaced by placeholders. An
    evaluation that excluded duplicates also writes the record of its figures
    without them (its own variant).
    """
    variant = evaluation.variant
    folder = variant_folder(reports_dir, evaluation.collection, variant)
    summary = evaluation.to_json()
    files = [write_evaluation_record(evaluation, reports_dir, command, summary)]
    title = evaluation.title
    name = f"{title}: {evaluation.metric} {figure_text(summary['map'])}"
    folder.mkdir(parents=True, exist_ok=True)
    files.append(pr_plot({name: summary["pr_curve"]["precision"]}, folder / "pr.png", f"{name}: mean PR curve"))
    if image_root is not None:
        for which, rows in (("best", evaluation.best()), ("worst", evaluation.worst())):
            files.append(
                draw_gallery(rows, image_root, folder / f"{which}.png", f"{title}: the {len(rows)} {which} queries")
            )
    without = evaluation.without_duplicates()
    if without is not None:
        files.extend(write_collection_report(without, reports_dir, None, command))
    return files


def write_evaluation_record(
    evaluation: Evaluation, reports_dir: Path, command: str, summary: dict | None = None
) -> Path:
    """reports/<collection>/runs/<variant>.json: the evaluation, the command that made it and when."""
    record = {**(summary or evaluation.to_json()), "command": command, "made": now()}
    return write_record(report_folder(reports_dir, evaluation.collection), evaluation.variant, record)


def write_index(reports_dir: Path, location: str, collections: set[str], *, command: str, order: Sequence[str]) -> Path:
    """reports/index.html for the store at `location` and one reports/pr_<dataset>.png per dataset.

    `collections` are the store's collections now; `command` is what made the report; `order` orders the
    encoders of the study table (`evaluation.records.study_grid.study_table`).
    """
    records = store_records(reports_dir, location, collections)
    summaries = []
    for record in records:
        drawn = (reports_dir / record.folder / name for name in FIGURES)
        summaries.append({**record.data, "figures": [path.name for path in drawn if path.is_file()]})
    encoders, datasets, cells = study_table(records, order)
    plots = {}
    for dataset in datasets:
        curves = {
            f"{encoder} ({cell_text(cells[encoder, dataset])})": cells[encoder, dataset].data["pr_curve"]["precision"]
            for encoder in encoders
            if (encoder, dataset) in cells and cells[encoder, dataset].variant.is_full
        }
        name = f"pr_{safe_name(dataset)}.png"
        pr_plot(curves, reports_dir / name, f"{dataset}: mean interpolated PR curves")
        plots[dataset] = name
    index = reports_dir / INDEX_FILE
    made = (
        f"Made {now()} by <code>{html_text(redact(command))}</code> from the store {html_text(redact(location))}.<br>"
        f"Versions: {html_text(', '.join(f'{name} {version}' for name, version in versions().items()))}."
    )
    revisited = revisited_html(revisited_records(reports_dir, location, collections))
    rankings = rank_records(records)
    members = member_comparisons(records)
    write_text_atomic(index, page(summaries, encoders, datasets, cells, plots, made, rankings, revisited, members))
    return index
