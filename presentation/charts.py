"""Numbers for the pictures the templates draw: PR curves as SVG polylines, AP as a cell colour.

Only numbers leave here; names and labels are escaped by the templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, MARGIN = 360, 240, 40  # MARGIN: room left of and below the plot for tick values and axis names
TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # on both axes of a PR chart
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclass(frozen=True)
class Curve:
    name: str
    points: str  # "x,y x,y ..." in SVG coordinates
    colour: str


def pr_curves(curves: dict[str, Sequence[float | None]]) -> list[Curve]:
    """Interpolated precision at evenly spaced recall levels -> one polyline each (gaps where unknown)."""
    drawn = []
    for number, (name, precision) in enumerate(curves.items()):
        last = max(len(precision) - 1, 1)
        points = " ".join(
            f"{MARGIN + (WIDTH - MARGIN - 10) * i / last:.1f},{HEIGHT - MARGIN - (HEIGHT - MARGIN - 10) * p:.1f}"
            for i, p in enumerate(precision)
            if p is not None
        )
        drawn.append(Curve(name, points, PALETTE[number % len(PALETTE)]))
    return drawn


@dataclass(frozen=True)
class Tick:
    """One tick value of a PR chart: its text and where it goes, on the recall (x) or precision (y) axis."""

    text: str
    x: float
    y: float


def pr_ticks() -> dict[str, list[Tick]]:
    """The tick values of a PR chart, both axes 0 to 1 by 0.2, placed as `pr_curves` places the points."""
    return {
        "recall": [Tick(f"{v:g}", MARGIN + (WIDTH - MARGIN - 10) * v, HEIGHT - MARGIN) for v in TICKS],
        "precision": [Tick(f"{v:g}", MARGIN, HEIGHT - MARGIN - (HEIGHT - MARGIN - 10) * v) for v in TICKS],
    }


def ap_colour(ap: float | None) -> str:
    """A background from red (AP 0) through yellow to green (AP 1); grey when unknown."""
    if ap is None:
        return "#eeeeee"
    return f"hsl({120 * max(0.0, min(ap, 1.0)):.0f}, 70%, 78%)"


def share_class(share: float) -> str:
    """A CSS class for a share's cell colour, in tenths (h0 .. h10): no inline style, so the CSP stays 'self'."""
    return f"h{round(max(0.0, min(share, 1.0)) * 10)}"
