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
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from evaluation.figures import pr_plot
from evaluation.galleries import draw_gallery
from evaluation.landmarks_report import revisited_html, revisited_records
from evaluation.runner import Evaluation
from evaluation.study import SOURCE, study_text
from media.text import inert
from store.provenance import now, versions

METRICS_FILE = "metrics.json"
FIGURES = ("pr.png", "best.png", "worst.png")
CAPTIONS = {  # what each figure of a collection shows, for its caption
    "pr.png": "Mean precision-recall curve, precision interpolated at 101 recall levels.",
    "best.png": "The queries with the highest AP (framed blue), each followed by its first hits: "
    "green when of the query's class, red when not.",
    "worst.png": "The queries with the lowest AP (framed blue), each followed by its first hits: "
    "green when of the query's class, red when not.",
}
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
    name = f"{title}: {evaluation.metric} {_figure(summary['map'])}"
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
    metrics.write_text(json.dumps(evaluation.to_json(), indent=2, ensure_ascii=False))
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


def study_table(summaries: list[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], list[dict]]]:
    """(encoders, datasets, cells): encoders as rows and datasets as columns, as in the study.

    Encoders follow the registry's order, unknown ones after it; datasets are
    sorted. A cell holds the summaries of the (encoder, dataset) collection:
    the full ranking's first, then the cuts by k.
    """
    from encoders import SPECS

    cells: dict[tuple[str, str], list[dict]] = {}
    for summary in sorted(summaries, key=lambda s: (s.get("k") is not None, s.get("k") or 0)):
        cells.setdefault((row_label(summary), summary["dataset"]), []).append(summary)
    known = list(SPECS)
    encoders = sorted({e for e, _ in cells}, key=lambda e: (known.index(e) if e in known else len(known), e))
    datasets = sorted({d for _, d in cells})
    return encoders, datasets, cells


def row_label(summary: dict) -> str:
    """The table row of a metrics.json record: its encoder, or `dinov2 +dba+aqe` for re-ranked figures."""
    rerank = summary.get("rerank")
    return summary["encoder"] if not rerank else f"{summary['encoder']} +{rerank['method']}"


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
    text = {(e, d): _with_study(cells.get((e, d)), interval=False) for e in encoders for d in datasets}
    return StudyGrid(" / ".join(metrics), encoders, datasets, text)


def cell_text(summaries: list[dict] | None) -> str:
    """'0.5110', with the cuts beside it ('0.5110 · mAP@10 0.4321'), marked when the weights were random;
    '-' when absent."""
    if not summaries:
        return "-"
    parts = [_figure(s["map"]) if s.get("k") is None else f"{s['metric']} {_figure(s['map'])}" for s in summaries]
    random = any(s.get("random_weights") for s in summaries)
    return " · ".join(parts) + (" (random weights)" if random else "")


def _with_study(summaries: list[dict] | None, interval: bool = True) -> str:
    """cell_text, then the full ranking's mAP interval (with `interval`) and, where the study has the pair,
    its figure and our difference."""
    text = cell_text(summaries)
    if not summaries:
        return text
    summary = summaries[0]
    bounds = summary.get("map_interval") or {}
    if interval and bounds.get("low") is not None:
        text += f" [{bounds['low']:.4f}, {bounds['high']:.4f}]"
    study = study_text(summary)
    return f"{text} ({study})" if study else text


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


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
        f"Made {now()} by <code>{_e(command)}</code> from the store {_e(location)}.<br>"
        f"Versions: {_e(', '.join(f'{name} {version}' for name, version in versions().items()))}."
    )
    revisited = revisited_html(revisited_records(reports_dir, location, collections))
    index.write_text(_page(summaries, encoders, datasets, cells, plots, made, revisited), encoding="utf-8")
    return index


