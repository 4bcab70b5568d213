"""The evaluations `eval` runs beside leave-one-out when asked: text-to-image, and fused encoders.

`BesideOptions` says which (`eval --text-queries/--template`, `eval --fuse
A,B --fusion`); `evaluate_beside` runs them after the collections'
leave-one-out figures (so each fused row is compared with its members' on the
same queries) and writes their records and figures (`evaluation.kind_records`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from errors import EvaluationError
from evaluation.figures import pr_plot
from evaluation.fused import FusedEvaluation, Fusion, evaluate_fused
from evaluation.galleries import draw_gallery
from evaluation.grid import figure_text
from evaluation.kind_records import write_record
from evaluation.report import report_folder
from evaluation.runner import Evaluation
from evaluation.text_metrics import DEFAULT_TEMPLATE
from evaluation.text_queries import TextEvaluation, draw_text_gallery, evaluate_text_queries, text_capable
from media.roots import resolve_image_root
from store import VectorStore

ROOT_SAMPLE = 3


@dataclass(frozen=True)
class BesideOptions:
    """Text queries (with their templates) and fused member lists, each fused with every rule in `fusions`."""

    text_queries: bool = False
    templates: tuple[str, ...] = (DEFAULT_TEMPLATE,)
    fuse: tuple[tuple[str, ...], ...] = ()
    fusions: tuple[str, ...] = ("rrf", "sum")
    rrf_k: int = 60
    device: str = "auto"

    @property
    def members(self) -> list[str]:
        """Every collection a fusion needs, once, in order."""
        return list(dict.fromkeys(name for members in self.fuse for name in members))


@dataclass
class BesideRun:
    """What `evaluate_beside` measured and wrote, and what it skipped (with why)."""

    text: list[TextEvaluation] = field(default_factory=list)
    fused: list[FusedEvaluation] = field(default_factory=list)
    files: list[list[Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict]:
        return [record.to_json() for record in [*self.text, *self.fused]]


def evaluate_beside(
    store: VectorStore,
    names: list[str],
    options: BesideOptions,
    evaluations: list[Evaluation],
    reports_dir: Path,
    data_root: Path | None,
    k: int | None,
    progress: Callable[[str], AbstractContextManager],
) -> BesideRun:
    """Text-to-image over `names` that have a text tower, then each fusion; their files are written."""
    run = BesideRun()
    if options.text_queries:
        capable = text_collections(store, names)
        for name in sorted(set(names) - set(capable)):
            run.notes.append(f"{name}: its encoder has no text tower; no text->image figures")
        for name in capable:
            with progress(f"eval {name} text->image") as advance:
                text = evaluate_text_queries(store, name, list(options.templates), k, options.device)
                advance(1, 1)
            run.text.append(text)
            run.files.append(_write_text(text, reports_dir, data_root))
    for members in options.fuse:
        for method in options.fusions:
            fusion = Fusion(method, options.rrf_k)
            with progress(f"eval fused {'+'.join(members)} ({method})") as advance:
                fused = evaluate_fused(store, list(members), fusion, k, advance)
            fused.compare(evaluations)
            run.fused.append(fused)
            run.files.append(_write_fused(fused, reports_dir, data_root))
    return run


def text_collections(store: VectorStore, names: list[str]) -> list[str]:
    """The collections among `names` whose encoder has a text tower; an error when none has (asked before
    any evaluation runs)."""
    capable = [name for name in names if text_capable(store.info(name).encoder)]
    if not capable:
        raise EvaluationError(f"none of {', '.join(names)} has a text tower (clip, siglip); --text-queries needs one")
    return capable


def _folder(reports_dir: Path, name: str, k: int | None) -> Path:
    folder = report_folder(reports_dir, name)
    return folder if k is None else folder / f"at{k}"


def _image_root(recorded: str | None, data_root: Path | None, dataset: str, paths: list[str]) -> Path | None:
    return resolve_image_root(recorded, data_root, dataset, paths[:ROOT_SAMPLE])


def _write_text(text: TextEvaluation, reports_dir: Path, data_root: Path | None) -> list[Path]:
    folder = _folder(reports_dir, text.collection, text.k)
    record = text.to_json()
    files = [write_record(record, folder)]
    name = f"{text.title}: {text.metric} {figure_text(record['map'])}"
    files.append(pr_plot({name: record["pr_curve"]["precision"]}, folder / "text_pr.png", f"{name}: mean PR curve"))
    root = _image_root(text.provenance.image_root if text.provenance else None, data_root, text.dataset, text.paths)
    if root is not None:
        for which in ("best", "worst"):
            files.append(draw_text_gallery(text, which, root, folder / f"text_{which}.png"))
    return files


def _write_fused(fused: FusedEvaluation, reports_dir: Path, data_root: Path | None) -> list[Path]:
    evaluation = fused.evaluation
    folder = _folder(reports_dir, fused.folder, evaluation.k)
    record = fused.to_json()
    files = [write_record(record, folder)]
    name = f"{fused.title}: {evaluation.metric} {figure_text(record['map'])}"
    files.append(pr_plot({name: record["pr_curve"]["precision"]}, folder / "pr.png", f"{name}: mean PR curve"))
    root = _image_root(fused.image_root, data_root, evaluation.dataset, evaluation.paths)
    if root is not None:
        for which, rows in (("best", evaluation.best()), ("worst", evaluation.worst())):
            files.append(
                draw_gallery(rows, root, folder / f"{which}.png", f"{fused.title}: the {len(rows)} {which} queries")
            )
    return files
