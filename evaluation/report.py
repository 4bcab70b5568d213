"""Report files: reports/<collection>/ (metrics.json and PNGs) and reports/index.html.

The index is rebuilt from every reports/*/metrics.json, so it shows all the
collections evaluated so far. It is one static page with relative links: it
opens from disk with no server. Every label, path and name in it is escaped, control and
bidi characters included.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from evaluation.figures import pr_plot
from evaluation.galleries import draw_gallery
from evaluation.runner import Evaluation
from media.text import inert

METRICS_FILE = "metrics.json"
INDEX_FILE = "index.html"
RESERVED = {"ingest"}  # reports/ingest/ holds the ingest reports, never a collection's


def _safe_name(text: str) -> str:
    """`text` as a file name, one per text: every run of characters outside [a-z0-9._-] becomes '-'
    and dots at either end go; when that changed it (or only its case), a short hash of the exact text is
    appended, so that two texts never share a name, even on a case-insensitive disk."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".")
    if cleaned == text and cleaned == cleaned.lower() and cleaned not in RESERVED:
        return cleaned
    return f"{cleaned.lower() or 'collection'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def report_folder(reports_dir: Path, collection: str) -> Path:
    """reports/<collection>; a name unsafe in a file name gets a hash of itself, never another's folder."""
    return reports_dir / _safe_name(collection)


def write_collection_report(evaluation: Evaluation, reports_dir: Path, image_root: Path | None) -> list[Path]:
    """metrics.json, pr.png, best.png and worst.png of one evaluation; returns their paths."""
    folder = report_folder(reports_dir, evaluation.collection)
    folder.mkdir(parents=True, exist_ok=True)
    summary = evaluation.to_json()
    metrics = folder / METRICS_FILE
    metrics.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    name = f"{evaluation.collection}: {evaluation.metric} {_figure(summary['map'])}"
    best, worst = evaluation.best(), evaluation.worst()
    return [
        metrics,
        pr_plot(
            {name: summary["pr_curve"]["precision"]},
            folder / "pr.png",
            f"{evaluation.collection}: mean interpolated PR curve",
        ),
        draw_gallery(best, image_root, folder / "best.png", f"{evaluation.collection}: the {len(best)} best queries"),
        draw_gallery(
            worst, image_root, folder / "worst.png", f"{evaluation.collection}: the {len(worst)} worst queries"
        ),
    ]


def read_summaries(reports_dir: Path) -> list[dict]:
    """Every reports/*/metrics.json that parses, in folder order."""
    summaries = []
    for path in sorted(reports_dir.glob(f"*/{METRICS_FILE}")):
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(summary, dict) and {"collection", "dataset", "encoder", "map"} <= summary.keys():
            summary["folder"] = path.parent.name
            summaries.append(summary)
    return summaries


def study_table(summaries: list[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], dict]]:
    """(encoders, datasets, cells): encoders as rows and datasets as columns, as in the study.

    Encoders follow the registry's order, unknown ones after it; datasets are
    sorted. A cell holds the summary of the (encoder, dataset) collection.
    """
    from encoders import SPECS

    cells = {(s["encoder"], s["dataset"]): s for s in summaries}
    known = list(SPECS)
    encoders = sorted({e for e, _ in cells}, key=lambda e: (known.index(e) if e in known else len(known), e))
    datasets = sorted({d for _, d in cells})
    return encoders, datasets, cells


@dataclass(frozen=True)
class StudyGrid:
    """The study's table as text: encoders as rows, datasets as columns, a figure per cell."""

    metric: str
    encoders: list[str]
    datasets: list[str]
    cells: dict[tuple[str, str], str]


def study_grid(summaries: list[dict]) -> StudyGrid:
    """The grid of `summaries` (metrics.json records), '-' where a pair was not evaluated."""
    encoders, datasets, cells = study_table(summaries)
    metrics = sorted({s["metric"] for s in summaries}) or ["mAP"]
    text = {(e, d): cell_text(cells.get((e, d))) for e in encoders for d in datasets}
    return StudyGrid(" / ".join(metrics), encoders, datasets, text)


def cell_text(summary: dict | None) -> str:
    """'0.5110', or '0.4321 (mAP@10)' when the rankings were cut; '-' when absent."""
    if summary is None:
        return "-"
    text = _figure(summary["map"])
    return text if summary.get("k") is None else f"{text} ({summary['metric']})"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def write_index(reports_dir: Path) -> Path:
    """reports/index.html and one reports/pr_<dataset>.png per dataset."""
    summaries = read_summaries(reports_dir)
    encoders, datasets, cells = study_table(summaries)
    plots = {}
    for dataset in datasets:
        curves = {
            f"{encoder} ({cell_text(cells[encoder, dataset])})": cells[encoder, dataset]["pr_curve"]["precision"]
            for encoder in encoders
            if (encoder, dataset) in cells
        }
        name = f"pr_{_safe_name(dataset)}.png"
        pr_plot(curves, reports_dir / name, f"{dataset}: mean interpolated PR curves")
        plots[dataset] = name
    index = reports_dir / INDEX_FILE
    index.write_text(_page(summaries, encoders, datasets, cells, plots), encoding="utf-8")
    return index


