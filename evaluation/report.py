"""Report files: reports/<collection>/ (metrics.json and PNGs) and reports/index.html.

A full-ranking evaluation writes reports/<collection>/, one cut at k writes
reports/<collection>/at<k>/, so mAP and mAP@k are kept side by side. The index
belongs to one store: it is rebuilt from the metrics.json files of that store's
collections that still exist, with when and by which command it was made and
each collection's provenance. It is one static page with relative links: it
opens from disk with no server. Every label, path and name in it is escaped,
control and bidi characters included.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from evaluation.figures import pr_plot
from evaluation.galleries import draw_gallery
from evaluation.grid import cell_text, figure_text, study_table
from evaluation.index_page import FIGURES, page
from evaluation.landmarks_report import revisited_html, revisited_records
from evaluation.runner import Evaluation
from media.files import write_text_atomic
from media.text import html_text
from redaction import redact
from store.provenance import now, versions

METRICS_FILE = "metrics.json"
INDEX_FILE = "index.html"
RESERVED = {"ingest"}  # reports/ingest/ holds the ingest reports, never a collection's


def _safe_name(text: str) -> str:
    """`text` as a file name, one per text: every run of characters outside [A-Za-z0-9._+-] becomes '-'
    and dots at either end go; when that changed it (or only its case), a short hash of the exact text is
    appended, so that two texts never share a name, even on a case-insensitive disk."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip(".")
    if cleaned == text and cleaned == cleaned.lower() and cleaned not in RESERVED:
        return cleaned
    return f"{cleaned.lower() or 'collection'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def report_folder(reports_dir: Path, collection: str) -> Path:
    """reports/<collection>; a name unsafe in a file name gets a hash of itself, never another's folder."""
    return reports_dir / _safe_name(collection)


def write_collection_report(evaluation: Evaluation, reports_dir: Path, image_root: Path | None) -> list[Path]:
    """metrics.json, pr.png, and (when the images were found) best.png and worst.png; returns their paths.

    Without `image_root` the galleries are not drawn, so galleries drawn
    earlier from the real images are not replaced by placeholders.
    """
    metrics = write_metrics(evaluation, reports_dir)
    folder, title = metrics.parent, evaluation.title
    summary = evaluation.to_json()
    name = f"{title}: {evaluation.metric} {figure_text(summary['map'])}"
    files = [metrics, pr_plot({name: summary["pr_curve"]["precision"]}, folder / "pr.png", f"{name}: mean PR curve")]
    if image_root is not None:
        for which, rows in (("best", evaluation.best()), ("worst", evaluation.worst())):
            files.append(
                draw_gallery(rows, image_root, folder / f"{which}.png", f"{title}: the {len(rows)} {which} queries")
            )
    return files


def write_metrics(evaluation: Evaluation, reports_dir: Path) -> Path:
    """reports/<row>/metrics.json (`paris_dinov2` or `paris_dinov2+dba+aqe`; a cut at k in its `at<k>/`)."""
    folder = report_folder(reports_dir, evaluation.folder)
    if evaluation.k is not None:
        folder = folder / f"at{evaluation.k}"
    folder.mkdir(parents=True, exist_ok=True)
    metrics = folder / METRICS_FILE
    write_text_atomic(metrics, json.dumps(evaluation.to_json(), indent=2, ensure_ascii=False))
    return metrics


def read_summaries(reports_dir: Path) -> list[dict]:
    """Every reports/<collection>/metrics.json and reports/<collection>/at<k>/metrics.json that parses."""
    summaries = []
    found = [*reports_dir.glob(f"*/{METRICS_FILE}"), *reports_dir.glob(f"*/at*/{METRICS_FILE}")]
    for path in sorted(found):
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(summary, dict) and {"collection", "dataset", "encoder", "map"} <= summary.keys():
            summary["folder"] = path.parent.relative_to(reports_dir).as_posix()
            summaries.append(summary)
    return summaries


def store_summaries(reports_dir: Path, location: str, collections: set[str]) -> list[dict]:
    """The summaries of `location`'s collections that still exist: nothing from other stores or dropped ones."""
    return [
        s
        for s in read_summaries(reports_dir)
        if s.get("store") == location and s.get("source_collection", s["collection"]) in collections
    ]


def write_index(reports_dir: Path, location: str, collections: set[str], command: str) -> Path:
    """reports/index.html for the store at `location` and one reports/pr_<dataset>.png per dataset.

    `collections` are the store's collections now; `command` is what made the report.
    """
    summaries = store_summaries(reports_dir, location, collections)
    for summary in summaries:
        drawn = (reports_dir / summary["folder"] / name for name in FIGURES)
        summary["figures"] = [path.name for path in drawn if path.is_file()]
    encoders, datasets, cells = study_table(summaries)
    plots = {}
    for dataset in datasets:
        curves = {
            f"{encoder} ({cell_text(cells[encoder, dataset])})": cells[encoder, dataset][0]["pr_curve"]["precision"]
            for encoder in encoders
            if (encoder, dataset) in cells
        }
        name = f"pr_{_safe_name(dataset)}.png"
        pr_plot(curves, reports_dir / name, f"{dataset}: mean interpolated PR curves")
        plots[dataset] = name
    index = reports_dir / INDEX_FILE
    made = (
        f"Made {now()} by <code>{html_text(redact(command))}</code> from the store {html_text(redact(location))}.<br>"
        f"Versions: {html_text(', '.join(f'{name} {version}' for name, version in versions().items()))}."
    )
    revisited = revisited_html(revisited_records(reports_dir, location, collections))
    write_text_atomic(index, page(summaries, encoders, datasets, cells, plots, made, revisited))
    return index