def _e(value: object) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (never raw in the page)."""
    return html.escape(inert(value), quote=True)


def _href(*parts: str) -> str:
    return _e("/".join(quote(part) for part in parts))


def _page(summaries, encoders, datasets, cells, plots, made: str, revisited: str = "") -> str:
    head = "".join(f"<th>{_e(d)}</th>" for d in datasets)
    rows = []
    for encoder in encoders:
        tds = []
        for dataset in datasets:
            found = cells.get((encoder, dataset))
            text = _e(_with_study(found))
            tds.append(f'<td><a href="#{_e(found[0]["folder"])}">{text}</a></td>' if found else f"<td>{text}</td>")
        rows.append(f"<tr><th>{_e(encoder)}</th>{''.join(tds)}</tr>")
    plot_html = "".join(
        _figure_html(_href(name), f"{d}: the mean precision-recall curve of every encoder evaluated on it.", "plot")
        for d, name in plots.items()
    )
    sections = "".join(_section(s) for s in summaries)
    rankings = _rankings_html(summaries)
    contents = [("table", "mAP: encoders x datasets")]
    if rankings:
        contents.append(("comparisons", "Paired comparisons per dataset"))
    contents.append(("curves", "Precision-recall per dataset"))
    contents += [(s["folder"], f"{s['collection']} ({s['metric']})") for s in summaries]
    toc = "".join(f'<li><a href="#{_e(anchor)}">{_e(text)}</a></li>' for anchor, text in contents)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Retrieval evaluation</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 2em; max-width: 1500px; line-height: 1.4; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
.made {{ color: #444; font-size: 0.9em; }}
nav ol {{ columns: 2; }}
.figures {{ display: flex; flex-wrap: wrap; align-items: flex-start; gap: 1em; }}
figure {{ margin: 0 0 1em 0; }}
figure img {{ border: 1px solid #ddd; display: block; }}
figure.plot img {{ width: 520px; max-width: 100%; }}
figure.gallery {{ width: 100%; }}
figure.gallery img {{ max-width: 100%; }}
figcaption {{ font-size: 0.9em; color: #333; max-width: 60em; margin-top: 0.3em; }}
section {{ border-top: 2px solid #ddd; margin-top: 2em; }}
.right {{ color: #2e9e44; }} .wrong {{ color: #d62728; }}
</style></head><body>
<h1>Leave-one-out retrieval evaluation</h1>
<p class="made">{made}</p>
<p>Each point is a query against the rest of its collection (itself excluded); exact cosine
similarity; AP is non-interpolated over the full ranking, or AP@k with denominator min(R, k)
where labelled. Ties are broken by dataset order. Click a figure to open it at full size.</p>
<nav><h2>Contents</h2><ol>{toc}</ol></nav>
<h2 id="table">mAP: encoders x datasets</h2>
<table><tr><th>encoder</th>{head}</tr>{"".join(rows)}</table>
{_table_notes(summaries)}
{rankings}
{revisited}
<h2 id="curves">Precision-recall per dataset</h2><div class="figures">{plot_html}</div>
{sections}
</body></html>
"""


def _figure_html(href: str, caption: str, kind: str) -> str:
    """A figure that opens at full size when clicked (`href` from _href), with a caption saying what it shows."""
    return (
        f'<figure class="{kind}"><a href="{href}"><img src="{href}" alt="{_e(caption)}"></a>'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _section(summary: dict) -> str:
    folder = summary["folder"]
    precision = summary.get("precision_at", {})
    seconds = summary.get("seconds", {}).get("total")
    facts = [
        (summary.get("metric", "mAP"), _figure(summary["map"])),
        *((f"P@{k}", _figure(v)) for k, v in precision.items()),
        ("R-precision", _figure(summary.get("r_precision"))),
        *_extra_facts(summary),
        ("queries", summary.get("queries")),
        ("skipped (no other member)", summary.get("queries_skipped")),
        ("seconds", seconds),
    ]
    fact_rows = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in facts)
    plots = "".join(
        _figure_html(_href(folder, name), f"{summary['collection']}: {CAPTIONS[name]}", "plot")
        for name in summary["figures"]
        if name == "pr.png"
    )
    galleries_drawn = "".join(
        _figure_html(_href(folder, name), f"{summary['collection']}: {CAPTIONS[name]}", "gallery")
        for name in summary["figures"]
        if name != "pr.png"
    )
    galleries = "".join(
        f"<h4>{title}</h4>{_gallery_table(summary.get(key, []))}"
        for key, title in (("best", "Best queries"), ("worst", "Worst queries"))
    )
    classes = "".join(
        f"<tr><td>{_e(label)}</td><td>{_e(_figure(ap))}</td></tr>"
        for label, ap in summary.get("per_class_ap", {}).items()
    )
    heading = f"{summary['collection']} ({summary['metric']})"
    if summary.get("random_weights"):
        heading += " (random weights: not a result)"
    return (
        f'<section id="{_e(folder)}"><h2>{_e(heading)}</h2>'
        f"<p>dataset {_e(summary['dataset'])}, encoder {_e(summary['encoder'])}, "
        f"store {_e(summary.get('store', '?'))}</p>"
        f"{_provenance_table(summary.get('provenance'), summary.get('weights'))}"
        f"{_identical(summary.get('identical_images', []))}"
        f'<div class="figures"><table>{fact_rows}</table>{plots}</div>{galleries_drawn}{galleries}'
        f"<h4>AP per class</h4><table><tr><th>label</th><th>AP</th></tr>{classes}</table></section>"
    )


