"""Embed a dataset with an encoder and upsert it into its collection.

Ids are deterministic, so a rerun does only what `ingest.plan` says (new and
changed images embedded, moved or relabelled ones rewritten) and an
interrupted run resumes. The collection records its provenance; a run whose
weights differ from the recorded ones is refused before anything is written.
With `--part I/N` a run embeds only its share of the list (ingest/parts.py),
while stale points are still those missing from the whole list, so parts run
at the same time or one after another make the collection one run makes.
Writes go through a one-thread writer, so upserting batch k overlaps the
forward pass of batch k+1. The collection is marked incomplete while it is
written (eval and search refuse it until a rerun completes it); `--recreate`
writes a staging collection beside the old one (`VectorStore.rebuilding`) and
swaps it in only when the rebuild stored an image and ended without error, so
a failed rebuild leaves the old collection exactly as it was.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from encoders import Encoder
from errors import DatasetError, RetrievalError, StoreError
from ingest.loader import ImageFiles, batches
from ingest.parts import Part
from ingest.plan import payload_of, plan
from ingest.reading.dataset_records import Dataset, Problem
from media.files import identical_groups, write_text_atomic
from media.images import DEFAULT_MAX_PIXELS
from store import IndexSettings, Provenance, VectorStore, collection_name, point_id
from store.limits import size_note
from store.provenance import now, versions


@dataclass
class IngestReport:
    collection: str
    dataset: str
    encoder: str
    images: int  # listed images this run covers: all of them, or its part's share
    already_stored: int
    part: str | None = None  # 'I/N' when the run took part I of N
    written: int = 0
    skipped: list[Problem] = field(default_factory=list)
    relabelled: int = 0  # stored points whose label, path or list position changed, rewritten
    changed: int = 0  # stored images whose content changed, embedded again
    not_in_dataset: int = 0  # stored points of images no longer listed; kept unless pruned
    pruned: int = 0  # of those, deleted (--prune)
    identical: list[list[str]] = field(default_factory=list)  # listed images with the same content
    weights: str = ""  # the identity of the weights that made the vectors, described
    random_weights: bool = False
    failed: str | None = None  # why nothing could be stored; no collection is left behind
    seconds: float = 0.0
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)  # what the user should know (a collection past the embedded store)
    report_file: Path | None = None  # where `write_report` put it (reports/ingest/<collection>.json)

    def to_json(self) -> dict:
        """Counts and skips; with "report", the file's path, once it is written."""
        record = asdict(self)
        written = record.pop("report_file")
        return {**record, "report": str(written)} if written else record


@dataclass
class IngestOptions:
    batch_size: int = 32
    workers: int = 1
    recreate: bool = False
    strict: bool = False
    prune: bool = False  # delete stored points whose images are no longer listed
    max_pixels: int = DEFAULT_MAX_PIXELS
    fast_decode: bool = False  # JPEG draft decoding at 1/2..1/8 size: faster, pixels not the reference's
    settings: IndexSettings = field(default_factory=IndexSettings)
    part: Part | None = None  # only this share of each dataset (`--part I/N`)
    embedded_limit: int | None = None  # points above which a note says the store is outgrown (None: the engine's)


Progress = Callable[[int, int], None]


