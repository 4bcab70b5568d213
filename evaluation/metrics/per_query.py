"""Retrieval metrics as pure functions on arrays: rankings and labels in, numbers out.

Conventions shared by every function here:

- `relevant` is a boolean matrix (queries x ranks): `relevant[q, i]` says whether
  the hit at rank i+1 of query q has the query's label. The query itself is
  never in its own ranking.
- Labels are one per point (an array of labels), or several (a boolean
  membership matrix, points x classes): relevance is `metrics.relevance`'s
  (a shared class, on membership packed 64 classes to a word).
- `n_relevant[q]` (R) is the number of *other* points relevant to query q.
- A query with R = 0 (its class has no other member) has no AP: its figures
  are NaN, and the means skip and count it.

No I/O, no store, no plotting: the definitions are in docs/design.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from evaluation.metrics.named_metrics import NamedMetric, named_figure
from evaluation.metrics.relevance import membership, other_members, pack_membership, shares_label
from evaluation.ranking.threads import THREADS, in_parts

PR_LEVELS = 101
PRECISION_RANKS = (1, 5, 10)
BLOCK_ROWS = 1024  # rankings measured at once by `evaluate_rankings`
PARALLEL_HITS = 1 << 16  # hits from which `hit_figures` shares the queries among THREADS threads


def metric_name(k: int | None) -> str:
    """What a table calls the mean of the APs: 'mAP' for full rankings, 'mAP@k' for rankings cut at k."""
    return "mAP" if k is None else f"mAP@{k}"


@dataclass(frozen=True)
class Hits:
    """The relevant hits of a block of rankings, query by query in rank order.

    The metrics below need only where the hits are, which is far less than the
    whole relevance matrix: hit h is a relevant point of query `row[h]`, found
    at rank `rank[h]` (1-based); rows in order, ranks increasing within a row.
    Ranks past `width` (a ranking cut at k) are not counted.
    """

    queries: int
    width: int
    row: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, relevant: np.ndarray | Hits) -> Hits:
        if isinstance(relevant, Hits):
            return relevant
        row, col = np.divmod(np.flatnonzero(relevant), relevant.shape[1])  # 2-D nonzero: 10x slower
        return cls(len(relevant), relevant.shape[1], row, col + 1)


@dataclass(frozen=True)
class HitFigures:
    """The per-query figures of a block of rankings (NaN where a figure is not defined).

    `ap`: (1/D) x sum over relevant ranks k of precision@k, with precision@k =
    (relevant hits in the first k) / k and D chosen by the caller (R for the
    full ranking, min(R, k) for AP@k). `precision[k]`: P@k, NaN for every
    query when the rankings are shorter than k (what lies past their end is
    unknown, so counting it as a miss would understate P@k). `r_precision`:
    hits in the first R over R, NaN where R = 0 or R is past the rankings'
    width. `curves` (queries x levels): interpolated precision at recall t =
    i / (levels - 1), p_interp(t) = max precision@k over ranks k with recall@k
    >= t. The maximum is reached at a relevant rank, and recall >= t first
    holds at the m-th relevant hit, m = ceil(t x R), so p_interp(t) = max over
    j >= max(m, 1) of j / rank_j; levels a cut ranking never reaches get 0;
    rows with R = 0 are NaN. `counts` (queries x len(ranks)): relevant hits
    in the first k of each k of `ranks`; `dcg` (the same shape): sum over
    relevant ranks r <= k of 1 / log2(r + 1); `first_hit`: the rank of the
    first relevant hit within the width, 0 where there is none (what nDCG@k,
    recall@k and MRR take, `named_figure`).
    """

    ap: np.ndarray
    precision: dict[int, np.ndarray]
    r_precision: np.ndarray
    curves: np.ndarray
    counts: np.ndarray
    dcg: np.ndarray
    first_hit: np.ndarray
    ranks: tuple[int, ...]
    width: int


def hit_figures(
    relevant: np.ndarray | Hits,
    denominators: np.ndarray,
    n_relevant: np.ndarray,
    *,
    ranks: tuple[int, ...] = PRECISION_RANKS,
    levels: int = PR_LEVELS,
) -> HitFigures:
    """Every figure of `HitFigures` from where the relevant hits are, in one compiled pass over them.

    `relevant`: a relevance matrix (queries x ranks) or `Hits`; `denominators`
    D of AP and `n_relevant` R per query; P@k for each k of `ranks`.
    """
    hits = Hits.of(relevant)
    queries = hits.queries
    ap, r_prec = np.empty(queries), np.empty(queries)
    counts = np.empty((queries, len(ranks)), dtype=np.int64)
    dcg = np.empty((queries, len(ranks)))
    first_hit = np.empty(queries, dtype=np.int64)
    curves = np.empty((queries, levels))
    row = np.ascontiguousarray(hits.row, dtype=np.int64)
    arguments = (
        np.ascontiguousarray(hits.rank, dtype=np.int64),
        np.asarray(denominators, dtype=np.int64).reshape(queries),
        np.asarray(n_relevant, dtype=np.int64).reshape(queries),
        np.asarray(ranks, dtype=np.int64),
        ap,
        counts,
        dcg,
        first_hit,
        r_prec,
        curves,
    )
    in_parts(
        queries,
        THREADS if len(row) >= PARALLEL_HITS else 1,
        lambda first, last: _measure_hits(hits.width, row, np.searchsorted(row, first), first, last, *arguments),
    )
    known = np.array([k <= hits.width for k in ranks])
    precision = np.where(known, counts / np.maximum(np.asarray(ranks, dtype=np.float64), 1), np.nan)
    return HitFigures(
        ap,
        {k: precision[:, i] for i, k in enumerate(ranks)},
        r_prec,
        curves,
        counts=counts,
        dcg=dcg,
        first_hit=first_hit,
        ranks=tuple(ranks),
        width=hits.width,
    )


@numba.njit(nogil=True, cache=True)
def _measure_hits(  # noqa: PLR0913, PLR0917 - a numba kernel: compiled code takes no keyword-only parameters or records
    width: int,
    row: np.ndarray,
    h: int,
    first: int,
    last: int,
    rank: np.ndarray,
    denominators: np.ndarray,
    n_relevant: np.ndarray,
    ranks: np.ndarray,
    ap: np.ndarray,
    counts: np.ndarray,
    dcg: np.ndarray,
    first_hit: np.ndarray,
    r_prec: np.ndarray,
    curves: np.ndarray,
) -> None:
    """`hit_figures` for queries first..last-1, whose hits start at `h`: each query's hits once, then its levels."""
    levels = curves.shape[1]
    found_at = np.empty(len(rank) + 1)  # precision at the j-th hit of the query at hand, then the best from j on
    within = np.empty(len(ranks), np.int64)  # hits of the query at hand within each of `ranks`
    deepest = ranks.max() if len(ranks) else 0
    for q in range(first, last):
        total = 0.0
        within[:] = 0
        dcg[q, :] = 0.0
        first_hit[q] = 0
        known = n_relevant[q] if n_relevant[q] <= width else 0
        first_r = 0
        nth = 0
        while h < len(row) and row[h] == q:
            at = rank[h]
            h += 1
            if at > width:
                continue
            nth += 1
            found_at[nth - 1] = nth / at
            total += nth / at
            if nth == 1:
                first_hit[q] = at
            if at <= deepest:  # past every cut-off a hit adds to no count and no gain
                gain = 1.0 / np.log2(at + 1.0)
                for i in range(len(ranks)):
                    if at <= ranks[i]:
                        within[i] += 1
                        dcg[q, i] += gain
            first_r += at <= known
        ap[q] = total / denominators[q] if denominators[q] > 0 else np.nan
        counts[q, :] = within
        r_prec[q] = first_r / known if known > 0 else np.nan
        if n_relevant[q] == 0:
            curves[q, :] = np.nan
            continue
        for j in range(nth - 2, -1, -1):
            found_at[j] = max(found_at[j], found_at[j + 1])
        for t in range(levels):
            m = max(1, (t * n_relevant[q] + levels - 2) // (levels - 1))  # ceil(t x R), at least the first hit
            curves[q, t] = found_at[m - 1] if m <= nth else 0.0


def average_precision(relevant: np.ndarray | Hits, denominators: np.ndarray) -> np.ndarray:
    """AP per query (see `HitFigures.ap`): NaN where D = 0."""
    return hit_figures(relevant, denominators, denominators, ranks=(), levels=0).ap


def precision_at(relevant: np.ndarray | Hits, k: int) -> np.ndarray:
    """P@k per query (see `HitFigures.precision`)."""
    queries = Hits.of(relevant).queries
    return hit_figures(relevant, np.zeros(queries), np.zeros(queries), ranks=(k,), levels=0).precision[k]


def r_precision(relevant: np.ndarray | Hits, n_relevant: np.ndarray) -> np.ndarray:
    """R-precision per query (see `HitFigures.r_precision`)."""
    return hit_figures(relevant, n_relevant, n_relevant, ranks=(), levels=0).r_precision


def interpolated_precision(relevant: np.ndarray | Hits, n_relevant: np.ndarray, levels: int = PR_LEVELS) -> np.ndarray:
    """Interpolated precision per query at recall levels t = i / (levels - 1) (see `HitFigures.curves`)."""
    return hit_figures(relevant, n_relevant, n_relevant, ranks=(), levels=levels).curves


@dataclass
class QueryFigures:
    """Every per-query figure of one leave-one-out run, plus the mean PR curve.

    Per-query arrays are NaN for queries whose class has no other member.
    `named`: the metrics asked by name (`named_metrics`: 'ndcg@10', 'mrr', ...) per query.
    """

    ap: np.ndarray
    precision: dict[int, np.ndarray]
    r_precision: np.ndarray
    pr_curve: np.ndarray
    n_relevant: np.ndarray
    named: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Queries left out of every mean: their class has no other member."""
        return int((self.n_relevant == 0).sum())

    @property
    def mean_ap(self) -> float:
        return _nanmean(self.ap)

    def mean_precision(self, k: int) -> float:
        return _nanmean(self.precision[k])

    @property
    def mean_r_precision(self) -> float:
        return _nanmean(self.r_precision)

    def mean_named(self) -> dict[str, float]:
        """The mean of each metric asked by name, under its name."""
        return {name: _nanmean(values) for name, values in self.named.items()}


def _nanmean(values: np.ndarray) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if len(kept) else float("nan")


class FigureSums:
    """The figures of rankings measured block by block, so that no caller holds every ranking at once.

    `queries` are the positions (into `labels`) of the queries whose rankings
    will be added, in that order (None: every point). R counts the other
    points of each query's label among all `labels`. With `k` the rankings are
    (at most) the top k and AP is AP@k with denominator min(R, k); without it
    they are full and the denominator is R. `metrics` are measured too, under their names (`QueryFigures.named`).
    """

    def __init__(
        self,
        labels: np.ndarray,
        k: int | None = None,
        queries: np.ndarray | None = None,
        *,
        metrics: tuple[NamedMetric, ...] = (),
    ) -> None:
        labels = np.asarray(labels)
        if labels.ndim == 2:  # a membership matrix (points x classes): relevant when sharing any class
            self._labels = pack_membership(labels)
        else:
            _, codes = np.unique(labels, return_inverse=True)
            self._labels = codes.ravel().astype(np.int32)  # small integer codes gather and compare fast
        self._queries = np.arange(len(self._labels)) if queries is None else np.asarray(queries, dtype=np.int64)
        self._width = max(0, len(self._labels) - 1) if k is None else max(0, min(k, len(self._labels) - 1))
        self._n_relevant = other_members(self._labels)[self._queries]
        self._denominators = np.minimum(self._n_relevant, k) if k is not None else self._n_relevant
        m = len(self._queries)
        self._ap = np.full(m, np.nan)
        self._r_precision = np.full(m, np.nan)
        self._precision = {rank: np.full(m, np.nan) for rank in PRECISION_RANKS}
        self._metrics = tuple(dict.fromkeys(metrics))
        self._ranks = tuple(sorted({*PRECISION_RANKS, *(metric.k for metric in self._metrics if metric.k)}))
        self._named = {metric.name: np.full(m, np.nan) for metric in self._metrics}
        self._curve_sum = np.zeros(PR_LEVELS)
        self._done = 0

    def relevant_to(self, positions: np.ndarray) -> np.ndarray:
        """relevant[i, j]: point j shares a label with point positions[i], which is itself excluded."""
        relevant = shares_label(self._labels, np.arange(len(self._labels))[None, :], positions)
        relevant[np.arange(len(positions)), positions] = False
        return relevant

    def add(self, order: np.ndarray, block: int = BLOCK_ROWS) -> None:
        """Measure the rankings of the next len(order) queries (rows of positions, best first)."""
        for first in range(0, len(order), block):
            part = order[first : first + block]
            self._measure(Hits.of(shares_label(self._labels, part, self._queries[self._done : self._done + len(part)])))

    def add_ranks(self, queries: int, row: np.ndarray, rank: np.ndarray) -> None:
        """Measure the next `queries` queries from the ranks of their relevant points in their full rankings.

        `row` (0..queries-1, in order) and `rank` (1-based, increasing within a
        row): what `evaluation.ranking.bins.rank_rows` gives. A ranking cut at k keeps
        the ranks up to k, as the top-k ranking would.
        """
        self._measure(Hits(queries, self._width, row, rank))

    def _measure(self, relevant: Hits) -> None:
        """Every figure of the next `relevant.queries` queries, from where their relevant hits are."""
        rows = slice(self._done, self._done + relevant.queries)
        n_relevant = self._n_relevant[rows]
        measured = hit_figures(relevant, self._denominators[rows], n_relevant, ranks=self._ranks)
        for metric in self._metrics:
            self._named[metric.name][rows] = named_figure(metric, measured, n_relevant)
        self._ap[rows] = measured.ap
        self._r_precision[rows] = measured.r_precision
        for rank in PRECISION_RANKS:
            self._precision[rank][rows] = np.where(n_relevant > 0, measured.precision[rank], np.nan)
        self._curve_sum += np.nansum(measured.curves, axis=0)
        self._done = rows.stop

    def figures(self) -> QueryFigures:
        """The figures of every query added (all of `queries` by now)."""
        if self._done != len(self._queries):
            raise ValueError(f"rankings of {self._done} of {len(self._queries)} queries were added")
        counted = int((self._n_relevant > 0).sum())
        pr_curve = self._curve_sum / counted if counted else np.full(PR_LEVELS, np.nan)
        return QueryFigures(self._ap, self._precision, self._r_precision, pr_curve, self._n_relevant, self._named)


def evaluate_rankings(
    order: np.ndarray,
    labels: np.ndarray,
    k: int | None = None,
    *,
    block: int = BLOCK_ROWS,
    metrics: tuple[NamedMetric, ...] = (),
) -> QueryFigures:
    """All figures of rankings `order` (queries x ranks, positions into `labels`).

    Row q of `order` is query q's ranking of the other points. With `k` the
    rankings are (at most) the top k and AP is AP@k with denominator min(R, k);
    without it they are full and the denominator is R. P@j for j past the
    rankings' width, and R-precision where R is past it, are NaN (not known).
    Rows are processed in blocks of `block` (see `FigureSums`). `labels` may be
    a boolean membership matrix (points x classes) for multi-label relevance;
    `metrics` are measured too (`QueryFigures.named`).
    """
    sums = FigureSums(labels, k, metrics=metrics)
    sums.add(order, block)
    return sums.figures()


def per_class_ap(ap: np.ndarray, labels: np.ndarray | list[tuple[str, ...]]) -> dict[str, float]:
    """Mean AP of each class's queries (NaN for a class whose queries all lack AP).

    `labels` holds one label per query, or a tuple of labels per query (multi-label):
    then a query counts in each of its classes.
    """
    if isinstance(labels, list) and labels and isinstance(labels[0], tuple):
        matrix, classes = membership(labels)
        return {label: _nanmean(ap[matrix[:, c]]) for c, label in enumerate(classes)}
    labels = np.asarray(labels)
    return {str(label): _nanmean(ap[labels == label]) for label in np.unique(labels)}
