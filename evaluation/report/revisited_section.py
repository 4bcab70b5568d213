"""The revisited collections' part of the reports: their metrics.json and a section of reports/index.html.

Their metrics.json has `protocol: revisited` and no leave-one-out `map`, so
the leave-one-out tables (index, web pages) never mistake it for one of theirs.
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.metrics.revisitop import SETUPS
from evaluation.protocols.landmarks import PROTOCOL, LandmarkEvaluation
from evaluation.records.run_records import read_protocol_records
from media.files import write_text_atomic
from media.text import html_text

METRICS_FILE = "metrics.json"


def write_landmark_metrics(evaluation: LandmarkEvaluation, folder: Path) -> Path:
    """`folder`/metrics.json (the collection's report folder)."""
    metrics = folder / METRICS_FILE
    write_text_atomic(metrics, json.dumps(evaluation.to_json(), indent=2, ensure_ascii=False))
    return metrics


def revisited_records(reports_dir: Path, location: str, collections: set[str]) -> list[dict]:
    """The revisited records of `location`'s collections that still exist (read by `evaluation.records.run_records`)."""
    return read_protocol_records(reports_dir, PROTOCOL, location, collections=collections)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def revisited_html(records: list[dict]) -> str:
    """A table of Easy/Medium/Hard mAP and mP@k (percent), the published reference beside them."""
    if not records:
        return ""
    head = "".join(f"<th>{s.title()} mAP</th><th>{s.title()} mP@1/5/10</th>" for s in SETUPS)
    rows = []
    notes = set()
    for record in records:
        reference = record.get("reference") or {}
        published = reference.get("map", {})
        cells = []
        for setup in SETUPS:
            figures = record["setups"][setup]
            beside = f" (ref. {published[setup]:.1f})" if setup in published else ""
            precision = "/".join(percent(figures["mp_at"].get(str(k))) for k in record.get("kappas", []))
            cells.append(f"<td>{html_text(percent(figures['map']) + beside)}</td><td>{html_text(precision)}</td>")
        if reference:
            notes.add(reference["source"])
        rows.append(f"<tr><th>{html_text(record['collection'])}</th>{''.join(cells)}</tr>")
    sources = "".join(f"<p>ref.: {html_text(source)}</p>" for source in sorted(notes))
    return (
        "<h2>Revisited Oxford and Paris (Radenovic et al. 2018): Easy, Medium, Hard</h2>"
        "<p>The 70 queries cropped to their boxes against the whole database images; junk images ignored "
        "as the protocol defines; mAP and mean precision at 1, 5, 10 in percent.</p>"
        f"<table><tr><th>collection</th>{head}</tr>{''.join(rows)}</table>{sources}"
    )