def _e(value: object) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (never raw in the page)."""
    return html.escape(inert(value), quote=True)


def _href(*parts: str) -> str:
    return _e("/".join(quote(part) for part in parts))


def _page(summaries, encoders, datasets, cells, plots) -> str:
    head = "".join(f"<th>{_e(d)}</th>" for d in datasets)
    rows = []
    for encoder in encoders:
        tds = []
        for dataset in datasets:
            summary = cells.get((encoder, dataset))
            text = _e(cell_text(summary))
            tds.append(f'<td><a href="#{_e(summary["folder"])}">{text}</a></td>' if summary else f"<td>{text}</td>")
        rows.append(f"<tr><th>{_e(encoder)}</th>{''.join(tds)}</tr>")
    plot_html = "".join(
        f'<figure><a href="{_href(name)}"><img src="{_href(name)}" alt="{_e(d)} PR curves"></a>'
        f"<figcaption>{_e(d)}</figcaption></figure>"
        for d, name in plots.items()
    )
    sections = "".join(_section(s) for s in summaries)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Retrieval evaluation</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }}
figure img {{ max-width: 560px; border: 1px solid #ddd; }}
.right {{ color: #2e9e44; }} .wrong {{ color: #d62728; }}
</style></head><body>
<h1>Leave-one-out retrieval evaluation</h1>
<p>Each point is a query against the rest of its collection (itself excluded); exact cosine
similarity; AP is non-interpolated over the full ranking, or AP@k with denominator min(R, k)
where labelled. Ties are broken by dataset order.</p>
<h2>mAP: encoders x datasets</h2>
<table><tr><th>encoder</th>{head}</tr>{"".join(rows)}</table>
<h2>Precision-recall per dataset</h2>{plot_html}
{sections}
</body></html>
"""


def _section(summary: dict) -> str:
    folder = summary["folder"]
    precision = summary.get("precision_at", {})
    seconds = summary.get("seconds", {}).get("total")
    facts = [
        (summary.get("metric", "mAP"), _figure(summary["map"])),
        *((f"P@{k}", _figure(v)) for k, v in precision.items()),
        ("R-precision", _figure(summary.get("r_precision"))),
        ("queries", summary.get("queries")),
        ("skipped (no other member)", summary.get("queries_skipped")),
        ("seconds", seconds),
    ]
    fact_rows = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in facts)
    images = "".join(
        f'<figure><a href="{_href(folder, name)}"><img src="{_href(folder, name)}" alt="{_e(name)}"></a>'
        f"<figcaption>{_e(name)}</figcaption></figure>"
        for name in ("pr.png", "best.png", "worst.png")
    )
    galleries = "".join(
        f"<h4>{title}</h4>{_gallery_table(summary.get(key, []))}"
        for key, title in (("best", "Best queries"), ("worst", "Worst queries"))
    )
    classes = "".join(
        f"<tr><td>{_e(label)}</td><td>{_e(_figure(ap))}</td></tr>"
        for label, ap in summary.get("per_class_ap", {}).items()
    )
    return (
        f'<section id="{_e(folder)}"><h2>{_e(summary["collection"])}</h2>'
        f"<p>dataset {_e(summary['dataset'])}, encoder {_e(summary['encoder'])}, "
        f"store {_e(summary.get('store', '?'))}</p>"
        f"<table>{fact_rows}</table>{images}{galleries}"
        f"<h4>AP per class</h4><table><tr><th>label</th><th>AP</th></tr>{classes}</table></section>"
    )


def _gallery_table(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        hits = " ".join(
            f'<span class="{"right" if h["relevant"] else "wrong"}" title="{_e(h["path"])}">'
            f"{'&#10003;' if h['relevant'] else '&#10007;'} {_e(h['label'])}</span>"
            for h in row["hits"]
        )
        lines.append(
            f"<tr><td>{_e(_figure(row['ap']))}</td><td>{_e(row['label'])}</td>"
            f"<td>{_e(row['path'])}</td><td>{hits}</td></tr>"
        )
    return f"<table><tr><th>AP</th><th>label</th><th>query</th><th>first hits</th></tr>{''.join(lines)}</table>"
