"""The Revisited Oxford and Paris protocol (Radenovic et al., CVPR 2018) as pure functions.

Each query has three lists of database images: `easy` and `hard` positives and
`junk` (images that are neither, the query's own image among them). The three
setups choose positives and junk from them:

    Easy:   positives = easy,          junk = junk + hard
    Medium: positives = easy + hard,   junk = junk
    Hard:   positives = hard,          junk = junk + easy

Junk images are removed from a ranking before it is measured: a positive's
rank r is its 0-based position among the non-junk images. With the positives
found at ranks r_0 < r_1 < ... and n_ok positives in all,

    AP = (1 / n_ok) * sum_j (p0_j + p1_j) / 2,
    p0_j = j / r_j   (1 when r_j = 0),   p1_j = (j + 1) / (r_j + 1),

the trapezoid between the precision just before and just after each recall
step; and with 1-based ranks R_j = r_j + 1,

    P@k = #{j : R_j <= k'} / k',   k' = min(k, max_j R_j),

so a query whose last positive comes before rank k is not penalised for
having fewer than k. A query with no positive in a setup has no figures and
is left out of that setup's means. These are the definitions of `compute_ap`
and `compute_map` in the authors' evaluation code (revisitop,
python/evaluate.py, github.com/filipradenovic/revisitop), written anew here.

Beside them, each setup also has trec_eval's figures of the same rankings,
junk removed (`SetupFigures.standard`): non-interpolated AP (the precision at
each positive's rank, summed, over n_ok) and P@k = positives in the first k /
k, the figures a TREC run and qrels written for the setup (`eval --trec`) give
in trec_eval or ranx.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.metrics.per_query import HitFigures, Hits, hit_figures
from evaluation.records.gallery_rows import json_number
from media.groundtruth import QueryTruth

KAPPAS = (1, 5, 10)
SETUPS = {
    "easy": (("easy",), ("junk", "hard")),
    "medium": (("easy", "hard"), ("junk",)),
    "hard": (("hard",), ("junk", "easy")),
}


def setup_lists(truth: QueryTruth, setup: str) -> tuple[np.ndarray, np.ndarray]:
    """The positives and the junk of one query in `setup` ('easy', 'medium' or 'hard')."""
    ok, junk = SETUPS[setup]
    return (
        np.array([i for name in ok for i in getattr(truth, name)], dtype=np.int64),
        np.array([i for name in junk for i in getattr(truth, name)], dtype=np.int64),
    )


def positive_ranks(ranking: np.ndarray, positives: np.ndarray, junk: np.ndarray) -> np.ndarray:
    """0-based ranks of the positives in `ranking` (database positions, best first) once junk is removed."""
    at_positive = np.flatnonzero(np.isin(ranking, positives))
    at_junk = np.flatnonzero(np.isin(ranking, junk))
    return at_positive - np.searchsorted(at_junk, at_positive, side="left")


def average_precision(ranks: np.ndarray, n_positives: int) -> float:
    """AP as the trapezoid rule over recall steps of 1 / n_positives (see the module's formula)."""
    j = np.arange(len(ranks), dtype=np.float64)
    before = np.divide(j, ranks, out=np.ones(len(ranks)), where=ranks > 0)
    after = (j + 1) / (ranks + 1)
    return float(((before + after) / 2).sum() / n_positives)


def precision_at(ranks: np.ndarray, k: int) -> float:
    """P@k with k cut to the rank of the last positive found (see the module's formula); 0 when none is found."""
    if len(ranks) == 0:
        return 0.0
    cut = min(k, int(ranks.max()) + 1)
    return float((ranks + 1 <= cut).sum() / cut)


@dataclass(frozen=True)
class SetupFigures:
    """AP and P@k per query of one setup (NaN where the query has no positive), and their means."""

    setup: str
    ap: np.ndarray
    precision: dict[int, np.ndarray]
    standard: HitFigures | None = None  # trec_eval's AP and P@k of the rankings with junk removed

    @property
    def queries(self) -> int:
        """Queries with at least one positive: those the means are over."""
        return int((~np.isnan(self.ap)).sum())

    @property
    def mean_ap(self) -> float:
        return _mean(self.ap)

    def mean_precision(self, k: int) -> float:
        return _mean(self.precision[k])

    def to_json(self) -> dict:
        return {
            "map": json_number(self.mean_ap),
            "mp_at": {str(k): json_number(self.mean_precision(k)) for k in self.precision},
            "queries": self.queries,
            "queries_without_positives": len(self.ap) - self.queries,
            "ap_per_query": [json_number(ap) for ap in self.ap.tolist()],
            "trec_eval": None if self.standard is None else self._standard_json(),
        }

    def _standard_json(self) -> dict:
        """trec_eval's map and P@k over the queries with a positive, junk removed (what `eval --trec`'s files give)."""
        with_positive = ~np.isnan(self.ap)
        return {
            "map": json_number(_mean(self.standard.ap[with_positive])),
            "p_at": {str(k): json_number(_mean(p[with_positive])) for k, p in self.standard.precision.items()},
            "definition": "non-interpolated AP and P@k = hits in the first k / k, junk removed (trec_eval, ranx)",
        }


def evaluate_setup(order: np.ndarray, truths: list[QueryTruth], setup: str, *, kappas=KAPPAS) -> SetupFigures:
    """The figures of rankings `order` (queries x database, positions best first) in one setup."""
    ap = np.full(len(truths), np.nan)
    precision = {k: np.full(len(truths), np.nan) for k in kappas}
    rows, hit_ranks, n_ok = [], [], np.zeros(len(truths), dtype=np.int64)
    for q, truth in enumerate(truths):
        positives, junk = setup_lists(truth, setup)
        if len(positives) == 0:
            continue
        ranks = positive_ranks(order[q], positives, junk)
        ap[q] = average_precision(ranks, len(positives))
        for k in kappas:
            precision[k][q] = precision_at(ranks, k)
        rows.append(np.full(len(ranks), q))
        hit_ranks.append(np.sort(ranks) + 1)
        n_ok[q] = len(positives)
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    rank = np.concatenate(hit_ranks) if hit_ranks else np.empty(0, np.int64)
    hits = Hits(len(truths), order.shape[1], row.astype(np.int64), rank.astype(np.int64))
    standard = hit_figures(hits, n_ok, n_ok, ranks=tuple(kappas), levels=0)
    return SetupFigures(setup, ap, precision, standard)


def evaluate_revisited(order: np.ndarray, truths: list[QueryTruth], kappas=KAPPAS) -> dict[str, SetupFigures]:
    """Easy, Medium and Hard figures of the same rankings."""
    return {setup: evaluate_setup(order, truths, setup, kappas=kappas) for setup in SETUPS}


def _mean(values: np.ndarray) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if len(kept) else float("nan")
