"""Evaluate collections of a store and write their reports: what `eval` and `demo` run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from errors import EvaluationError, RetrievalError, StoreError
from evaluation.formats.trec_export import write_landmark_trec, write_trec
from evaluation.formats.trec_run import read_run
from evaluation.metrics.comparisons import Comparisons, compare_records
from evaluation.options import EvalOptions
from evaluation.protocols.beside import evaluate_beside, text_collections
from evaluation.protocols.external_run import refuse_unknown, score_run
from evaluation.protocols.landmarks import LandmarkEvaluation, evaluate_landmarks, revisited_truth
from evaluation.protocols.leave_one_out import Evaluation, Measured, Progress, leave_one_out
from evaluation.ranking.cost import Estimate, estimate
from evaluation.ranking.request import RankingRequest
from evaluation.records.run_records import RunRecord, read_record, record_path
from evaluation.records.study_grid import StudyGrid, study_grid
from evaluation.records.variant import Variant
from evaluation.report.beside_files import write_beside
from evaluation.report.report_files import write_collection_report
from evaluation.report.revisited_section import write_landmark_metrics
from media.folders import report_folder, safe_name, writable_folder
from media.roots import looked_in, resolve_image_root
from store import VectorStore
from store.limits import size_note
from store.provenance import no_labels, unfinished

ProgressFactory = Callable[[str], AbstractContextManager[Progress]]
ROOT_SAMPLE = 3  # stored paths that must all exist under a folder for it to be the image root


@dataclass(frozen=True)
class RerankGain:
    """A re-ranked record's mAP against the plain ranking's of the same collection."""

    name: str  # the re-ranked row's name
    plain: float
    reranked: float

    @property
    def gain(self) -> float:
        return self.reranked - self.plain


@dataclass
class EvaluationRun:
    """Every evaluation of one `eval` with the files written, and what was skipped and why."""

    location: str
    evaluations: list[Evaluation] = field(default_factory=list)
    files: list[list[Path]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # collections that could not be evaluated, with the reason
    notes: list[str] = field(default_factory=list)  # what a reader of the report should know
    records: list[RunRecord] = field(default_factory=list)  # what this run recorded (and a re-ranked row's plain one)
    comparisons: Comparisons = field(default_factory=Comparisons)  # of `records`: orderings, paired tests, members
    landmarks: list[LandmarkEvaluation] = field(default_factory=list)  # Revisited Oxford/Paris collections
    landmark_files: list[Path] = field(default_factory=list)
    order: tuple[str, ...] = ()  # the registry's encoder names, the study table's row order
    trec_files: list[Path] = field(default_factory=list)  # runs, qrels and id lists written for `eval --trec`

    def to_json(self) -> list[dict]:
        """Each record as written (its variant named), then the revisited protocols' figures."""
        return [record.to_json() for record in self.records] + [landmark.to_json() for landmark in self.landmarks]

    def rerank_gains(self) -> list[RerankGain]:
        """Each re-ranked record beside the plain record of the same collection measured the same way (this
        run's, or the one recorded before): the mAP gain re-ranking gives."""
        gains = []
        for reranked in (r for r in self.records if r.variant.rerank is not None):
            plain_variant = replace(reranked.variant, rerank=None, parameters=())
            plain = next(
                (r for r in self.records if r.collection == reranked.collection and r.variant == plain_variant), None
            )
            if plain is not None and plain.map is not None and reranked.map is not None:
                gains.append(RerankGain(reranked.name, plain.map, reranked.map))
        return gains

    def grid(self) -> StudyGrid:
        """The evaluated collections as the study's encoders x datasets table."""
        return study_grid(self.records, self.order)


@dataclass(frozen=True)
class _Session:
    """What every collection of one `evaluate_collections` shares: the store, where reports go, the options."""

    store: VectorStore
    reports_dir: Path
    options: EvalOptions
    progress: ProgressFactory


