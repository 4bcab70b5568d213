"""The revisited collections' part of the reports: their metrics.json, read back for reports/index.html.

Their metrics.json has `protocol: revisited` and no leave-one-out `map`, so
the leave-one-out tables (index, web pages) never mistake it for one of theirs.
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.protocols.landmarks import PROTOCOL, LandmarkEvaluation
from evaluation.records.run_records import read_protocol_records
from media.files import write_text_atomic

METRICS_FILE = "metrics.json"


def write_landmark_metrics(evaluation: LandmarkEvaluation, folder: Path) -> Path:
    """`folder`/metrics.json (the collection's report folder)."""
    metrics = folder / METRICS_FILE
    write_text_atomic(metrics, json.dumps(evaluation.to_json(), indent=2, ensure_ascii=False))
    return metrics


def revisited_records(reports_dir: Path, location: str, collections: set[str]) -> list[dict]:
    """The revisited records of `location`'s collections that still exist (read by `evaluation.records.run_records`)."""
    return read_protocol_records(reports_dir, PROTOCOL, location, collections=collections)
