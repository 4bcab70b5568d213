"""Leave-one-out evaluation of a stored collection: every point a query, itself excluded.

The rankings come from `evaluation.ranking.ranker.ranked_blocks` (exact cosine, ties
by dataset order; stored vectors scored in blocks where they are in this
process, the store's batch query on a server); labels come from the same scroll
of payloads. Each block of rankings is measured (`evaluation.metrics.per_query.FigureSums`)
and dropped, keeping only per-query figures and each query's first hits, so
memory grows with block x n, not n x n. `sample` ranks a seeded random share of
the points as queries, each against the whole collection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from errors import EvaluationError
from evaluation.metrics.named_metrics import NamedMetric
from evaluation.metrics.per_query import PR_LEVELS, PRECISION_RANKS, FigureSums, QueryFigures, metric_name, per_class_ap
from evaluation.metrics.relevance import label_sets, metric_labels, shown_labels
from evaluation.metrics.score_precision import ScorePrecision
from evaluation.metrics.statistics import Interval, bootstrap_interval
from evaluation.ranking.near_duplicates import THRESHOLD, Duplicates, duplicates_of, find_duplicates
from evaluation.ranking.ranker import BlockOutput, ranked_blocks
from evaluation.ranking.request import Method, RankingRequest, VectorStage
from evaluation.records.gallery_rows import GalleryRow, json_number
from evaluation.records.study import beside_study
from evaluation.records.variant import Sample, Variant
from media.files import identical_groups
from store import Hit, Points, Provenance, VectorStore
from store.close_pairs import pairs_in_rows
from store.provenance import random_marked

GALLERY_ROWS = 5
GALLERY_HITS = 5

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Measured:
    """What a leave-one-out keeps beside its fixed figures: the metrics asked by name (nDCG@k, MRR, recall@k)
    and how deep each query's ranking is kept for a run file (`eval --trec`: its top `run_depth`; 0: only
    the galleries' first hits)."""

    metrics: tuple[NamedMetric, ...] = ()
    run_depth: int = 0


