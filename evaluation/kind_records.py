"""Records of the evaluations beside leave-one-out: text-to-image and fused encoders, each with its `kind`.

Each is written to its own file, never metrics.json, so the leave-one-out
tables (index, web pages) never take one for theirs:

- text-to-image: reports/<collection>/text-to-image.json (a cut at k in
  at<k>/), beside the collection's metrics.json, with text_pr.png,
  text_best.png and text_worst.png;
- fused: reports/fused-<method>_<A>+<B>/fused.json with pr.png, best.png and
  worst.png.

`read_records` gives back those of one store whose collections all still
exist; `kind_html` is their part of reports/index.html.
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.grid import figure_text
from media.text import html_text

FILES = {"text-to-image": "text-to-image.json", "fused": "fused.json"}
FIGURES = {
    "text-to-image": ("text_pr.png", "text_best.png", "text_worst.png"),
    "fused": ("pr.png", "best.png", "worst.png"),
}
LABELS = {"text-to-image": "text->image", "fused": "fused"}


def write_record(record: dict, folder: Path) -> Path:
    """`folder`/<the kind's file>, the record as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILES[record["kind"]]
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False))
    return path


def sources(record: dict) -> list[str]:
    """The collections a record was computed from."""
    return record.get("source_collections") or [record.get("source_collection")]


def read_records(reports_dir: Path, location: str, collections: set[str]) -> list[dict]:
    """Every text-to-image and fused record of the store at `location` whose collections all still exist.

    Each gets `folder` (relative to `reports_dir`) and `figures` (the PNGs beside it).
    """
    records = []
    for kind, name in FILES.items():
        for path in sorted([*reports_dir.glob(f"*/{name}"), *reports_dir.glob(f"*/at*/{name}")]):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(record, dict) or record.get("kind") != kind or record.get("store") != location:
                continue
            if not set(sources(record)) <= collections:
                continue
            record["folder"] = path.parent.relative_to(reports_dir).as_posix()
            record["figures"] = [figure for figure in FIGURES[kind] if (path.parent / figure).is_file()]
            records.append(record)
    return records


def kind_rows(records: list[dict]) -> dict[str, dict[str, dict]]:
    """Rows for an encoders x datasets table: 'clip text->image' or 'colorhist+clip rrf' -> dataset -> record
    (the full ranking's where a cut at k was also measured)."""
    rows: dict[str, dict[str, dict]] = {}
    for record in sorted(records, key=lambda r: r.get("k") is not None):
        label = f"{record['encoder']} {_kind(record).removeprefix('fused ')}"
        rows.setdefault(label, {}).setdefault(record["dataset"], record)
    return rows


def against_text(record: dict) -> str:
    """'vs A +0.0123 (p 0.0010)' for each member of a fused record; '' otherwise."""
    parts = []
    for name, d in (record.get("against_members") or {}).items():
        p = d.get("p_value")
        difference = d.get("difference")
        shown = "n/a" if difference is None else f"{difference:+.4f}"
        parts.append(f"vs {name} {shown} (p {figure_text(p)})")
    return "; ".join(parts)


def kind_html(records: list[dict]) -> str:
    """The index's section: a table of every record (labelled by kind), then each one's figures and classes."""
    if not records:
        return ""
    head = "".join(
        f"<th>{h}</th>" for h in ("row", "kind", "dataset", "metric", "P@1", "P@5", "P@10", "R-prec", "paired")
    )
    lines = []
    for r in records:
        precision = r.get("precision_at", {})
        cells = [
            _title(r),
            _kind(r),
            r["dataset"],
            f"{r['metric']} {figure_text(r['map'])}",
            *(figure_text(precision.get(k)) for k in ("1", "5", "10")),
            figure_text(r.get("r_precision")),
            against_text(r) or "-",
        ]
        lines.append("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in cells) + "</tr>")
    sections = "".join(_section(r) for r in records)
    return (
        '<h2 id="beside">Text-to-image and fused encoders</h2>'
        "<p>text->image: each class label is a text query (the templates are listed), embedded with the "
        "collection's text tower; every image of the class is relevant; mAP is over classes. fused: two or more "
        "collections of one dataset, matched by point id, ranked leave-one-out by reciprocal rank fusion "
        "(1/(k + rank), k = 60 unless the row says) or by the sum of each member's cosines min-max normalised per query; "
        "'paired' is fused minus member on the same queries (paired sign-flip p-value).</p>"
        f"<table><tr>{head}</tr>{''.join(lines)}</table>{sections}"
    )


def _kind(record: dict) -> str:
    """'text->image', 'fused rrf' or 'fused sum'."""
    fusion = record.get("fusion") or {}
    return LABELS[record["kind"]] + (f" {fusion['method']}" if fusion.get("method") else "")


def _fusion_text(fusion: dict) -> str:
    return (
        f"rrf, k = {fusion.get('k')}"
        if fusion.get("method") == "rrf"
        else f"{fusion.get('method')}: {fusion.get('score')}"
    )


def _title(record: dict) -> str:
    return record["collection"] + (" (random weights)" if record.get("random_weights") else "")


def _section(record: dict) -> str:
    from urllib.parse import quote

    folder = record["folder"]
    figures = "".join(
        f'<figure class="{"plot" if "pr" in name else "gallery"}"><a href="{html_text(quote(folder))}/{name}">'
        f'<img src="{html_text(quote(folder))}/{name}" alt="{html_text(name)}"></a>'
        f"<figcaption>{html_text(record['collection'])}: {_caption(record['kind'], name)}</figcaption></figure>"
        for name in record.get("figures", [])
    )
    what = (
        f"templates: {', '.join(record.get('templates', []))}"
        if record["kind"] == "text-to-image"
        else f"members: {', '.join(record.get('members', []))}; fusion: {_fusion_text(record.get('fusion') or {})}"
    )
    classes = "".join(
        f"<tr><td>{html_text(label)}</td><td>{html_text(figure_text(ap))}</td></tr>"
        for label, ap in record.get("per_class_ap", {}).items()
    )
    return (
        f'<section id="{html_text(folder)}-{record["kind"]}"><h3>{html_text(_title(record))} '
        f"({html_text(_kind(record))}, {html_text(record['metric'])} {figure_text(record['map'])})</h3>"
        f'<p>{html_text(what)}</p><div class="figures">{figures}</div>'
        f"<h4>AP per class</h4><table><tr><th>label</th><th>AP</th></tr>{classes}</table></section>"
    )


def _caption(kind: str, name: str) -> str:
    if "pr" in name:
        return "mean precision-recall curve, precision interpolated at 101 recall levels."
    which = "highest" if "best" in name else "lowest"
    query = "class's text query" if kind == "text-to-image" else "query"
    return f"the queries with the {which} AP: the {query} (framed blue), then its first hits, green when relevant."