class StopFlag:
    """Set by Ctrl-C; the loop finishes the current batch, then stops."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __enter__(self) -> StopFlag:
        self._previous = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, lambda *_: self.event.set())
        return self

    def __exit__(self, *exc) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous)


def ingest(
    dataset: Dataset,
    encoder: Encoder,
    store: VectorStore,
    *,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Store one vector per good image of `dataset`; report what was skipped."""
    options = options or IngestOptions()
    if options.strict and dataset.problems:
        raise DatasetError(
            f"{dataset.name}: {len(dataset.problems)} bad list entries, first: "
            f"{dataset.problems[0].where}: {dataset.problems[0].reason}"
        )
    part = options.part
    name = collection_name(dataset.name, encoder.name)
    if part is not None and options.recreate:
        raise RetrievalError(
            f"--recreate with --part {part} would drop the other parts' points; drop the collection first "
            f"(`python cli.py collections drop {name}`), then run the parts"
        )
    started = time.perf_counter()
    ids = [point_id(dataset.name, item.path) for item in dataset.items]
    share = [p for p, point in enumerate(ids) if part.holds(point)] if part else list(range(len(ids)))
    job = _Job(dataset, encoder, store, options, progress, name, ids, share)
    provenance = _provenance(dataset, encoder)
    if options.recreate and store.exists(name):  # the rebuild goes beside the old collection until it is whole
        writing = provenance.touched(complete=False)
        with store.rebuilding(name, encoder.dim, settings=options.settings, provenance=writing) as rebuild:
            report = _write(job, rebuild.target, {})
            if report.written == 0 or report.interrupted:
                rebuild.abandon()  # the rebuild did not finish: the old collection stays as it was
        if rebuild.abandoned:
            if not report.interrupted:
                report.failed = (
                    f"none of the {len(dataset.items)} listed images of '{dataset.name}' could be stored; "
                    f"'{name}' was kept as it was"
                )
            report.seconds = time.perf_counter() - started
            return report
    else:
        existed = store.exists(name)
        if existed:
            provenance = _same_making(store, name, provenance)
        if part is not None and not share:  # an empty share touches nothing, and creates no collection
            return IngestReport(name, dataset.name, encoder.name, 0, 0, part=str(part), skipped=list(dataset.problems))
        created = store.ensure_collection(
            name,
            encoder.dim,
            recreate=options.recreate,
            settings=options.settings,
            provenance=provenance.touched(complete=False),
        )
        if not created and not existed:  # another part created it since: its weights must be these too
            provenance = _same_making(store, name, provenance)
        if not created:
            store.set_provenance(name, provenance.touched(complete=False))
        report = _write(job, name, {} if created else dict(zip(*_ids_and_payloads(store, name), strict=True)))
        if part is not None and report.already_stored == report.written == 0 and not report.interrupted:
            # other parts may be writing into the collection, so it stays whatever this part could store
            report.failed = f"none of the {len(share)} images of part {part} of '{dataset.name}' could be stored"
        elif part is None and created and report.written == 0 and not report.interrupted:
            store.drop(name)  # nothing could be stored: no empty collection is left behind
            report.failed = f"none of the {len(dataset.items)} listed images of '{dataset.name}' could be stored"
            report.seconds = time.perf_counter() - started
            return report
    stale = 0 if options.prune else report.not_in_dataset
    store.set_provenance(name, provenance.touched(stale=stale, complete=not report.interrupted))
    if report.written and not report.interrupted and store.build_index(name):
        report.notes.append(f"{name}: the HNSW index was built for approximate search")
    note = size_note(store, name, options.embedded_limit)
    if note is not None:
        report.notes.append(note)
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Job:
    """One ingest: what it embeds, with what, into which store and collection, and its share of the list."""

    dataset: Dataset
    encoder: Encoder
    store: VectorStore
    options: IngestOptions
    progress: Progress | None
    name: str
    ids: list[str]
    share: list[int]


def _write(job: _Job, target: str, stored: dict) -> IngestReport:
    """Bring collection `target` (the collection, or its rebuild) to what `plan` says, given the points of
    `job.name` already `stored` (id -> payload): payloads rewritten, stale points pruned if asked, new and
    changed images embedded and written."""
    dataset, encoder, store, options = job.dataset, job.encoder, job.store, job.options
    part = options.part
    work = plan(dataset, encoder.name, job.ids, stored=stored, share=job.share)
    store.overwrite_payloads(target, work.rewrites)
    if options.prune and work.stale:
        store.delete(target, work.stale)
    report = IngestReport(
        job.name,
        dataset.name,
        encoder.name,
        len(job.share),
        len(job.share) - len(work.todo),
        part=str(part) if part else None,
        skipped=list(dataset.problems),
        relabelled=work.relabelled,
        changed=work.changed,
        not_in_dataset=len(work.stale),
        pruned=len(work.stale) if options.prune else 0,
        weights=encoder.weights.describe() if encoder.weights else "",
        random_weights=bool(encoder.weights and encoder.weights.random),
    )
    hashes = {
        item.path: (work.rewrites.get(job.ids[i]) or stored.get(job.ids[i])) for i, item in enumerate(dataset.items)
    }
    hashes = {path: payload.sha256 for path, payload in hashes.items() if payload is not None}
    _embed(job, _EmbedJob(target, job.ids, work.todo, report, hashes))
    report.identical = identical_groups(hashes.items())
    return report


def _provenance(dataset: Dataset, encoder: Encoder) -> Provenance:
    spec = encoder.spec
    created = now()
    return Provenance(
        dataset=dataset.name,
        image_root=str(dataset.image_root.resolve()),
        encoder=encoder.name,
        model_id=spec.model_id,
        weights=encoder.weights.to_dict() if encoder.weights else {"kind": "unknown"},
        preprocessing=spec.preprocess.describe() if spec.preprocess else None,
        dim=encoder.dim,
        versions=versions(),
        precision=encoder.precision,
        labeled=dataset.labeled,
        created=created,
        updated=created,
    )


