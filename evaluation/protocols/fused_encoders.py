"""Leave-one-out over fused encoders: collections of one dataset, matched by point id, ranked together.

Point ids are the UUIDv5 of dataset and path, so the same image has the same
id in every encoder's collection. The points every member holds are taken in
the first member's dataset order; each member's vectors are read once, and
queries are scored in blocks (one matrix product per member and block, the
block's rows sized by `evaluation.ranking.ranker.block_rows`, so memory grows with
block x n x members, never n x n). Each block is fused (`evaluation.ranking.fusion_rules`),
ranked (ties by dataset position), measured by `evaluation.metrics.per_query.FigureSums`
and dropped. The outcome is an `Evaluation` (so galleries, AP per class and
the AP of each query by point id are the leave-one-out ones) of the collection
named 'A+B', wrapped with its members and its fusion; its record is a variant
of kind fused (`Variant.fusion`), compared with each member's record by point
id when a table is drawn (`evaluation.metrics.comparisons.member_comparisons`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from errors import EvaluationError
from evaluation.metrics.per_query import FigureSums
from evaluation.metrics.relevance import label_sets, metric_labels, shown_labels
from evaluation.protocols.leave_one_out import GALLERY_HITS, Evaluation
from evaluation.ranking.fusion_rules import FUSIONS, RRF_K, fuse, fused_order
from evaluation.ranking.ranker import block_rows
from evaluation.ranking.request import Method, RankingRequest
from evaluation.records.variant import FUSED, Variant
from store import VectorStore
from store.provenance import random_marked


@dataclass(frozen=True)
class Fusion:
    """How the members' rankings are fused: `method` 'rrf' (constant `k`) or 'sum' (min-max normalised)."""

    method: str
    k: int = RRF_K

    def __post_init__(self) -> None:
        if self.method not in FUSIONS:
            raise ValueError(f"unknown fusion '{self.method}'; choose one of {FUSIONS}")

    @property
    def key(self) -> tuple[str, int | None]:
        """The rule as a variant names it (`Variant.fusion`): ('rrf', k) or ('sum', None)."""
        return (self.method, self.k if self.method == "rrf" else None)

    def to_json(self) -> dict:
        if self.method == "rrf":
            return {"method": "rrf", "k": self.k, "score": "sum over members of 1 / (k + rank), rank 1-based"}
        return {"method": "sum", "score": "sum over members of the cosine min-max normalised per query"}


@dataclass
class FusedEvaluation:
    """The leave-one-out figures of fused members."""

    members: list[str]
    fusion: Fusion
    evaluation: Evaluation
    random_weights: bool
    dropped: int  # points not held by every member, left out
    image_root: str | None = None  # the folder the first member recorded (the members hold the same images)

    @property
    def collection(self) -> str:
        """'corel1k_colorhist+corel1k_clip': the record's collection, its folder under reports/."""
        return self.evaluation.collection

    @property
    def variant(self) -> Variant:
        return Variant(k=self.evaluation.k, kind=FUSED, fusion=self.fusion.key)

    @property
    def name(self) -> str:
        """The row's name: 'corel1k_colorhist+corel1k_clip fused rrf (k=60)'."""
        return f"{self.collection} {self.variant.label}"

    @property
    def metric(self) -> str:
        """'mAP', or 'mAP@k' when the rankings were cut at k."""
        return self.evaluation.metric

    @property
    def title(self) -> str:
        return random_marked(self.name, self.random_weights)

    def to_json(self) -> dict:
        record = self.evaluation.to_json()
        record.update(
            {
                "collection": self.collection,
                "name": self.name,
                "members": self.members,
                "fusion": self.fusion.to_json(),
                "random_weights": self.random_weights,
                "weights": "random weights (a member)" if self.random_weights else "the members'",
                "points_not_in_every_member": self.dropped,
                "study": None,
            }
        )
        return record


