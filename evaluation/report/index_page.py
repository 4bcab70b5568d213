"""reports/index.html as text: the study table, notes, comparisons, plots and one section per collection.

Every label, path and name is escaped (`media.inert_text.html_text`), control and bidi characters included.
"""

from __future__ import annotations

from urllib.parse import quote

from evaluation.records.study import SOURCE, study_text
from evaluation.records.study_grid import figure_text, with_study
from media.inert_text import html_text

FIGURES = ("pr.png", "best.png", "worst.png")
CAPTIONS = {  # what each figure of a collection shows, for its caption
    "pr.png": "Mean precision-recall curve, precision interpolated at 101 recall levels.",
    "best.png": "The queries with the highest AP (framed blue), each followed by its first hits: "
    "green when of the query's class, red when not.",
    "worst.png": "The queries with the lowest AP (framed blue), each followed by its first hits: "
    "green when of the query's class, red when not.",
}


def _href(*parts: str) -> str:
    return html_text("/".join(quote(part) for part in parts))


def page(summaries, rows, datasets, cells, plots, made: str, rankings, revisited: str = "", members=()) -> str:
    """The whole page: `rows` x `datasets` cells (records), `rankings` and `members` (each fused row against
    its members, `evaluation.metrics.comparisons.member_comparisons`) computed from those records."""
    head = "".join(f"<th>{html_text(d)}</th>" for d in datasets)
    lines = []
    for row in rows:
        if not row.full and lines and "variants" not in lines[-1] and rows[rows.index(row) - 1].full:
            lines.append(
                f'<tr class="variants"><th colspan="{len(datasets) + 1}">other variants, each its own row '
                "(not the full ranking of every point)</th></tr>"
            )
        tds = []
        for dataset in datasets:
            found = cells.get((row, dataset))
            text = html_text(with_study(found))
            tds.append(f'<td><a href="#{html_text(found.folder)}">{text}</a></td>' if found else f"<td>{text}</td>")
        lines.append(f"<tr><th>{html_text(row.label)}</th>{''.join(tds)}</tr>")
    plot_html = "".join(
        _figure_html(_href(name), f"{d}: the mean precision-recall curve of every encoder evaluated on it.", "plot")
        for d, name in plots.items()
    )
    sections = "".join(_section(s) for s in summaries)
    rankings_html = _rankings_html(rankings)
    members_html = _members_html(members)
    contents = [("table", "mAP: encoders x datasets")]
    if rankings_html:
        contents.append(("comparisons", "Paired comparisons per dataset"))
    if members_html:
        contents.append(("members", "Fused rows against their members"))
    contents.append(("curves", "Precision-recall per dataset"))
    contents += [(s["folder"], f"{s['name']} ({s['metric']})") for s in summaries]
    toc = "".join(f'<li><a href="#{html_text(anchor)}">{html_text(text)}</a></li>' for anchor, text in contents)
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
<table id="study"><tr><th>encoder</th>{head}</tr>{"".join(lines)}</table>
{_table_notes(summaries)}
{rankings_html}
{members_html}
{revisited}
<h2 id="curves">Precision-recall per dataset</h2><div class="figures">{plot_html}</div>
{sections}
</body></html>
"""


def _figure_html(href: str, caption: str, kind: str) -> str:
    """A figure that opens at full size when clicked (`href` from _href), with a caption saying what it shows."""
    return (
        f'<figure class="{kind}"><a href="{href}"><img src="{href}" alt="{html_text(caption)}"></a>'
        f"<figcaption>{html_text(caption)}</figcaption></figure>"
    )


def _section(summary: dict) -> str:
    folder = summary["folder"]
    precision = summary.get("precision_at", {})
    seconds = summary.get("seconds", {}).get("total")
    facts = [
        (summary.get("metric", "mAP"), figure_text(summary["map"])),
        *((f"P@{k}", figure_text(v)) for k, v in precision.items()),
        ("R-precision", figure_text(summary.get("r_precision"))),
        *_extra_facts(summary),
        ("queries", summary.get("queries")),
        ("skipped (no other member)", summary.get("queries_skipped")),
        ("seconds", seconds),
        ("variant", summary["variant"]["label"]),
        ("evaluated", summary.get("made", "not recorded (an older release)")),
        ("by", summary.get("command") or "not recorded"),
    ]
    fact_rows = "".join(f"<tr><th>{html_text(name)}</th><td>{html_text(value)}</td></tr>" for name, value in facts)
    plots = "".join(
        _figure_html(_href(folder, name), f"{summary['name']}: {CAPTIONS[name]}", "plot")
        for name in summary["figures"]
        if name == "pr.png"
    )
    galleries_drawn = "".join(
        _figure_html(_href(folder, name), f"{summary['name']}: {CAPTIONS[name]}", "gallery")
        for name in summary["figures"]
        if name != "pr.png"
    )
    galleries = "".join(
        f"<h4>{title}</h4>{_gallery_table(summary.get(key, []))}"
        for key, title in (("best", "Best queries"), ("worst", "Worst queries"))
    )
    classes = "".join(
        f"<tr><td>{html_text(label)}</td><td>{html_text(figure_text(ap))}</td></tr>"
        for label, ap in summary.get("per_class_ap", {}).items()
    )
    heading = f"{summary['name']} ({summary['metric']}; variant: {summary['variant']['label']})"
    if summary.get("random_weights"):
        heading += " (random weights: not a result)"
    return (
        f'<section id="{html_text(folder)}"><h2>{html_text(heading)}</h2>'
        f"<p>dataset {html_text(summary['dataset'])}, encoder {html_text(summary['encoder'])}, "
        f"store {html_text(summary.get('store', '?'))}</p>"
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
    body = "".join(f"<tr><th>{html_text(name)}</th><td>{html_text(value)}</td></tr>" for name, value in rows)
    return f"<h4>Provenance</h4><table>{body}</table>"


def _identical(groups: list[list[str]]) -> str:
    if not groups:
        return ""
    listed = "".join(f"<li>{html_text(', '.join(group))}</li>" for group in groups[:20])
    return (
        f"<p>{len(groups)} group(s) of stored images have identical content; they inflate leave-one-out "
        f"mAP:</p><ul>{listed}</ul>"
    )


def _gallery_table(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        hits = " ".join(
            f'<span class="{"right" if h["relevant"] else "wrong"}" title="{html_text(h["path"])}">'
            f"{'&#10003;' if h['relevant'] else '&#10007;'} {html_text(h['label'])}</span>"
            for h in row["hits"]
        )
        lines.append(
            f"<tr><td>{html_text(figure_text(row['ap']))}</td><td>{html_text(row['label'])}</td>"
            f"<td>{html_text(row.get('path', 'its text query'))}</td><td>{hits}</td></tr>"
        )
    return f"<table><tr><th>AP</th><th>label</th><th>query</th><th>first hits</th></tr>{''.join(lines)}</table>"


def _table_notes(summaries: list[dict]) -> str:
    """What the table's brackets mean, and that re-ranked rows are not the study's figures."""
    notes = [
        "Brackets: 95% bootstrap interval of the mAP over queries (1,000 resamples, fixed seed). "
        f"'study' is the published mAP from {SOURCE}, followed by ours minus the study's."
    ]
    if any(s["variant"]["sample"] for s in summaries):
        notes.append(
            "Rows marked 'sample N seed S' rank only N seeded random queries against every point: their mAP is "
            "an estimate, its 95% interval in brackets, with how many queries of how many points."
        )
    if any(s["variant"]["k"] for s in summaries):
        notes.append("Rows marked '@k' rank only the first k hits: mAP@k, denominator min(R, k).")
    if any(s["variant"].get("kind") == "text-to-image" for s in summaries):
        notes.append(
            "Rows marked text->image: each class label is a text query (the templates are listed in its section), "
            "embedded with the collection's text tower; every image of the class is relevant; mAP over classes. "
            "They are compared only with other text->image rows."
        )
    if any(s["variant"].get("kind") == "fused" for s in summaries):
        notes.append(
            "Rows marked fused: two or more collections of one dataset, matched by point id, ranked leave-one-out "
            "by reciprocal rank fusion (1/(k + rank)) or by the sum of each member's cosines min-max normalised "
            "per query; compared with the leave-one-out rows and with each member on the same queries."
        )
    if any(s.get("random_weights") for s in summaries):
        notes.append("Figures marked '(random weights)' come from untrained encoders: a check, never a result.")
    if any(s.get("rerank") for s in summaries):
        notes.append(
            "Rows marked +aqe, +dba or +dba+aqe are re-ranked (alpha query expansion and database-side "
            "augmentation, Radenovic, Tolias and Chum 2018): they are not comparable with the study's numbers, "
            "which come from plain cosine ranking."
        )
    return "".join(f"<p>{html_text(note)}</p>" for note in notes)


def _rankings_html(rankings) -> str:
    """Per dataset and way of measuring, the rows by mAP with the paired difference to the next, computed
    from the per-query APs of the records shown (`evaluation.metrics.comparisons`)."""
    tables = []
    for ranking in rankings:
        lines = []
        for row in ranking.rows:
            cells = [row.name, figure_text(row.mean_ap), row.next or "-"]
            d = row.difference
            if d is not None and d.queries:
                cells += [
                    _signed(d.difference),
                    f"[{_signed(d.interval.low)}, {_signed(d.interval.high)}]",
                    figure_text(d.p_value),
                    "yes" if d.significant else "no",
                    str(d.queries),
                ]
            elif row.unmatched:
                cells += [row.unmatched, "", "", "", ""]
            else:
                cells += ["-"] * 5
            lines.append("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in cells) + "</tr>")
        head = "".join(
            f"<th>{h}</th>"
            for h in (
                "row",
                ranking.metric,
                "next",
                "difference",
                "95% interval",
                "p (sign-flip)",
                "p &lt; 0.05",
                "queries",
            )
        )
        title = f"{ranking.dataset}: {ranking.measured}"
        tables.append(f"<h3>{html_text(title)}</h3><table><tr>{head}</tr>{''.join(lines)}</table>")
    if not tables:
        return ""
    return (
        '<h2 id="comparisons">Paired comparisons per dataset</h2><p>Computed as this page was drawn, from the '
        "per-query APs of the records it shows: within a dataset, the rows measured the same way (full ranking, "
        "the same cut at k, the same sample) by mAP, each against the next lower one on the same queries (points "
        "matched by id): difference in mAP, its paired bootstrap interval, and the p-value of a paired sign-flip "
        "test (1,000 draws, fixed seed). A pair whose queries differ is not compared and says why.</p>"
        + "".join(tables)
    )


def _members_html(members) -> str:
    """Each fused row minus each member's row on the same queries (points matched by id)."""
    lines = []
    for c in members:
        d = c.difference
        cells = [c.fused, c.member]
        if d is not None and d.queries:
            interval = f"[{_signed(d.interval.low)}, {_signed(d.interval.high)}]"
            cells += [_signed(d.difference), interval, figure_text(d.p_value), "yes" if d.significant else "no"]
        else:
            cells += [c.unmatched or "-", "", "", ""]
        lines.append("<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in cells) + "</tr>")
    if not lines:
        return ""
    head = "".join(
        f"<th>{h}</th>" for h in ("fused", "member", "fused - member", "95% interval", "p (sign-flip)", "p &lt; 0.05")
    )
    return (
        '<h2 id="members">Fused rows against their members</h2><p>Computed as this page was drawn from the '
        "per-query APs of the records shown, points matched by id.</p>"
        f"<table><tr>{head}</tr>{''.join(lines)}</table>"
    )


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _extra_facts(summary: dict) -> list[tuple[str, object]]:
    """The interval, the study's figure, the re-ranking and the duplicates of one metrics.json record."""
    facts: list[tuple[str, object]] = []
    if summary.get("templates"):
        facts.append(("text query templates", "; ".join(summary["templates"])))
    if summary.get("members"):
        facts.append(("fused members", ", ".join(summary["members"])))
        facts.append(("fusion", (summary.get("fusion") or {}).get("score")))
        facts.append(("points not in every member (left out)", summary.get("points_not_in_every_member")))
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
                    figure_text(duplicates["map_without_duplicates"]),
                )
            )
        for example in duplicates.get("examples", []):
            facts.append(("duplicate pair", f"{example['a']} ~ {example['b']} ({example['cosine']:.4f})"))
    return facts