@dataclass
class Evaluation:
    """The outcome of one leave-one-out run over a collection."""

    collection: str
    dataset: str
    encoder: str
    location: str
    method: str
    k: int | None
    ids: list[str]
    labels: list[str]
    paths: list[str]
    figures: QueryFigures
    top: np.ndarray  # (queries, <= GALLERY_HITS) positions of each query's first hits
    top_scores: np.ndarray
    seconds_ranking: float
    seconds_metrics: float
    provenance: Provenance | None = None
    identical: list[list[str]] = field(default_factory=list)  # paths of stored images with the same content
    stage: VectorStage | None = None  # the re-ranking these figures come from, if any
    duplicates: Duplicates | None = None  # where the vectors were in this process
    deduplicated: QueryFigures | None = None  # the figures with each duplicate group reduced to one point
    queries: np.ndarray | None = None  # positions of the queries the figures belong to (None: every point)
    sample: Sample | None = None  # how `queries` were drawn, when they are a sample
    label_sets: list[tuple[str, ...]] | None = None  # every point's labels, in a multi-label collection
    duplicates_excluded: bool = False  # the figures of the points each duplicate group keeps (see without_duplicates)
    ranked: np.ndarray | None = None  # (queries, <= run depth) positions of each query's top hits, for a run file
    ranked_scores: np.ndarray | None = None  # their scores
    run_tag: str | None = None  # the tag of the external run these figures score (`eval --run`), if any
    score_precision: ScorePrecision | None = None  # precision against cosine score, where the ranking tallied it

    @property
    def random_weights(self) -> bool:
        return self.provenance is not None and self.provenance.random_weights

    @property
    def variant(self) -> Variant:
        """What these figures measured: the full ranking, a cut at k, a sample, re-ranked, without duplicates."""
        return Variant.of(
            self.k, self.sample, self.stage, duplicates_excluded=self.duplicates_excluded, run_tag=self.run_tag
        )

    @property
    def name(self) -> str:
        """The row's name: the collection, followed by its variant unless full (`paris_dinov2 +dba+aqe (k=2, ...)`)."""
        variant = self.variant
        return self.collection if variant.is_full else f"{self.collection} {variant.label}"

    @property
    def title(self) -> str:
        """The row's name, marked when its vectors come from random weights (never a result)."""
        return random_marked(self.name, self.random_weights)

    @cached_property
    def interval(self) -> Interval:
        """The 95% bootstrap interval of the mAP over queries (`evaluation.metrics.statistics`)."""
        return bootstrap_interval(self.figures.ap)

    @property
    def metric(self) -> str:
        """'mAP' for full rankings, 'mAP@k' when the rankings were cut at k."""
        return metric_name(self.k)

    @property
    def mean_ap(self) -> float:
        return self.figures.mean_ap

    @property
    def query_positions(self) -> np.ndarray:
        """Position (dataset order) of each query, row by row of `figures` and `top`."""
        return np.arange(len(self.ids)) if self.queries is None else self.queries

    def _query_labels(self, positions: np.ndarray) -> list[tuple[str, ...]] | np.ndarray:
        """The labels of the queries at `positions`: their label sets in a multi-label collection."""
        if self.label_sets is not None:
            return [self.label_sets[p] for p in positions]
        return np.array(self.labels)[positions]

    @property
    def query_ids(self) -> list[str]:
        """The id of each query, in the order of `figures`."""
        return self.ids if self.queries is None else [self.ids[q] for q in self.queries.tolist()]

    def hit(self, position: int, score: float) -> Hit:
        """The point at `position` (dataset order) as a ranked hit with `score`."""
        labels = self.label_sets[position] if self.label_sets is not None else (self.labels[position],)
        return Hit(self.ids[position], position, float(score), self.labels[position], self.paths[position], labels)

    def _row(self, q: int) -> GalleryRow:
        hits = [self.hit(p, s) for p, s in zip(self.top[q].tolist(), self.top_scores[q], strict=True)]
        return GalleryRow(self.hit(int(self.query_positions[q]), self.figures.ap[q]), hits)

    def best(self, count: int = GALLERY_ROWS) -> list[GalleryRow]:
        """The `count` queries with the highest AP (ties by dataset order)."""
        return [self._row(q) for q in self._ranked_queries(descending=True)[:count]]

    def worst(self, count: int = GALLERY_ROWS) -> list[GalleryRow]:
        """The `count` queries with the lowest AP (ties by dataset order)."""
        return [self._row(q) for q in self._ranked_queries(descending=False)[:count]]

    def _ranked_queries(self, descending: bool) -> np.ndarray:
        with_ap = np.flatnonzero(~np.isnan(self.figures.ap))
        values = self.figures.ap[with_ap]
        return with_ap[np.argsort(-values if descending else values, kind="stable")]

    def to_json(self) -> dict:
        """Everything metrics.json holds; NaN (no AP) is written as null."""
        figures = self.figures
        positions = self.query_positions
        singles = sorted({self.labels[positions[q]] for q in np.flatnonzero(figures.n_relevant == 0)})
        return {
            "collection": self.collection,
            "name": self.name,
            "variant": self.variant.to_json(),
            "rerank": None if self.stage is None else self.stage.to_json(),
            "dataset": self.dataset,
            "encoder": self.encoder,
            "store": self.location,
            "provenance": self.provenance.to_json() if self.provenance else None,
            "random_weights": self.random_weights,
            "weights": self.provenance.weights_identity.describe() if self.provenance else "provenance unknown",
            "identical_images": self.identical,
            "method": self.method,
            "k": self.k,
            "metric": self.metric,
            "ap_denominator": "R" if self.k is None else "min(R, k)",
            "points": len(self.labels) - (self.duplicates.removed if self.duplicates_excluded else 0),
            "queries": len(positions),
            "sample": None if self.sample is None else self.sample.to_json(),
            "queries_evaluated": len(positions) - figures.skipped,
            "queries_skipped": figures.skipped,
            "labels_without_other_member": singles,
            "map": json_number(figures.mean_ap),
            "map_interval": self.interval.to_json(),
            "study": beside_study(
                self.encoder, self.dataset, json_number(figures.mean_ap), k=self.k, reranked=self.stage is not None
            ),
            "duplicates": self._duplicates_json(),
            "precision_at": {str(k): json_number(figures.mean_precision(k)) for k in PRECISION_RANKS},
            "r_precision": json_number(figures.mean_r_precision),
            "metrics": {name: json_number(value) for name, value in figures.mean_named().items()},
            "multi_label": self.label_sets is not None,
            "per_class_ap": {
                label: json_number(ap) for label, ap in per_class_ap(figures.ap, self._query_labels(positions)).items()
            },
            "score_precision": None if self.score_precision is None else self.score_precision.to_json(),
            "pr_curve": {
                "recall": [round(i / (PR_LEVELS - 1), 2) for i in range(PR_LEVELS)],
                "precision": [json_number(p) for p in figures.pr_curve],
            },
            "ap_per_query": {pid: json_number(ap) for pid, ap in zip(self.query_ids, figures.ap.tolist(), strict=True)},
            "best": [row.to_json() for row in self.best()],
            "worst": [row.to_json() for row in self.worst()],
            "seconds": {
                "ranking": round(self.seconds_ranking, 4),
                "metrics": round(self.seconds_metrics, 4),
                "total": round(self.seconds_ranking + self.seconds_metrics, 4),
            },
        }

    def without_duplicates(self) -> Evaluation | None:
        """The figures with each duplicate group reduced to one point, as an evaluation of their own (no
        galleries: those points were ranked among themselves for the figures only); None when not measured."""
        if self.deduplicated is None or self.duplicates is None:
            return None
        kept = np.flatnonzero(self.duplicates.keep)
        return replace(
            self,
            figures=self.deduplicated,
            top=np.empty((len(kept), 0), dtype=np.int64),
            top_scores=np.empty((len(kept), 0), dtype=np.float32),
            queries=kept,
            deduplicated=None,
            duplicates_excluded=True,
            ranked=None,
            ranked_scores=None,
            score_precision=None,
        )

    def _duplicates_json(self) -> dict | None:
        if self.duplicates is None:
            return None
        found = self.duplicates.to_json(self.paths)
        if self.deduplicated is not None:
            found["map_without_duplicates"] = json_number(self.deduplicated.mean_ap)
            found["interval_without_duplicates"] = bootstrap_interval(self.deduplicated.ap).to_json()
            found["queries_without_duplicates"] = len(self.deduplicated.ap)
        return found