def evaluate_fused(
    store: VectorStore,
    members: list[str],
    fusion: Fusion,
    *,
    request: RankingRequest | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FusedEvaluation:
    """Rank every point against the others by the fused rankings of `members` and measure the rankings.

    `request.k` cuts the fused rankings at k. The members' vectors are scored
    here, every point a query, unchanged: a request for the batch-query method,
    a re-ranking stage, a sample or duplicates excluded is refused in one line.
    """
    request = request or RankingRequest()
    problem = _refused(request)
    if problem is not None:
        raise ValueError(f"fused rankings {problem}")
    k = request.k
    started = time.perf_counter()
    if len(members) < 2 or len(set(members)) != len(members):
        raise EvaluationError(f"--fuse needs two or more different collections, got {', '.join(members)}")
    read = [store.points(name, with_vectors=True) for name in members]
    datasets = {name: points.payloads[0].dataset for name, points in zip(members, read, strict=True) if points.ids}
    if len(datasets) < len(members) or len(set(datasets.values())) != 1:
        shown = ", ".join(f"{name} ({datasets.get(name, 'empty')})" for name in members)
        raise EvaluationError(f"fused collections must hold the same dataset's points: {shown}")
    first = read[0]
    shared = set.intersection(*(set(points.ids) for points in read))
    keep = [i for i, pid in enumerate(first.ids) if pid in shared]
    if len(keep) < 2:
        raise EvaluationError(f"collections {', '.join(members)} share {len(keep)} point(s); fusion needs 2")
    ids = [first.ids[i] for i in keep]
    payloads = [first.payloads[i] for i in keep]
    vectors = []
    for points in read:
        row = {pid: i for i, pid in enumerate(points.ids)}
        vectors.append(points.vectors[[row[pid] for pid in ids]])
    sets = label_sets(payloads)
    labels = shown_labels(payloads, sets)
    n = len(ids)
    width = n - 1 if k is None else min(k, n - 1)
    sums = FigureSums(metric_labels(labels, sets), k)
    tops, top_scores = [], []
    rows = max(1, block_rows(n) // len(members))
    report = progress or (lambda done, total: None)
    for start in range(0, n, rows):
        chosen = np.arange(start, min(start + rows, n))
        fused = fuse([v[chosen] @ v.T for v in vectors], fusion.method, chosen, k=fusion.k)
        order, scores = fused_order(fused, width)
        del fused
        sums.add(order)
        tops.append(order[:, :GALLERY_HITS].copy())
        top_scores.append(scores[:, :GALLERY_HITS].astype(np.float32))
        report(int(chosen[-1]) + 1, n)
    ranked = time.perf_counter()
    provenances = [store.provenance(name) for name in members]
    evaluation = Evaluation(
        collection="+".join(members),
        dataset=payloads[0].dataset,
        encoder="+".join(p.encoder for p in (points.payloads[0] for points in read)),
        location=store.location,
        method=f"fused-{fusion.method}",
        k=k,
        ids=ids,
        labels=labels,
        paths=[p.path for p in payloads],
        figures=sums.figures(),
        top=np.concatenate(tops),
        top_scores=np.concatenate(top_scores),
        seconds_ranking=ranked - started,
        seconds_metrics=time.perf_counter() - ranked,
        label_sets=sets,
    )
    random = any(p is not None and p.random_weights for p in provenances)
    root = provenances[0].image_root if provenances[0] is not None else None
    return FusedEvaluation(list(members), fusion, evaluation, random, len(first.ids) - n, root)


def _refused(request: RankingRequest) -> str | None:
    """What of `request` a fused ranking cannot honour, as the end of a sentence; None when it honours all."""
    if request.method is Method.BATCH_QUERY:
        return "score the members' vectors here: use the block method"
    if request.stage is not None:
        return "are not re-ranked: leave out the stage"
    if request.sample is not None:
        return "rank every point of the fused collections: leave out the sample"
    if request.exclude_duplicates:
        return "keep every point: leave out duplicates excluded"
    return None
