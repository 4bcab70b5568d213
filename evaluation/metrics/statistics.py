"""Confidence intervals and paired comparisons of per-query figures: pure functions on arrays.

Every function takes per-query values (AP of each query; NaN for a query
without AP, left out as in every mean) and a seed, so that the same input
always gives the same figures. No I/O, no store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.records.gallery_rows import json_number

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95
SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval of a mean, with what it took to compute it."""

    low: float
    high: float
    level: float
    resamples: int
    seed: int

    def to_json(self) -> dict:
        return {
            "low": json_number(self.low),
            "high": json_number(self.high),
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "method": "percentile bootstrap over queries",
        }


def bootstrap_interval(
    values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED, *, level: float = LEVEL
) -> Interval:
    """Percentile bootstrap interval of mean(values) over the non-NaN values.

    With m values: draw, `resamples` times, m indices uniformly with
    replacement (row b: `rng.integers(0, m, m)` from `np.random.default_rng(seed)`,
    one row after the other), take the mean of each resample, and return the
    (1 - level)/2 and (1 + level)/2 quantiles of those means (numpy's linear
    interpolation). NaN bounds when there is no value.
    """
    kept = np.asarray(values, dtype=np.float64)
    kept = kept[~np.isnan(kept)]
    if len(kept) == 0:
        return Interval(float("nan"), float("nan"), level, resamples, seed)
    rng = np.random.default_rng(seed)
    means = np.array([kept[rng.integers(0, len(kept), len(kept))].mean() for _ in range(resamples)])
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(low), float(high), level, resamples, seed)


@dataclass(frozen=True)
class PairedDifference:
    """mean(a) - mean(b) over the queries both have, its bootstrap interval and a sign-flip p-value."""

    difference: float
    interval: Interval
    p_value: float
    queries: int

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANT

    def to_json(self) -> dict:
        return {
            "difference": json_number(self.difference),
            "interval": self.interval.to_json(),
            "p_value": json_number(self.p_value),
            "test": "paired sign-flip (randomisation) test, two-sided",
            "significant": self.significant,
            "alpha": SIGNIFICANT,
            "queries": self.queries,
        }


def paired_difference(
    a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES, *, seed: int = SEED
) -> PairedDifference:
    """Compare two per-query figures of the same queries (row i of `a` and `b` is the same query).

    d_i = a_i - b_i over the queries where both are known; the difference is
    mean(d). Its interval is `bootstrap_interval(d)` (resampling queries, so
    each keeps its pair). The p-value is the paired sign-flip test of "a and b
    are exchangeable within each query": draw, `resamples` times, signs
    e_i = +-1 with probability 1/2 (row b: `rng.integers(0, 2, m)` from
    `np.random.default_rng(seed + 1)`), and
    p = (1 + #{b : |mean(e d)| >= |mean(d)|}) / (1 + resamples),
    the comparison allowing a relative 1e-9 for rounding, so that d = 0 gives p = 1.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired figures need the same queries: {a.shape} against {b.shape}")
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    m = len(d)
    if m == 0:
        return PairedDifference(float("nan"), bootstrap_interval(d, resamples, seed), float("nan"), 0)
    observed = abs(d.mean())
    rng = np.random.default_rng(seed + 1)
    flipped = (abs(((2 * rng.integers(0, 2, m) - 1) * d).mean()) for _ in range(resamples))
    as_large = sum(int(value >= observed * (1 - 1e-9)) for value in flipped)
    return PairedDifference(
        float(d.mean()), bootstrap_interval(d, resamples, seed), (1 + as_large) / (1 + resamples), m
    )


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values of a family of m tests (NaN ones are not tests: left NaN, not counted).

    With the m p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted
    p_(i) = max over j <= i of min(1, (m - j + 1) p_(j)); a test survives at
    level alpha when its adjusted p-value is below alpha. This holds the chance
    of any false claim in the family at alpha, whatever the tests' dependence
    (Holm 1979), and rejects at least what Bonferroni's m p would.
    """
    values = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(len(values), np.nan)
    tested = np.flatnonzero(~np.isnan(values))
    order = tested[np.argsort(values[tested], kind="stable")]
    m = len(order)
    running = 0.0
    for j, index in enumerate(order):
        running = max(running, min(1.0, (m - j) * values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def permutation_range(values: np.ndarray, resamples: int = RESAMPLES, *, seed: int = SEED) -> float:
    """The randomization (permutation) test of "every system is as good as every other" over several paired
    systems: its p-value.

    `values` (queries x systems) are per-query figures; queries where any
    system has NaN are left out. The statistic is the range of the systems'
    means, max - min. Under the null the systems are exchangeable within each
    query, so each resample permutes every query's values among the systems
    (`rng.permuted(values, axis=1)` from `np.random.default_rng(seed + 2)`, one
    resample after the other), and
    p = (1 + #{b : range_b >= range}) / (1 + resamples),
    the comparison allowing a relative 1e-9 for rounding. With two systems it is
    the sign-flip test's statistic; with more it tests them all at once, the
    omnibus beside the Holm-corrected pairs. NaN with fewer than two systems or no query.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        return float("nan")
    values = values[~np.isnan(values).any(axis=1)]
    if len(values) == 0:
        return float("nan")
    means = values.mean(axis=0)
    observed = means.max() - means.min()
    rng = np.random.default_rng(seed + 2)
    as_large = 0
    for _ in range(resamples):
        shuffled = rng.permuted(values, axis=1).mean(axis=0)
        as_large += int(shuffled.max() - shuffled.min() >= observed * (1 - 1e-9))
    return (1 + as_large) / (1 + resamples)
