"""The files of the evaluations `eval` runs beside leave-one-out (`evaluation.protocols.beside`): each one's
record (`evaluation.records.run_records`), its PR curve and, where the images are found, its best and worst
galleries, in the variant's own folder (`report_files.variant_folder`)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from evaluation.options import EvalOptions
from evaluation.protocols.fused_encoders import FusedEvaluation
from evaluation.protocols.leave_one_out import Evaluation
from evaluation.protocols.text_to_image import TextEvaluation, draw_text_gallery
from evaluation.records.run_records import write_record
from evaluation.records.study_grid import figure_text
from evaluation.records.variant import Variant
from evaluation.report.galleries import draw_gallery
from evaluation.report.pr_plots import pr_plot
from evaluation.report.report_files import variant_folder
from media.folders import report_folder
from media.roots import resolve_image_root
from store.provenance import now

ROOT_SAMPLE = 3  # the stored paths tried when looking for the image folder


class _Measured(Protocol):
    """What `_record_and_curve` writes: a text-to-image or fused evaluation, its record and its names."""

    collection: str
    variant: Variant
    title: str
    metric: str

    def to_json(self) -> dict: ...


def _record_and_curve(measured: _Measured, reports_dir: Path, command: str) -> tuple[Path, list[Path]]:
    """The record written (the one writer, `evaluation.records.run_records`, with command and time) and its PR
    curve drawn: the variant's folder, and those two files."""
    record, variant = measured.to_json(), measured.variant
    written = {**record, "variant": variant.to_json(), "command": command, "made": now()}
    folder = variant_folder(reports_dir, measured.collection, variant)
    files = [write_record(report_folder(reports_dir, measured.collection), variant, written)]
    name = f"{measured.title}: {measured.metric} {figure_text(record['map'])}"
    folder.mkdir(parents=True, exist_ok=True)
    files.append(pr_plot({name: record["pr_curve"]["precision"]}, folder / "pr.png", f"{name}: mean PR curve"))
    return folder, files


def _image_root(recorded: str | None, data_root: Path | None, shown: TextEvaluation | Evaluation) -> Path | None:
    """The folder of the images `shown` draws: the recorded one, or under `data_root` (see `resolve_image_root`)."""
    return resolve_image_root(recorded, data_root, shown.dataset, paths=shown.paths[:ROOT_SAMPLE])


def write_beside(measured: TextEvaluation | FusedEvaluation, reports_dir: Path, options: EvalOptions) -> list[Path]:
    """The record of a text-to-image or fused evaluation, then its figures (`evaluate_beside`'s `write`)."""
    if isinstance(measured, TextEvaluation):
        return _write_text(measured, reports_dir, options)
    return _write_fused(measured, reports_dir, options)


def _write_text(text: TextEvaluation, reports_dir: Path, options: EvalOptions) -> list[Path]:
    """The text-to-image record, its PR curve and (when the images are found) its best and worst classes."""
    folder, files = _record_and_curve(text, reports_dir, options.command)
    recorded = text.provenance.image_root if text.provenance else None
    root = _image_root(recorded, options.data_root, text)
    if root is not None:
        for which in ("best", "worst"):
            files.append(draw_text_gallery(text, which, root, out=folder / f"{which}.png"))
    return files


def _write_fused(fused: FusedEvaluation, reports_dir: Path, options: EvalOptions) -> list[Path]:
    """The fused record, its PR curve and (when the images are found) its best and worst queries."""
    evaluation = fused.evaluation
    folder, files = _record_and_curve(fused, reports_dir, options.command)
    root = _image_root(fused.image_root, options.data_root, evaluation)
    if root is not None:
        for which, rows in (("best", evaluation.best()), ("worst", evaluation.worst())):
            files.append(
                draw_gallery(
                    rows, root, folder / f"{which}.png", title=f"{fused.title}: the {len(rows)} {which} queries"
                )
            )
    return files
