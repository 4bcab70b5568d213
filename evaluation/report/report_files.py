"""Report files: reports/<collection>/ (records and PNGs).

Each evaluation writes its record (`evaluation.records.run_records`: reports/<collection>/runs/<variant>.json)
and its figures: the full ranking's in reports/<collection>/, another variant's in
reports/<collection>/<variant slug>/ (at10/, sample100-seed0/, dba+aqe-k2-alpha3/), so no
variant replaces another's. reports/index.html, the page that shows them, is the presentation
layer's (`presentation.static_report`), written by the command after the evaluation returns.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.protocols.leave_one_out import Evaluation
from evaluation.records.run_records import write_record
from evaluation.records.study_grid import figure_text
from evaluation.records.variant import Variant
from evaluation.report.galleries import draw_gallery
from evaluation.report.pr_plots import pr_plot
from media.folders import report_folder
from store.provenance import now


def variant_folder(reports_dir: Path, collection: str, variant: Variant) -> Path:
    """Where a variant's figures go: reports/<collection>/ for the full ranking, else a folder named by its slug."""
    folder = report_folder(reports_dir, collection)
    return folder if variant.is_full else folder / variant.slug


def write_collection_report(
    evaluation: Evaluation, reports_dir: Path, image_root: Path | None, *, command: str = ""
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
    files = [write_evaluation_record(evaluation, reports_dir, command, summary=summary)]
    title = evaluation.title
    name = f"{title}: {evaluation.metric} {figure_text(summary['map'])}"
    folder.mkdir(parents=True, exist_ok=True)
    files.append(pr_plot({name: summary["pr_curve"]["precision"]}, folder / "pr.png", f"{name}: mean PR curve"))
    if image_root is not None:
        for which, rows in (("best", evaluation.best()), ("worst", evaluation.worst())):
            files.append(
                draw_gallery(
                    rows, image_root, folder / f"{which}.png", title=f"{title}: the {len(rows)} {which} queries"
                )
            )
    without = evaluation.without_duplicates()
    if without is not None:
        files.extend(write_collection_report(without, reports_dir, None, command=command))
    return files


def write_evaluation_record(
    evaluation: Evaluation, reports_dir: Path, command: str, *, summary: dict | None = None
) -> Path:
    """reports/<collection>/runs/<variant>.json: the evaluation, the command that made it and when."""
    record = {**(summary or evaluation.to_json()), "command": command, "made": now()}
    return write_record(report_folder(reports_dir, evaluation.collection), evaluation.variant, record)
