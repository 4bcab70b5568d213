"""The metrics asked by name beside mAP, P@k and R-precision: nDCG@k, MRR and recall@k (`eval --metric ndcg@10`).

Each is a per-query figure computed from where the relevant hits rank (the
counts, discounted gains and first hit `per_query.hit_figures` gathers in its
one compiled pass), with binary relevance (a hit shares a label with the
query), as trec_eval and ranx define them:

- recall@k = (relevant hits in the first k) / R;
- nDCG@k = DCG@k / IDCG@k, DCG@k = sum over relevant ranks r <= k of
  1 / log2(r + 1), IDCG@k = sum for i = 1..min(R, k) of 1 / log2(i + 1) (the
  gains of the ideal ranking, every relevant point first);
- MRR (reciprocal rank, its mean over queries) = 1 / (rank of the first
  relevant hit), 0 when none is ranked; `mrr@k` looks at the first k only.

A query with R = 0 has none of them (NaN, left out of the means as its AP is);
a figure at k past the rankings' width (a ranking cut shorter than k) is NaN
too, as P@k is: what lies past their end is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from evaluation.metrics.per_query import HitFigures

NAME = re.compile(r"(?P<measure>[a-z]+)(?:@(?P<k>[1-9][0-9]*))?")


class Measure(StrEnum):
    """The metrics `--metric` names (the value is the name before '@k')."""

    NDCG = "ndcg"
    MRR = "mrr"
    RECALL = "recall"


@dataclass(frozen=True)
class NamedMetric:
    """One metric asked by name: `measure` at cut-off `k` (None: MRR over the whole ranking)."""

    measure: Measure
    k: int | None = None

    @property
    def name(self) -> str:
        """The name the record stores it under and the table heads: 'ndcg@10', 'mrr', 'recall@100'."""
        return self.measure.value if self.k is None else f"{self.measure.value}@{self.k}"

    @classmethod
    def parse(cls, text: str) -> NamedMetric:
        """'ndcg@10', 'recall@100', 'mrr' or 'mrr@10' (case ignored); anything else is one line naming the choices."""
        match = NAME.fullmatch(text.strip().lower())
        measures = {measure.value for measure in Measure}
        if match is None or match["measure"] not in measures:
            raise ValueError(f"unknown metric '{text}'; choose ndcg@K, recall@K or mrr (mrr@K), e.g. ndcg@10")
        measure = Measure(match["measure"])
        k = None if match["k"] is None else int(match["k"])
        if k is None and measure is not Measure.MRR:
            raise ValueError(f"metric '{text}' needs its cut-off: {measure.value}@K, e.g. {measure.value}@10")
        return cls(measure, k)


def named_figure(metric: NamedMetric, figures: HitFigures, n_relevant: np.ndarray) -> np.ndarray:
    """`metric` per query from `figures` (whose `ranks` hold `metric.k`) and R per query (see the module's
    formulas); NaN where R = 0 or k is past the rankings' width."""
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    known = n_relevant > 0
    if metric.measure is Measure.MRR:
        first = figures.first_hit.astype(np.float64)
        within = (first > 0) & (first <= (metric.k or np.inf))
        values = np.where(within, 1.0 / np.maximum(first, 1), 0.0)
        return np.where(known, values, np.nan)
    if metric.k > figures.width:
        return np.full(len(n_relevant), np.nan)
    column = figures.ranks.index(metric.k)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric.measure is Measure.RECALL:
            values = figures.counts[:, column] / n_relevant
        else:
            ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, metric.k + 2)))])
            values = figures.dcg[:, column] / ideal[np.minimum(n_relevant, metric.k).astype(np.int64)]
    return np.where(known, values, np.nan)
