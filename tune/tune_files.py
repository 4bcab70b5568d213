"""reports/<collection>/tune.json and tune.png: what `tune` measured, and its frontier drawn.

The figure has two panels sharing the quality axis: recall@k against p50
latency, and against memory per point. Every setting is a dot; those on the
frontier are filled and named, the recommended one is a star, and exact
search (recall 1 by definition) is a dotted line at its latency and memory. matplotlib is used through a `Figure` (Agg), as in `evaluation.report.pr_plots`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from media.files import write_bytes_atomic, write_text_atomic
from media.folders import writable_folder
from media.inert_text import plot_text
from store import VectorStore
from tune.findings import TuneResult, tune_paths
from tune.tuner import Progress, TuneOptions, check_tunable, tune_collection


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
    """The settings by recall against latency and against memory, the frontier named."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.8), dpi=100)
    axes = fig.subplots(1, 2, sharey=True)
    rows, chosen = result.rows, result.recommended
    for ax, measure, unit in (
        (axes[0], lambda r: r.p50_ms, "p50 latency (ms, one query)"),
        (axes[1], lambda r: r.memory.ram, f"memory per point (bytes, {result.exact.memory.source})"),
    ):
        off = [r for r in rows if not r.frontier]
        on = sorted((r for r in rows if r.frontier), key=measure)
        ax.scatter([measure(r) for r in off], [r.recall for r in off], facecolors="none", edgecolors="grey", s=40)
        ax.plot([measure(r) for r in on], [r.recall for r in on], "o", color="tab:blue", markersize=7)
        for r in on:
            ax.annotate(
                plot_text(r.label), (measure(r), r.recall), fontsize=7, xytext=(4, -10), textcoords="offset points"
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
    drawn = io.BytesIO()
    fig.savefig(drawn, format="png")
    write_bytes_atomic(path, drawn.getvalue())  # a full disk leaves no truncated picture
    return path
