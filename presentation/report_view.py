"""The view records of reports/index.html: plain dataclasses built from the evaluation's run records.

What each part of the page shows is decided here, as text and numbers; how it looks is the template's
(`templates/report.html`), which escapes every value. Links are relative to the reports folder (the page opens
from disk); a figure is linked only when its file is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from evaluation import Comparisons, RunRecord
from evaluation.metrics.revisitop import SETUPS
from evaluation.records.study import SOURCE, study_text
from evaluation.records.study_grid import TableRow, figure_text, percent_text, with_study

FIGURES = ("pr.png", "best.png", "worst.png")
CAPTIONS = {  # what each figure of a collection shows, for its caption
    "pr.png": "Mean precision-recall curve, precision interpolated at 101 recall levels.",
    "best.png": "The queries with the highest AP (framed blue), each followed by its first hits: "
    "green when of the query's class, red when not.",
    "worst.png": "The queries with the lowest AP (framed blue), each followed by its first hits: "
    "green when of the query's class, red when not.",
}


def relative_href(*parts: str) -> str:
    """A link to a file under the reports folder, from index.html beside it: each part quoted, never absolute."""
    return "/".join(quote(part) for part in parts)


@dataclass(frozen=True)
class Figure:
    """A picture that opens at full size when clicked, with a caption saying what it shows."""

    href: str
    caption: str
    kind: str  # "plot" or "gallery": how wide it is drawn


@dataclass(frozen=True)
class Cell:
    """One cell of the encoders x datasets table: its text, and the section it links to (None: no record)."""

    text: str
    anchor: str | None


@dataclass(frozen=True)
class StudyRow:
    label: str
    cells: list[Cell]
    first_variant: bool  # the first row that is not a full run: a heading row goes before it


@dataclass(frozen=True)
class QueryRow:
    """A best or worst query: its AP, label, path and first hits as (label, path, relevant)."""

    ap: float | None
    label: str
    path: str
    hits: list[tuple[str, str, bool]]


@dataclass(frozen=True)
class Section:
    """One record's section: its title (random weights marked), provenance, facts, figures and query tables."""

    anchor: str
    name: str
    metric: str
    variant: str
    random_weights: bool
    dataset: str
    encoder: str
    store: str
    provenance: list[tuple[str, object]] | None  # None: the collection recorded none
    identical: list[str]  # groups of images with identical content, each as one line (the first 20)
    identical_groups: int
    facts: list[tuple[str, object]]
    plots: list[Figure]
    galleries: list[Figure]
    best: list[QueryRow]
    worst: list[QueryRow]
    classes: list[tuple[str, str]]
    scores: dict | None = None  # the table of score against precision (`evaluation.metrics.score_precision`)


@dataclass(frozen=True)
class RevisitedRow:
    collection: str
    cells: list[tuple[str, str]]  # per setup: (mAP with the published one beside, mP@k)


@dataclass(frozen=True)
class Revisited:
    setups: list[str]
    rows: list[RevisitedRow]
    sources: list[str]


@dataclass(frozen=True)
class Made:
    """When, by which command and from which store the page was made, and the versions it ran with."""

    when: str
    command: str
    location: str
    versions: str


@dataclass(frozen=True)
class IndexView:
    """Everything reports/index.html shows."""

    made: Made
    datasets: list[str]
    rows: list[StudyRow]
    notes: list[str]
    comparisons: Comparisons
    revisited: Revisited | None
    plots: list[Figure]
    sections: list[Section]

    @property
    def contents(self) -> list[tuple[str, str]]:
        """The table of contents: (anchor, text) of each part the page has."""
        parts = [("table", "mAP: encoders x datasets")]
        if self.comparisons.rankings:
            parts.append(("comparisons", "Paired comparisons per dataset"))
        if self.comparisons.members:
            parts.append(("members", "Fused rows against their members"))
        parts.append(("curves", "Precision-recall per dataset"))
        return parts + [(s.anchor, f"{s.name} ({s.metric})") for s in self.sections]


@dataclass(frozen=True)
class Table:
    """The encoders x datasets table as `evaluation.study_table` gives it."""

    rows: list[TableRow]
    datasets: list[str]
    cells: dict[tuple[TableRow, str], RunRecord]


def study_rows(table: Table) -> list[StudyRow]:
    """The table's rows: each cell's text with the study's figure and the interval, linked to its section."""
    shown = []
    for i, row in enumerate(table.rows):
        cells = []
        for dataset in table.datasets:
            found = table.cells.get((row, dataset))
            cells.append(Cell(with_study(found), found.folder if found else None))
        first_variant = not row.full and i > 0 and table.rows[i - 1].full
        shown.append(StudyRow(row.label, cells, first_variant))
    return shown


