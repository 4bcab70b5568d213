"""Evaluate collections of a store and write their reports: what `eval` and `demo` run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from errors import EvaluationError, RetrievalError
from evaluation.ann import AnnRecall, ann_recall
from evaluation.compare import DatasetRanking, rank_datasets
from evaluation.estimate import Estimate, estimate
from evaluation.grid import StudyGrid, study_grid
from evaluation.landmarks import LandmarkEvaluation, evaluate_landmarks, revisited_truth
from evaluation.landmarks_report import write_landmark_metrics
from evaluation.ranking import VectorStage
from evaluation.report import report_folder, write_collection_report, write_index, write_metrics
from evaluation.runner import Evaluation, Progress, Sample, leave_one_out
from media.folders import writable_folder
from media.roots import resolve_image_root
from store import VectorStore
from store.limits import EMBEDDED_LIMIT, embedded_note
from store.provenance import unfinished

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
    rankings: list[DatasetRanking] = field(default_factory=list)  # per dataset, rows by mAP with paired tests
    landmarks: list[LandmarkEvaluation] = field(default_factory=list)  # Revisited Oxford/Paris collections
    landmark_files: list[Path] = field(default_factory=list)

    def to_json(self) -> list[dict]:
        return [evaluation.to_json() for evaluation in [*self.evaluations, *self.landmarks]]

    def grid(self) -> StudyGrid:
        """The evaluated collections as the study's encoders x datasets table."""
        return study_grid([evaluation.to_json() for evaluation in self.evaluations])


def evaluate_collections(
    store: VectorStore,
    names: list[str],
    reports_dir: Path,
    data_root: Path | None = None,
    k: int | None = None,
    method: str = "auto",
    explicit: bool = True,
    progress: ProgressFactory | None = None,
    command: str = "",
    rerank: VectorStage | None = None,
    exclude_duplicates: bool = False,
    sample: Sample | None = None,
    embedded_limit: int = EMBEDDED_LIMIT,
) -> EvaluationRun:
    """Leave-one-out over each named collection, its report files, then the store's reports/index.html.

    With `rerank` each collection is evaluated twice: plain, and re-ranked as
    its own row (`paris_dinov2 +dba+aqe`, reports/paris_dinov2+dba+aqe/).
    The rows of each dataset are then ordered by mAP and compared pairwise
    (`run.rankings`, and `comparison` in each metrics.json).

    With `explicit` False (every collection of the store) a collection that
    cannot be evaluated is skipped and named; otherwise its error stops the run.
    Gallery images come from each collection's recorded image folder, or from
    under `data_root` when one is given (the data moved); where they are not
    found the galleries are not drawn (earlier ones are kept) and a note says so.
    `command` is recorded in the index as what made it. Before a collection
    whose ranking is not quick, its estimated time and memory are in the
    progress title and the run's notes, with --k or --sample suggested when
    the run will be long; a collection of the embedded store past
    `embedded_limit` points gets a note that a server would serve it better.
    `sample` evaluates only that many seeded queries of each collection,
    against all of its points.

    A collection ingested from a Revisited Oxford/Paris layout (its ground
    truth beside its images) is measured by that protocol instead
    (`evaluation.landmarks`: Easy/Medium/Hard, the published figures beside).
    """
    writable_folder(reports_dir)
    progress = progress or (lambda title: nullcontext(lambda done, total: None))
    run = EvaluationRun(store.location)
    for name in names:
        problem = unfinished(name, store.provenance(name))
        if problem is not None:
            if explicit:
                raise EvaluationError(problem)
            run.skipped.append(problem)
            continue
        note = embedded_note(store, name, embedded_limit)
        if note is not None:
            run.notes.append(note)
        truth = revisited_truth(store.provenance(name))
        if truth is not None:
            _landmarks(run, store, name, truth, reports_dir, progress, explicit)
            continue
        evaluations = []
        for stage in [None, rerank] if rerank is not None else [None]:
            title = name if stage is None else f"{name} +{stage.name}"
            cost = _estimate(store, name, k, sample)
            if cost is not None:
                title = f"{title} ({cost.text()})"
                run.notes.append(f"{name}: {cost.points:,} points, estimated {cost.text()}")
            with progress(f"eval {title}") as advance:
                try:
                    evaluations.append(
                        leave_one_out(store, name, k, advance, method, stage, exclude_duplicates, sample)
                    )
                except EvaluationError as error:
                    if explicit:
                        raise
                    run.skipped.append(str(error))
                    break
        for evaluation in evaluations:
            _report(run, evaluation, reports_dir, data_root)
    if not run.evaluations and not run.landmarks:
        raise EvaluationError(f"none of the {len(names)} collections could be evaluated")
    run.rankings = rank_datasets(run.evaluations)
    for evaluation in run.evaluations:  # now with its comparison
        write_metrics(evaluation, reports_dir)
    run.index = write_index(reports_dir, store.location, set(store.collection_names()), command)
    return run


def _estimate(store: VectorStore, name: str, k: int | None, sample: Sample | None) -> Estimate | None:
    """The estimated cost of evaluating `name`; None when it is quick or the collection cannot say."""
    try:
        info = store.info(name)
    except RetrievalError:  # a collection that cannot be described fails in leave_one_out, with its reason
        return None
    queries = None if sample is None else min(sample.size, info.points)
    return estimate(info.points, info.dim, queries, k)


def _landmarks(
    run: EvaluationRun,
    store: VectorStore,
    name: str,
    truth: Path,
    reports_dir: Path,
    progress: ProgressFactory,
    explicit: bool,
) -> None:
    """The revisited protocol over one collection, and its metrics.json."""
    with progress(f"eval {name} (revisited: queries embedded)") as advance:
        try:
            landmark = evaluate_landmarks(store, name, store.provenance(name), truth)
        except EvaluationError as error:
            if explicit:
                raise
            run.skipped.append(str(error))
            return
        advance(1, 1)
    run.landmarks.append(landmark)
    run.landmark_files.append(write_landmark_metrics(landmark, report_folder(reports_dir, name)))


def _report(run: EvaluationRun, evaluation: Evaluation, reports_dir: Path, data_root: Path | None) -> None:
    """Add `evaluation` to `run` and write its report files, its galleries from the collection's images."""
    recorded = evaluation.provenance.image_root if evaluation.provenance else None
    root = resolve_image_root(recorded, data_root, evaluation.dataset, evaluation.paths[:ROOT_SAMPLE])
    if root is None and evaluation.stage is None:
        where = f"under {data_root}" if data_root is not None else f"in {recorded or 'data'}"
        run.notes.append(
            f"{evaluation.collection}: the images of dataset '{evaluation.dataset}' are not {where}; galleries "
            f"not drawn (pass --data-root with the folder that holds them)"
        )
    run.evaluations.append(evaluation)
    run.files.append(write_collection_report(evaluation, reports_dir, root))


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