def leave_one_out(
    store: VectorStore,
    collection: str,
    request: RankingRequest | None = None,
    *,
    progress: Progress | None = None,
    measured: Measured = Measured(),
) -> Evaluation:
    """Rank every point of `collection` against the others as `request` asks and measure the rankings.

    `request.k` cuts each ranking at the top k (AP@k); None keeps the full
    ranking; no request is the full ranking by the method the store suits.
    `progress(done, total)` is called as queries finish. The points are read
    and checked (at least 2, every payload with a label) before the ranking,
    so that a collection that cannot be evaluated fails before the costly part.
    Each block of rankings is measured and dropped; only the first
    GALLERY_HITS hits of each query are kept, for the galleries (`measured.run_depth` for a run). `request.stage`
    re-ranks through the vectors before the metrics (see
    `evaluation.ranking.request.VectorStage`). `request.sample` makes only its
    drawn points queries, each ranked against the whole collection.
    Pairs of points with cosine >= 0.995 are found wherever the vectors are read
    (the block path, or `request.exclude_duplicates`, which reads them on a
    server too); `exclude_duplicates` also measures the collection with each
    group of them reduced to its first point in dataset order, ranked again
    (with the stage). `measured` adds the metrics asked by name and keeps each
    query's top `run_depth` hits (`Evaluation.ranked`) for a run file.
    On the block path without a stage the same pass tallies every hit's cosine
    (`Evaluation.score_precision`: precision against score, every hit of the
    full rankings whatever the cut).
    """
    request = (request or RankingRequest()).resolved(store)
    block = request.method is Method.BLOCK
    started = time.perf_counter()
    provenance = store.provenance(collection)
    if provenance is not None and provenance.stale:
        raise EvaluationError(
            f"collection '{collection}' holds {provenance.stale} point(s) of images no longer listed in dataset "
            f"'{provenance.dataset}'; delete them with `python cli.py ingest -d {provenance.dataset} "
            f"-e {provenance.encoder} --prune`, then evaluate again"
        )
    points = store.points(collection, with_vectors=block or request.exclude_duplicates)
    total = len(points.ids)
    if total < 2:
        raise EvaluationError(f"collection '{collection}' has {total} point(s); leave-one-out needs at least 2")
    payloads = points.payloads
    unlabeled = [pid for pid, p in zip(points.ids, payloads, strict=True) if p.label is None]
    if unlabeled:
        raise EvaluationError(
            f"{len(unlabeled)} point(s) of '{collection}' have no 'label' in their payload "
            f"(first: {unlabeled[0]}); re-ingest it with `python cli.py ingest --recreate`"
        )
    report = progress or (lambda done, total: None)
    sets = label_sets(payloads)
    labels = shown_labels(payloads, sets)
    sample = request.sample
    queries = None if sample is None else sample.positions(total)
    asked = total if queries is None else len(queries)
    pairs: list[tuple] = []  # near-duplicate pairs, from the ranking's own scores where they are the stored vectors'
    same_scores = block and request.stage is None and queries is None
    output = BlockOutput(
        queries=queries,
        inspect=(lambda chosen, scores: pairs.append(pairs_in_rows(chosen, scores, THRESHOLD)))
        if same_scores
        else None,
        progress=lambda done: report(done, asked),
        tally=block and request.stage is None,
    )
    sums = FigureSums(metric_labels(labels, sets), request.k, queries, metrics=measured.metrics)
    depth = max(GALLERY_HITS, measured.run_depth)
    figures, top, top_scores, tally = _measure(
        store, collection, points, request=request, sums=sums, output=replace(output, keep_scores=depth, shown=depth)
    )
    ranked = time.perf_counter()
    duplicates = None
    if points.vectors is not None and sample is None:
        duplicates = duplicates_of(total, pairs) if same_scores else find_duplicates(points.vectors)
    deduplicated = None
    if request.exclude_duplicates and duplicates is not None:
        deduplicated = (
            figures
            if duplicates.removed == 0
            else _deduplicated(store, collection, points, request=request, duplicates=duplicates)
        )
    return Evaluation(
        collection=collection,
        dataset=payloads[0].dataset,
        encoder=payloads[0].encoder,
        location=store.location,
        method=request.method,
        k=request.k,
        ids=points.ids,
        labels=labels,
        paths=points.paths,
        figures=figures,
        top=top[:, :GALLERY_HITS],
        top_scores=top_scores[:, :GALLERY_HITS],
        ranked=top if measured.run_depth else None,
        ranked_scores=top_scores if measured.run_depth else None,
        seconds_ranking=ranked - started,
        seconds_metrics=time.perf_counter() - ranked,
        provenance=provenance,
        identical=identical_groups((p.path, p.sha256) for p in payloads),
        stage=request.stage,
        duplicates=duplicates,
        deduplicated=deduplicated,
        queries=queries,
        sample=sample,
        label_sets=sets,
        score_precision=None if tally is None else ScorePrecision.from_tally(tally),
    )


