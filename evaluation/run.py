"""Evaluate collections of a store and write their reports: what `eval` and `demo` run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from errors import EvaluationError
from evaluation.ann import AnnRecall, ann_recall
from evaluation.report import StudyGrid, study_grid, write_collection_report, write_index
from evaluation.runner import Evaluation, Progress, leave_one_out
from media.folders import writable_folder
from media.roots import find_image_root
from store import VectorStore

ProgressFactory = Callable[[str], AbstractContextManager[Progress]]
ROOT_SAMPLE = 3  # stored paths that must all exist under a folder for it to be the image root


@dataclass
class EvaluationRun:
    """Every evaluation of one `eval` with the files written, and what was skipped and why."""

    location: str
    evaluations: list[Evaluation] = field(default_factory=list)
    files: list[list[Path]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # collections that could not be evaluated, with the reason
    notes: list[str] = field(default_factory=list)  # what a reader of the report should know
    index: Path | None = None

    def to_json(self) -> list[dict]:
        return [evaluation.to_json() for evaluation in self.evaluations]

    def grid(self) -> StudyGrid:
        """The evaluated collections as the study's encoders x datasets table."""
        return study_grid([evaluation.to_json() for evaluation in self.evaluations])


def evaluate_collections(
    store: VectorStore,
    names: list[str],
    reports_dir: Path,
    data_root: Path,
    k: int | None = None,
    method: str = "auto",
    explicit: bool = True,
    progress: ProgressFactory | None = None,
) -> EvaluationRun:
    """Leave-one-out over each named collection, its report files, then reports/index.html.

    With `explicit` False (every collection of the store) a collection that
    cannot be evaluated is skipped and named; otherwise its error stops the run.
    Gallery images are found under `data_root`, once per dataset.
    """
    writable_folder(reports_dir)
    progress = progress or (lambda title: nullcontext(lambda done, total: None))
    run = EvaluationRun(store.location)
    roots: dict[str, Path | None] = {}
    for name in names:
        with progress(f"eval {name}") as advance:
            try:
                evaluation = leave_one_out(store, name, k, advance, method)
            except EvaluationError as error:
                if explicit:
                    raise
                run.skipped.append(str(error))
                continue
        if evaluation.dataset not in roots:
            roots[evaluation.dataset] = find_image_root(data_root, evaluation.dataset, evaluation.paths[:ROOT_SAMPLE])
            if roots[evaluation.dataset] is None:
                run.notes.append(
                    f"no dataset '{evaluation.dataset}' under {data_root}: the galleries show placeholders "
                    f"(pass --data-root)"
                )
        run.evaluations.append(evaluation)
        run.files.append(write_collection_report(evaluation, reports_dir, roots[evaluation.dataset]))
    if not run.evaluations:
        raise EvaluationError(f"none of the {len(names)} collections could be evaluated")
    run.index = write_index(reports_dir)
    return run


def measure_ann(store: VectorStore, names: list[str], k: int) -> list[AnnRecall]:
    """recall@k of the approximate index of each collection (eval --ann)."""
    return [ann_recall(store, name, k) for name in names]


def collections_to_evaluate(store: VectorStore, names: list[str]) -> list[str]:
    """The named collections (each checked to exist), or every collection of the store when none is named."""
    for name in names:
        store.require(name)
    chosen = list(names) or store.collection_names()
    if not chosen:
        raise EvaluationError(f"no collections in {store.location}; create them with `python cli.py ingest`")
    return chosen
