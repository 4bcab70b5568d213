"""The study's table from metrics.json records: encoders (or re-ranked rows) by datasets, a text per cell."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.study import study_text


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
    text = {(e, d): with_study(cells.get((e, d)), interval=False) for e in encoders for d in datasets}
    return StudyGrid(" / ".join(metrics), encoders, datasets, text)


def cell_text(summaries: list[dict] | None) -> str:
    """'0.5110', with the cuts beside it ('0.5110 · mAP@10 0.4321'), marked when the weights were random;
    '-' when absent."""
    if not summaries:
        return "-"
    parts = [
        figure_text(s["map"]) if s.get("k") is None else f"{s['metric']} {figure_text(s['map'])}" for s in summaries
    ]
    random = any(s.get("random_weights") for s in summaries)
    return " · ".join(parts) + (" (random weights)" if random else "")


def with_study(summaries: list[dict] | None, interval: bool = True) -> str:
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


def figure_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