def _measure(
    store: VectorStore,
    collection: str,
    points: Points,
    *,
    request: RankingRequest,
    sums: FigureSums,
    output: BlockOutput,
) -> tuple[QueryFigures, np.ndarray, np.ndarray, np.ndarray | None]:
    """The figures of `output.queries` (None: every point), each one's first `output.shown` hits
    (positions, scores), and the blocks' score tally summed (`output.tally`; else None), ranked as `request`
    asks; `output` names the queries, how many hits each keeps and who inspects or counts the blocks.

    `sums` measures the rankings (its labels: one per point, or a membership matrix, multi-label).
    Each block of rankings is measured as it comes and then dropped; only the
    first hits of each ranking are ordered, and the figures come from
    where the relevant points rank (`RankedBlock.hit_rank`), on either method.
    """
    tops, top_scores, tally = [], [], None
    blocks = ranked_blocks(
        store, collection, points, request=request, output=replace(output, relevance=sums.relevant_to)
    )
    for block in blocks:
        sums.add_ranks(len(block.queries), block.hit_row, block.hit_rank)
        tops.append(block.order.copy())
        top_scores.append(block.scores)
        if block.tally is not None:
            tally = block.tally if tally is None else tally + block.tally
    return sums.figures(), np.concatenate(tops), np.concatenate(top_scores), tally


def _deduplicated(
    store: VectorStore, collection: str, points: Points, *, request: RankingRequest, duplicates: Duplicates
) -> QueryFigures:
    """The figures of the points each duplicate group keeps, ranked among themselves (the vectors are here)."""
    kept = np.flatnonzero(duplicates.keep)
    subset = Points([points.ids[i] for i in kept], [points.payloads[i] for i in kept], points.vectors[kept])
    sets = label_sets(subset.payloads)
    labels = metric_labels(shown_labels(subset.payloads, sets), sets)
    among = replace(request, method=Method.BLOCK, exclude_duplicates=False)
    output = BlockOutput(keep_scores=GALLERY_HITS, shown=GALLERY_HITS)
    return _measure(store, collection, subset, request=among, sums=FigureSums(labels, request.k), output=output)[0]
