"""Embed a dataset with an encoder and upsert it into its collection.

Ids are deterministic, so a rerun skips what is stored (rewriting the payload
of a stored image whose label or list position changed) and an interrupted
run resumes. Writes go through a one-thread writer, so upserting batch k
overlaps the forward pass of batch k+1.
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
from errors import DatasetError
from ingest.datasets import Dataset, Problem
from ingest.loader import ImageFiles, batches
from media.images import DEFAULT_MAX_PIXELS
from store import ImagePayload, IndexSettings, VectorStore, collection_name, point_id


@dataclass
class IngestReport:
    collection: str
    dataset: str
    encoder: str
    images: int
    already_stored: int
    written: int = 0
    skipped: list[Problem] = field(default_factory=list)
    relabelled: int = 0  # stored points whose label, path or list position changed, rewritten
    not_in_dataset: int = 0  # stored points of images no longer listed; kept, see --recreate
    seconds: float = 0.0
    interrupted: bool = False
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
    max_pixels: int = DEFAULT_MAX_PIXELS
    fast_decode: bool = False  # JPEG draft decoding at 1/2..1/8 size: faster, pixels not the reference's
    settings: IndexSettings = field(default_factory=IndexSettings)


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
    name = collection_name(dataset.name, encoder.name)
    started = time.perf_counter()
    store.ensure_collection(name, encoder.dim, recreate=options.recreate, settings=options.settings)
    ids = [point_id(dataset.name, item.path) for item in dataset.items]
    stored = store.points(name)
    stored_payloads = dict(zip(stored.ids, stored.payloads, strict=True))
    todo = [(i, item.path) for i, item in enumerate(dataset.items) if ids[i] not in stored_payloads]
    expected = {ids[i]: _payload(dataset, encoder, i) for i in range(len(ids)) if ids[i] in stored_payloads}
    changed = {pid: payload for pid, payload in expected.items() if stored_payloads[pid] != payload}
    store.overwrite_payloads(name, changed)
    report = IngestReport(
        name,
        dataset.name,
        encoder.name,
        len(dataset.items),
        len(dataset.items) - len(todo),
        skipped=list(dataset.problems),
        relabelled=len(changed),
        not_in_dataset=len(set(stored_payloads) - set(ids)),
    )
    preprocess = encoder.spec.preprocess
    files = ImageFiles(
        dataset.image_root,
        todo,
        encoder.transform(),
        options.max_pixels,
        preprocess.resize if preprocess and options.fast_decode else None,
    )
    progress = progress or (lambda done, total: None)
    done = 0
    pending: Future | None = None
    with (
        store.bulk_load(name, options.settings) as loader,
        StopFlag() as stop,
        ThreadPoolExecutor(max_workers=1) as writer,
    ):
        for positions, pixels, bad in batches(files, options.batch_size, min(options.workers, len(todo))):
            for position, reason in bad:
                report.skipped.append(Problem(dataset.items[position].path, reason))
                if options.strict:
                    raise DatasetError(f"{dataset.items[position].path}: {reason} (--strict)")
            if pixels is not None:
                vectors = encoder.embed_images(pixels)
                payloads = [_payload(dataset, encoder, p) for p in positions]
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
    report.seconds = time.perf_counter() - started
    return report


def _payload(dataset: Dataset, encoder: Encoder, position: int) -> ImagePayload:
    item = dataset.items[position]
    return ImagePayload(item.label, item.path, dataset.name, encoder.name, position)


def write_report(report: IngestReport, reports_dir: Path) -> Path:
    """reports/ingest/<collection>.json: counts and every skipped file with its reason; remembered in the report."""
    path = reports_dir / "ingest" / f"{report.collection}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    report.report_file = path
    return path