def _provenance_table(provenance: dict | None, weights: str | None) -> str:
    if not provenance:
        return "<p><strong>provenance unknown</strong> (written by an older release or another tool)</p>"
    rows = [
        ("image root", provenance.get("image_root")),
        ("model", provenance.get("model_id")),
        ("weights", weights),
        ("preprocessing", provenance.get("preprocessing")),
        ("vector size", provenance.get("dim")),
        ("created", provenance.get("created")),
        ("updated", provenance.get("updated")),
        ("versions", ", ".join(f"{k} {v}" for k, v in (provenance.get("versions") or {}).items())),
    ]
    body = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in rows)
    return f"<h4>Provenance</h4><table>{body}</table>"


def _identical(groups: list[list[str]]) -> str:
    if not groups:
        return ""
    listed = "".join(f"<li>{_e(', '.join(group))}</li>" for group in groups[:20])
    return (
        f"<p>{len(groups)} group(s) of stored images have identical content; they inflate leave-one-out "
        f"mAP:</p><ul>{listed}</ul>"
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


def _table_notes(summaries: list[dict]) -> str:
    """What the table's brackets mean, and that re-ranked rows are not the study's figures."""
    notes = [
        "Brackets: 95% bootstrap interval of the mAP over queries (1,000 resamples, fixed seed). "
        f"'study' is the published mAP from {SOURCE}, followed by ours minus the study's."
    ]
    if any(s.get("rerank") for s in summaries):
        notes.append(
            "Rows marked +aqe, +dba or +dba+aqe are re-ranked (alpha query expansion and database-side "
            "augmentation, Radenovic, Tolias and Chum 2018): they are not comparable with the study's numbers, "
            "which come from plain cosine ranking."
        )
    return "".join(f"<p>{_e(note)}</p>" for note in notes)


def _rankings_html(summaries: list[dict]) -> str:
    """Per dataset, the rows by mAP with the paired difference to the next, from each metrics.json."""
    tables = []
    for dataset in sorted({s["dataset"] for s in summaries}):
        ranked = sorted(
            (s for s in summaries if s["dataset"] == dataset and s.get("comparison")),
            key=lambda s: s["comparison"]["rank"],
        )
        lines = []
        for s in ranked:
            against = s["comparison"].get("against_next")
            cells = [s["collection"], _figure(s["map"]), s["comparison"].get("next") or "-"]
            if against:
                interval = against["interval"]
                cells += [
                    _signed(against["difference"]),
                    f"[{_signed(interval['low'])}, {_signed(interval['high'])}]",
                    _figure(against["p_value"]),
                    "yes" if against["significant"] else "no",
                ]
            else:
                cells += ["-"] * 4
            lines.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
        if lines:
            head = "".join(
                f"<th>{h}</th>"
                for h in ("row", "mAP", "next", "difference", "95% interval", "p (sign-flip)", "p &lt; 0.05")
            )
            tables.append(f"<h3>{_e(dataset)}</h3><table><tr>{head}</tr>{''.join(lines)}</table>")
    if not tables:
        return ""
    return (
        '<h2 id="comparisons">Paired comparisons per dataset</h2><p>Each row against the next lower one on the same queries '
        "(points matched by id): difference in mAP, its paired bootstrap interval, and the p-value of a "
        "paired sign-flip test (1,000 draws, fixed seed).</p>" + "".join(tables)
    )


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _extra_facts(summary: dict) -> list[tuple[str, object]]:
    """The interval, the study's figure, the re-ranking and the duplicates of one metrics.json record."""
    facts: list[tuple[str, object]] = []
    interval = summary.get("map_interval") or {}
    if interval.get("low") is not None:
        facts.append(("95% interval (bootstrap)", f"[{interval['low']:.4f}, {interval['high']:.4f}]"))
    if study_text(summary):
        facts.append(("the study", study_text(summary)))
    rerank = summary.get("rerank")
    if rerank:
        facts.append(
            (
                "re-ranking",
                f"{rerank['method']}, k={rerank['k']}, alpha={rerank['alpha']} (not comparable with the study)",
            )
        )
    duplicates = summary.get("duplicates")
    if duplicates:
        facts.append(
            (
                f"pairs with cosine >= {duplicates['threshold']}",
                f"{duplicates['pairs']} in {duplicates['groups']} groups",
            )
        )
        if "map_without_duplicates" in duplicates:
            facts.append(
                (
                    f"mAP without duplicates ({duplicates['points_removed']} points removed)",
                    _figure(duplicates["map_without_duplicates"]),
                )
            )
        for example in duplicates.get("examples", []):
            facts.append(("duplicate pair", f"{example['a']} ~ {example['b']} ({example['cosine']:.4f})"))
    return facts