def section(summary: dict, drawn: list[str]) -> Section:
    """The section of one record (`summary`: its data), with the figures of `drawn` that exist beside it."""
    folder = summary["folder"]
    figures = [
        Figure(
            relative_href(folder, name),
            f"{summary['name']}: {CAPTIONS[name]}",
            "plot" if name == "pr.png" else "gallery",
        )
        for name in drawn
    ]
    groups = summary.get("identical_images", [])
    return Section(
        anchor=folder,
        name=summary["name"],
        metric=summary["metric"],
        variant=summary["variant"]["label"],
        random_weights=bool(summary.get("random_weights")),
        dataset=summary["dataset"],
        encoder=summary["encoder"],
        store=summary.get("store", "?"),
        provenance=_provenance(summary.get("provenance"), summary.get("weights")),
        identical=[", ".join(group) for group in groups[:20]],
        identical_groups=len(groups),
        facts=_facts(summary),
        plots=[f for f in figures if f.kind == "plot"],
        galleries=[f for f in figures if f.kind == "gallery"],
        best=_queries(summary.get("best", [])),
        worst=_queries(summary.get("worst", [])),
        classes=[(label, figure_text(ap)) for label, ap in summary.get("per_class_ap", {}).items()],
        scores=summary.get("score_precision"),
    )


def _queries(rows: list[dict]) -> list[QueryRow]:
    return [
        QueryRow(
            row["ap"],
            row["label"],
            row.get("path", "its text query"),
            [(hit["label"], hit["path"], bool(hit["relevant"])) for hit in row["hits"]],
        )
        for row in rows
    ]


def _provenance(provenance: dict | None, weights: str | None) -> list[tuple[str, object]] | None:
    if not provenance:
        return None
    return [
        ("image root", provenance.get("image_root")),
        ("model", provenance.get("model_id")),
        ("weights", weights),
        ("preprocessing", provenance.get("preprocessing")),
        ("vector size", provenance.get("dim")),
        ("created", provenance.get("created")),
        ("updated", provenance.get("updated")),
        ("versions", ", ".join(f"{k} {v}" for k, v in (provenance.get("versions") or {}).items())),
    ]


def _facts(summary: dict) -> list[tuple[str, object]]:
    """The figures of one record, then what it was measured with, then when and by which command."""
    return [
        (summary.get("metric", "mAP"), figure_text(summary["map"])),
        *((f"P@{k}", figure_text(v)) for k, v in summary.get("precision_at", {}).items()),
        ("R-precision", figure_text(summary.get("r_precision"))),
        *((name, figure_text(value)) for name, value in (summary.get("metrics") or {}).items()),
        *_extra_facts(summary),
        ("queries", summary.get("queries")),
        ("skipped (no other member)", summary.get("queries_skipped")),
        ("seconds", summary.get("seconds", {}).get("total")),
        ("variant", summary["variant"]["label"]),
        ("evaluated", summary.get("made", "not recorded (an older release)")),
        ("by", summary.get("command") or "not recorded"),
    ]


def _extra_facts(summary: dict) -> list[tuple[str, object]]:
    """The interval, the study's figure, the re-ranking and the duplicates of one record."""
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
        method = f"{rerank['method']}, k={rerank['k']}, alpha={rerank['alpha']} (not comparable with the study)"
        facts.append(("re-ranking", method))
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


def table_notes(summaries: list[dict]) -> list[str]:
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
    return notes


def revisited(records: list[dict]) -> Revisited | None:
    """Easy/Medium/Hard mAP and mP@k (percent) of the revisited records, the published reference beside them."""
    if not records:
        return None
    rows, sources = [], set()
    for record in records:
        reference = record.get("reference") or {}
        published = reference.get("map", {})
        cells = []
        for setup in SETUPS:
            figures = record["setups"][setup]
            beside = f" (ref. {published[setup]:.1f})" if setup in published else ""
            precision = "/".join(percent_text(figures["mp_at"].get(str(k))) for k in record.get("kappas", []))
            cells.append((percent_text(figures["map"]) + beside, precision))
        if reference:
            sources.add(reference["source"])
        rows.append(RevisitedRow(record["collection"], cells))
    return Revisited([setup.title() for setup in SETUPS], rows, sorted(sources))
