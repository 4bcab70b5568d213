"""The quality/latency/memory frontier of tuned settings, and the setting to recommend: pure functions.

Higher quality is better, lower latency and memory are better. A setting is on
the frontier (Pareto-optimal) when no other setting is at least as good on all
three and better on one. The recommendation is the setting needing the least
memory among those within `tolerance` of the best quality, ties broken by
latency and then by quality: such a setting is always on the frontier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 0.01


def pareto(quality: np.ndarray, latency: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """frontier[i]: no setting j is at least as good as i on all three and better on one."""
    q, t, m = (np.asarray(values, dtype=float) for values in (quality, latency, memory))
    no_worse = (q[None, :] >= q[:, None]) & (t[None, :] <= t[:, None]) & (m[None, :] <= m[:, None])
    better = (q[None, :] > q[:, None]) | (t[None, :] < t[:, None]) | (m[None, :] < m[:, None])
    return ~(no_worse & better).any(axis=1)  # row i, column j: does j dominate i


@dataclass(frozen=True)
class Recommendation:
    """The chosen setting's position, the best quality it was measured against, and the rule that chose it."""

    index: int
    best_quality: float
    tolerance: float
    eligible: int  # settings within tolerance of the best quality

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "best_quality": self.best_quality,
            "tolerance": self.tolerance,
            "eligible": self.eligible,
        }


def recommend(
    quality: np.ndarray, latency: np.ndarray, memory: np.ndarray, *, tolerance: float = TOLERANCE
) -> Recommendation:
    """The least memory among the settings within `tolerance` of the best quality; ties by latency, then quality."""
    q, t, m = (np.asarray(values, dtype=float) for values in (quality, latency, memory))
    if not len(q):
        raise ValueError("no settings to choose from")
    best = float(q.max())
    eligible = np.flatnonzero(q >= best - tolerance - 1e-12)
    chosen = min(eligible, key=lambda i: (m[i], t[i], -q[i], i))
    return Recommendation(int(chosen), best, tolerance, len(eligible))
