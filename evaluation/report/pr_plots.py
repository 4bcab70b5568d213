"""PR curves of an evaluation as PNG figures (the galleries are `evaluation.report.galleries`).

matplotlib is imported inside the function (it costs about a second) and used
through `Figure` objects rendered by Agg, never pyplot, so no display and no
global state are involved.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from media.files import write_bytes_atomic
from media.inert_text import plot_text


def pr_plot(curves: dict[str, Sequence[float | None]], path: Path, title: str) -> Path:
    """One interpolated PR curve per entry (name -> precision at 101 recall levels)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=100)
    ax = fig.add_subplot()
    for name, precision in curves.items():
        values = np.array([np.nan if p is None else p for p in precision], dtype=float)
        ax.plot(np.linspace(0, 1, len(values)), values, label=plot_text(name), linewidth=1.8)
    ax.set(xlabel="recall", ylabel="interpolated precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(plot_text(title))
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    drawn = io.BytesIO()
    fig.savefig(drawn, format="png")
    write_bytes_atomic(path, drawn.getvalue())  # a full disk leaves no truncated picture
    return path
