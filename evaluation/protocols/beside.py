"""The evaluations `eval` runs beside leave-one-out when asked: text-to-image, and fused encoders.

`EvalOptions.beside` (a `BesideOptions`) says which (`eval --text-queries
--template`, `eval --fuse A,B --fusion`); `evaluate_beside` runs them after the
collections' leave-one-out figures and writes each as a record of its own kind
(`evaluation.records.run_records`: reports/<collection>/runs/text-to-image.json,
reports/<A>+<B>/runs/fused-rrf-k60.json) with its figures beside
(`evaluation.report.report_files.variant_folder`). Their comparison with the members is
computed from the records, when a table is drawn (`evaluation.metrics.comparisons`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from errors import EvaluationError
from evaluation.options import EvalOptions
from evaluation.protocols.fused_encoders import FusedEvaluation, Fusion, evaluate_fused
from evaluation.protocols.leave_one_out import Evaluation
from evaluation.protocols.text_to_image import TextEvaluation, draw_text_gallery, evaluate_text_queries
from evaluation.query_encoders import QueryEncoders
from evaluation.records.run_records import write_record
from evaluation.records.study_grid import figure_text
from evaluation.records.variant import Variant
from evaluation.report.galleries import draw_gallery
from evaluation.report.pr_plots import pr_plot
from evaluation.report.report_files import variant_folder
from media.folders import report_folder
from media.roots import resolve_image_root
from store import VectorStore
from store.provenance import now

ROOT_SAMPLE = 3


@dataclass
class BesideRun:
    """The records `evaluate_beside` wrote, every file, and what it skipped (with why)."""

    records: list[Path] = field(default_factory=list)
    files: list[list[Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def evaluate_beside(
    store: VectorStore,
    names: list[str],
    reports_dir: Path,
    *,
    options: EvalOptions,
    progress: Callable[[str], AbstractContextManager],
) -> BesideRun:
    """Text-to-image over `names` that have a text tower, then each fusion; their records and figures written."""
    beside = options.beside
    run = BesideRun()
    if beside is None:
        return run
    if beside.text_queries:
        capable = text_collections(store, names, options.encoders)
        for name in sorted(set(names) - set(capable)):
            run.notes.append(f"{name}: its encoder has no text tower; no text->image figures")
        for name in capable:
            with progress(f"eval {name} text->image") as advance:
                text = evaluate_text_queries(
                    store, name, templates=list(beside.templates), k=options.k, encoders=options.encoders
                )
                advance(1, 1)
            _written(run, _write_text(text, reports_dir, options))
    request = replace(options.ranking(), exclude_duplicates=False)  # --exclude-duplicates is leave-one-out's
    for members in beside.fuse:
        for method in beside.fusions:
            fusion = Fusion(method, beside.rrf_k)
            with progress(f"eval fused {'+'.join(members)} ({method})") as advance:
                fused = evaluate_fused(store, list(members), fusion, request=request, progress=advance)
            _written(run, _write_fused(fused, reports_dir, options))
    return run


def text_collections(store: VectorStore, names: list[str], encoders: QueryEncoders) -> list[str]:
    """The collections among `names` whose encoder has a text tower (as `encoders` knows them); an error when
    none has (asked before any evaluation runs)."""
    capable = [name for name in names if encoders.has_text(store.info(name).encoder)]
    if not capable:
        raise EvaluationError(f"none of {', '.join(names)} has a text tower (clip, siglip); --text-queries needs one")
    return capable


def _written(run: BesideRun, files: list[Path]) -> None:
    run.records.append(files[0])
    run.files.append(files)


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