def evaluate_collections(
    store: VectorStore,
    names: list[str],
    reports_dir: Path,
    *,
    options: EvalOptions | None = None,
    progress: ProgressFactory | None = None,
) -> EvaluationRun:
    """Leave-one-out over each named collection, its record and figures (reports/index.html, which shows the
    store's records, is the command's to write next: `presentation.static_report`).

    Each evaluation is recorded as its variant (`evaluation.records.run_records`): the
    full ranking, a cut at `options.k`, a sample, re-ranked, duplicates
    excluded; a record of one variant never replaces another's. With
    `options.rerank` each collection is evaluated re-ranked, as its own record,
    and plain too where this store has no record of the plain ranking yet. The
    orderings and paired comparisons (`run.comparisons`) are computed from the
    records this run wrote.

    With `options.explicit` False (every collection of the store) a collection
    that cannot be evaluated is skipped and named; otherwise its error stops the
    run. Gallery images come from each collection's recorded image folder, or
    from under `options.data_root` when one is given (the data moved); where
    they are not found the galleries are not drawn (earlier ones are kept) and a
    note says so. `options.command` is recorded with each record. Before a collection whose ranking is not quick, its estimated time
    and memory are in the progress title and the run's notes, with --k or
    --sample suggested when the run will be long; a collection of the embedded
    store past `options.embedded_limit` points gets a note that a server would
    serve it better. `options.sample` evaluates only that many seeded queries
    of each collection, against all of its points.

    `options.beside` adds text-to-image figures and fused encoders
    (`evaluation.protocols.beside`), measured after the collections, each recorded as a
    variant of its own kind (text-to-image, fused) and read back like the others.

    `options.run` (a TREC run made elsewhere) is scored on the first named
    collection's queries and ground truth (`evaluation.protocols.external_run`)
    and recorded as a row of its own kind, named by its tag.

    A collection ingested from a Revisited Oxford/Paris layout (its ground
    truth beside its images) is measured by that protocol instead
    (`evaluation.protocols.landmarks`: Easy/Medium/Hard, the published figures beside).
    """
    options = options or EvalOptions()
    writable_folder(reports_dir)
    if options.trec is not None:
        writable_folder(options.trec.folder, "--trec")
    external = None if options.run is None else read_run(options.run)
    if external is not None:  # a malformed run or one naming unknown ids fails before any ranking
        refuse_unknown(external, names[0], set(store.points(names[0]).ids))
    session = _Session(store, reports_dir, options, progress or (lambda title: nullcontext(lambda done, total: None)))
    run = EvaluationRun(store.location, order=options.encoders.order)
    if options.beside is not None and options.beside.text_queries:
        text_collections(store, names, options.encoders)  # none with a text tower: say so before any ranking
    broken = []
    for name in names:
        try:
            if not store.info(name).labeled:
                run.skipped.append(
                    f"{no_labels(name)}: eval needs labels (class folders, a list file); search it instead"
                )
                broken.append(name)
                continue
            _evaluate_one(session, run, name)
        except StoreError as error:  # a damaged collection (its files, its sidecar), held, or gone meanwhile
            if options.explicit:
                raise
            run.skipped.append(str(error))
            broken.append(name)
    if external is not None:
        with session.progress(f"eval run {external.tag} on {names[0]}") as advance:
            _report(session, run, score_run(store, names[0], external, metrics=options.metrics))
            advance(1, 1)
    if not run.evaluations and not run.landmarks:
        if len(names) == 1 and run.skipped:
            raise EvaluationError(run.skipped[0])
        first = f"; the first: {run.skipped[0]}" if run.skipped else ""
        raise EvaluationError(f"none of the {len(names)} collections could be evaluated{first}")
    if options.beside is not None:
        kept = [name for name in names if name not in broken]
        beside = evaluate_beside(
            store,
            kept,
            options=options,
            progress=session.progress,
            write=lambda measured: write_beside(measured, reports_dir, options),
        )
        run.files += beside.files
        run.notes += beside.notes
        run.records += [read_record(path, reports_dir) for path in beside.records]
    run.comparisons = compare_records(run.records)
    return run


def _evaluate_one(session: _Session, run: EvaluationRun, name: str) -> None:
    """Evaluate the collection `name` into `run` (a collection that cannot be is skipped and named, or raises)."""
    store, options = session.store, session.options
    problem = unfinished(name, store.provenance(name))
    if problem is not None:
        if options.explicit:
            raise EvaluationError(problem)
        run.skipped.append(problem)
        return
    note = size_note(store, name, options.embedded_limit)
    if note is not None:
        run.notes.append(note)
    truth = revisited_truth(store.provenance(name))
    if truth is not None:
        _landmarks(session, run, name, truth=truth)
        return
    evaluations = []
    stages, recorded = _stages(session, name)
    if recorded is not None:  # the plain row this run did not measure again, shown beside the re-ranked one
        run.records.append(recorded)
    for stage in stages:
        request = options.ranking(stage)
        title = name if stage is None else f"{name} +{stage.name}"
        cost = _estimate(store, name, request)
        if cost is not None:
            title = f"{title} ({cost.text()})"
            run.notes.append(f"{name}: {cost.points:,} points, estimated {cost.text()}")
        with session.progress(f"eval {title}") as advance:
            try:
                depth = 0 if options.trec is None else options.trec.depth
                measured = Measured(metrics=options.metrics, run_depth=depth)
                evaluations.append(leave_one_out(store, name, request, progress=advance, measured=measured))
            except EvaluationError as error:
                if options.explicit:
                    raise
                run.skipped.append(str(error))
                break
    for evaluation in evaluations:
        _report(session, run, evaluation)


