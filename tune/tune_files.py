"""reports/<collection>/tune.json and tune.png: what `tune` measured, and its frontier drawn.

The figure has two panels sharing the quality axis: recall@k against p50
latency, and against memory per point. Every setting is a dot; those on the
frontier are filled and named, the recommended one is a star, and exact
search (recall 1 by definition) is a dotted line at its latency and memory. matplotlib is used through a `Figure` (Agg), as in `evaluation.report.pr_plots`.
The names are placed one by one where their boxes meet no name placed before
(measured by the Agg renderer), so close settings do not print over each other.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from media.files import write_bytes_atomic, write_text_atomic
from media.folders import writable_folder
from media.inert_text import plot_text
from store import VectorStore
from tune.findings import TuneResult, tune_paths
from tune.tuner import Progress, TuneOptions, check_tunable, tune_collection

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation


def run_tune(
    store: VectorStore,
    name: str,
    options: TuneOptions,
    *,
    reports_dir: Path,
    progress: Callable[[str], AbstractContextManager[Progress]] | None = None,
    command: str = "",
) -> tuple[TuneResult, list[Path]]:
    """What `tune` runs: check the engine and the reports folder first, measure, write the report."""
    check_tunable(store, name)
    writable_folder(reports_dir)
    with progress(f"tune {name}") if progress else nullcontext(None) as advance:
        result = tune_collection(store, name, options, progress=advance, command=command)
    return result, write_tune_report(result, reports_dir)


def write_tune_report(result: TuneResult, reports_dir: Path) -> list[Path]:
    """tune.json (a record of kind "tune") and tune.png in reports/<collection>/; their paths."""
    record, figure = tune_paths(reports_dir, result.collection)
    write_text_atomic(record, json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    return [record, frontier_plot(result, figure)]


def frontier_plot(result: TuneResult, path: Path) -> Path:
    """The settings by recall against latency and against memory, the frontier named; written to `path`."""
    drawn = io.BytesIO()
    frontier_figure(result).savefig(drawn, format="png")
    write_bytes_atomic(path, drawn.getvalue())  # a full disk leaves no truncated picture
    return path


def frontier_figure(result: TuneResult) -> Figure:
    """The figure `frontier_plot` writes, its frontier's names placed so that no two overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)  # a renderer, to measure the names where they are placed
    axes = fig.subplots(1, 2, sharey=True)
    rows, chosen = result.rows, result.recommended
    names = []
    for ax, measure, unit in (
        (axes[0], lambda r: r.p50_ms, "p50 latency (ms, one query)"),
        (axes[1], lambda r: r.memory.ram, f"memory per point (bytes, {result.exact.memory.source})"),
    ):
        off = [r for r in rows if not r.frontier]
        on = sorted((r for r in rows if r.frontier), key=measure)
        ax.scatter([measure(r) for r in off], [r.recall for r in off], facecolors="none", edgecolors="grey", s=40)
        ax.plot([measure(r) for r in on], [r.recall for r in on], "o", color="tab:blue", markersize=7)
        names.append(
            [
                ax.annotate(
                    plot_text(r.label),
                    (measure(r), r.recall),
                    fontsize=7,
                    xytext=NAME_OFFSETS[0],
                    textcoords="offset points",
                    arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.5, "shrinkA": 0, "shrinkB": 3},
                )
                for r in on
            ]
        )
        ax.plot([measure(chosen)], [chosen.recall], "*", color="tab:red", markersize=16, label="recommended")
        ax.axvline(measure(result.exact), color="black", linestyle=":", linewidth=1, label="exact search")
        ax.set_xlabel(unit)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"recall@{result.k} against exact search")
    axes[0].legend(loc="lower right", fontsize="small")
    title = f"{result.collection}: {result.queries} queries, filled = on the recall/latency/memory frontier"
    fig.suptitle(plot_text(title), fontsize=10)
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    for panel in names:
        _place_apart(panel, renderer)
    return fig


NAME_OFFSETS = [(4, -10), (4, 4)] + [(4, -10 - 9 * i) for i in range(1, 40)] + [(4, 4 + 9 * i) for i in range(1, 40)]


def _place_apart(names: list[Annotation], renderer: RendererBase) -> None:
    """Each name at the first of NAME_OFFSETS (points from its dot: below right, above right, then further
    down, then further up, where the title is; joined to its dot by a thin line) where its box meets no name
    placed before it."""
    from matplotlib.text import Text

    placed = []
    for name in names:
        for offset in NAME_OFFSETS:
            name.xyann = offset
            box = Text.get_window_extent(name, renderer).padded(1)  # the name's box, without its line
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(box)