def _same_making(store: VectorStore, name: str, provenance: Provenance) -> Provenance:
    """This run's provenance, keeping the collection's creation time; refused when the weights, the
    precision or whether the images carry labels differ (an unlabeled reading would null every stored label)."""
    recorded = store.provenance(name)
    if recorded is None:
        if store.count(name) == 0:
            return provenance
        raise StoreError(
            f"collection '{name}' does not say which weights made its vectors (written by an older release "
            f"or another tool); ingest with --recreate to rebuild it with these weights"
        )
    if recorded.weights_identity != provenance.weights_identity:
        raise StoreError(
            f"collection '{name}' holds vectors made with {recorded.weights_identity.describe()}, but this run "
            f"uses {provenance.weights_identity.describe()}; vectors of different weights are never mixed: "
            f"ingest with --recreate to rebuild it, or use the weights it was made with"
        )
    if recorded.precision != provenance.precision:
        raise StoreError(
            f"collection '{name}' holds vectors computed in {recorded.precision}, but this run uses "
            f"{provenance.precision}; vectors of different precisions are never mixed: ingest with "
            f"--precision {recorded.precision}, or --recreate to rebuild it"
        )
    if recorded.labeled != provenance.labeled:
        held, read, dropped = (
            ("labeled images", "without labels", "the stored points and their labels")
            if recorded.labeled
            else ("images without labels", "with labels", "the stored points")
        )
        raise StoreError(
            f"collection '{name}' holds {held}, but this run reads '{provenance.dataset}' {read}; it was left "
            f"as it is: ingest with the --layout it was read with, or --recreate to replace it (drops {dropped})"
        )
    return Provenance(**{**provenance.to_json(), "created": recorded.created})


def _ids_and_payloads(store: VectorStore, name: str) -> tuple[list, list]:
    points = store.points(name)
    return points.ids, points.payloads


@dataclass
class _EmbedJob:
    """What `_embed` writes where: the collection (or its staging copy), every item's point id by list
    position, the (position, path) pairs to embed, and the report and file hashes it fills."""

    collection: str
    ids: list[str]
    todo: list[tuple[int, str]]
    report: IngestReport
    hashes: dict[str, str]


def _embed(job: _Job, task: _EmbedJob) -> None:
    """Decode, embed and write the images of `task.todo`, filling its report and hashes as batches finish."""
    dataset, encoder, store, options, progress = job.dataset, job.encoder, job.store, job.options, job.progress
    name, ids, todo, report, hashes = task.collection, task.ids, task.todo, task.report, task.hashes
    preprocess = encoder.spec.preprocess
    files = ImageFiles(
        dataset.image_root,
        todo,
        encoder.transform(),
        max_pixels=options.max_pixels,
        min_side=preprocess.resize if preprocess and options.fast_decode else None,
    )
    progress = progress or (lambda done, total: None)
    done = 0
    pending: Future | None = None
    with (
        store.bulk_load(name, options.settings) as loader,
        StopFlag() as stop,
        ThreadPoolExecutor(max_workers=1) as writer,
    ):
        for positions, pixels, facts, bad in batches(files, options.batch_size, min(options.workers, len(todo))):
            for position, reason in bad:
                report.skipped.append(Problem(dataset.items[position].path, reason))
                hashes.pop(dataset.items[position].path, None)
                if options.strict:
                    raise DatasetError(f"{dataset.items[position].path}: {reason} (--strict)")
            if pixels is not None:
                vectors = encoder.embed_images(pixels)
                payloads = [
                    payload_of(dataset, encoder.name, p, facts=f) for p, f in zip(positions, facts, strict=True)
                ]
                hashes.update((payload.path, payload.sha256) for payload in payloads)
                if pending is not None:
                    pending.result()
                pending = writer.submit(loader.add, [ids[p] for p in positions], vectors, payloads)
                report.written += len(positions)
            done += len(positions) + len(bad)
            progress(done, len(todo))
            if stop.event.is_set():
                report.interrupted = True
                break
        if pending is not None:
            pending.result()


def write_report(report: IngestReport, reports_dir: Path) -> Path:
    """reports/ingest/<collection>.json (<collection>.part-I-of-N.json for a part): counts and every skipped
    file with its reason; remembered in the report."""
    suffix = ".part-{}-of-{}".format(*report.part.split("/")) if report.part else ""
    path = reports_dir / "ingest" / f"{report.collection}{suffix}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    report.report_file = path
    return path