def _stages(session: _Session, name: str) -> tuple[list, RunRecord | None]:
    """What to evaluate: the plain ranking; with a re-ranker, the re-ranked one, and the plain one too unless
    this store's collection has a record of it already (a re-ranked eval leaves the plain record as it is),
    which is then returned to be shown beside it."""
    options = session.options
    if options.rerank is None:
        return [None], None
    plain = Variant.of(options.k, options.sample, None)
    path = record_path(report_folder(session.reports_dir, name), plain)
    try:
        recorded = read_record(path, session.reports_dir)
    except (OSError, ValueError):
        return [None, options.rerank], None
    if recorded.store != session.store.location:
        return [None, options.rerank], None
    return [options.rerank], recorded


def _estimate(store: VectorStore, name: str, request: RankingRequest) -> Estimate | None:
    """The estimated cost of evaluating `name` as `request` asks; None when it is quick or the collection cannot
    say."""
    try:
        info = store.info(name)
    except RetrievalError:  # a collection that cannot be described fails in leave_one_out, with its reason
        return None
    queries = None if request.sample is None else min(request.sample.size, info.points)
    return estimate(info.points, info.dim, queries, k=request.k)


def _landmarks(session: _Session, run: EvaluationRun, name: str, *, truth: Path) -> None:
    """The revisited protocol over one collection, and its metrics.json."""
    store, options = session.store, session.options
    with session.progress(f"eval {name} (revisited: queries embedded)") as advance:
        try:
            landmark = evaluate_landmarks(store, name, store.provenance(name), file=truth, encoders=options.encoders)
        except EvaluationError as error:
            if options.explicit:
                raise
            run.skipped.append(str(error))
            return
        advance(1, 1)
    run.landmarks.append(landmark)
    run.landmark_files.append(write_landmark_metrics(landmark, report_folder(session.reports_dir, name)))
    if options.trec is not None:
        run.trec_files += write_landmark_trec(options.trec, landmark)


def _report(session: _Session, run: EvaluationRun, evaluation: Evaluation) -> None:
    """Add `evaluation` to `run` and write its record and figures, its galleries from the collection's images."""
    data_root = session.options.data_root
    recorded = evaluation.provenance.image_root if evaluation.provenance else None
    root = resolve_image_root(recorded, data_root, evaluation.dataset, paths=evaluation.paths[:ROOT_SAMPLE])
    if root is None and evaluation.stage is None and evaluation.run_tag is None:  # said once per collection
        run.notes.append(
            f"{evaluation.collection}: the images of dataset '{evaluation.dataset}' are not "
            f"{looked_in(recorded, data_root)}; galleries not drawn (pass --data-root with the folder that holds them)"
        )
    run.evaluations.append(evaluation)
    files = write_collection_report(evaluation, session.reports_dir, root, command=session.options.command)
    run.files.append(files)
    if evaluation.identical:
        run.notes.append(
            f"{evaluation.collection}: {len(evaluation.identical)} group(s) of stored images have identical content "
            f"(they inflate leave-one-out mAP; listed as identical_images in {files[0]})"
        )
    run.records.extend(read_record(path, session.reports_dir) for path in files if path.suffix == ".json")
    export = session.options.trec
    if export is not None and evaluation.ranked is not None:
        written = {path.name for path in run.trec_files}
        truth = f"{safe_name(evaluation.collection)}.qrels" not in written
        run.trec_files += write_trec(export, evaluation, with_truth=truth)


def collections_to_evaluate(store: VectorStore, names: list[str]) -> list[str]:
    """The named collections (each checked to exist), or every collection of the store when none is named."""
    for name in names:
        store.require(name)
    chosen = list(names) or store.collection_names()
    if not chosen:
        raise EvaluationError(f"no collections in {store.location}; create them with `python cli.py ingest`")
    return chosen
