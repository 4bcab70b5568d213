"""Ingest datasets with encoders, one collection per pair: what `ingest` and `demo` run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from encoders import Encoder
from ingest.pipeline import IngestOptions, IngestReport, Progress, ingest, write_report
from ingest.reading.dataset_records import Dataset
from media.folders import writable_folder
from store import VectorStore

ProgressFactory = Callable[[str], AbstractContextManager[Progress]]


def ingest_all(
    store: VectorStore,
    datasets: list[Dataset],
    encoders: list[Encoder],
    *,
    options: IngestOptions,
    reports_dir: Path,
    progress: ProgressFactory | None = None,
) -> list[IngestReport]:
    """Every dataset x encoder pair in turn, each report also written to reports/ingest/.

    An interrupted pair (Ctrl-C) ends the run after its report is written:
    rerunning the same command resumes it.
    """
    writable_folder(reports_dir)
    progress = progress or (lambda title: nullcontext(lambda done, total: None))
    reports = []
    for dataset in datasets:
        for encoder in encoders:
            with progress(f"{dataset.name} / {encoder.name}") as advance:
                report = ingest(dataset, encoder, store, options=options, progress=advance)
            write_report(report, reports_dir)
            reports.append(report)
            if report.interrupted:
                return reports
    return reports
