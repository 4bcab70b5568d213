"""Leave-one-out over fused encoders: collections of one dataset, matched by point id, ranked together.

Point ids are the UUIDv5 of dataset and path, so the same image has the same
id in every encoder's collection. The points every member holds are taken in
the first member's dataset order; each member's vectors are read once, and
queries are scored in blocks (one matrix product per member and block, the
block's rows sized by `evaluation.ranking.block_rows`, so memory grows with
block x n x members, never n x n). Each block is fused (`evaluation.fusion`),
ranked (ties by dataset position), measured by `evaluation.metrics.FigureSums`
and dropped. The outcome is an `Evaluation` (so galleries, AP per class and
paired comparisons are the leave-one-out ones), wrapped with its members, its
fusion, and the paired comparison against each member.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from errors import EvaluationError
from evaluation.compare import aligned_ap
from evaluation.fusion import FUSIONS, RRF_K, fuse, fused_order
from evaluation.labels import label_sets, metric_labels, shown_labels
from evaluation.metrics import FigureSums
from evaluation.ranking import block_rows
from evaluation.runner import GALLERY_HITS, Evaluation
from evaluation.statistics import PairedDifference, paired_difference
from store import VectorStore

KIND = "fused"


@dataclass(frozen=True)
class Fusion:
    """How the members' rankings are fused: `method` 'rrf' (constant `k`) or 'sum' (min-max normalised)."""

    method: str
    k: int = RRF_K

    def __post_init__(self) -> None:
        if self.method not in FUSIONS:
            raise ValueError(f"unknown fusion '{self.method}'; choose one of {FUSIONS}")

    def to_json(self) -> dict:
        if self.method == "rrf":
            return {"method": "rrf", "k": self.k, "score": "sum over members of 1 / (k + rank), rank 1-based"}
        return {"method": "sum", "score": "sum over members of the cosine min-max normalised per query"}


@dataclass
class FusedEvaluation:
    """The leave-one-out figures of fused members, and each member's paired comparison with them."""

    members: list[str]
    fusion: Fusion
    evaluation: Evaluation
    random_weights: bool
    dropped: int  # points not held by every member, left out
    image_root: str | None = None  # the folder the first member recorded (the members hold the same images)
    against: dict[str, PairedDifference] = field(default_factory=dict)  # fused minus member, per member

    @property
    def name(self) -> str:
        return self.evaluation.collection

    @property
    def title(self) -> str:
        return f"{self.name} (random weights)" if self.random_weights else self.name

    @property
    def folder(self) -> str:
        return f"fused-{self.fusion.method}_{'+'.join(self.members)}"

    def compare(self, members: list[Evaluation]) -> None:
        """The paired difference fused - member on the same queries (matched by id), for each member given."""
        for member in members:
            if member.collection in self.members and member.k == self.evaluation.k and member.stage is None:
                ap = aligned_ap(member, self.evaluation.query_ids)
                self.against[member.collection] = paired_difference(self.evaluation.figures.ap, ap)

    def to_json(self) -> dict:
        record = self.evaluation.to_json()
        record.update(
            {
                "kind": KIND,
                "collection": self.name,
                "source_collection": None,
                "source_collections": self.members,
                "members": self.members,
                "fusion": self.fusion.to_json(),
                "random_weights": self.random_weights,
                "weights": "random weights (a member)" if self.random_weights else "the members'",
                "points_not_in_every_member": self.dropped,
                "against_members": {name: d.to_json() for name, d in self.against.items()},
                "comparison": None,
                "study": None,
            }
        )
        return record


def fused_name(members: list[str], fusion: Fusion) -> str:
    """The row's name: 'corel1k_colorhist+corel1k_clip rrf'."""
    return f"{'+'.join(members)} {fusion.method}"


def evaluate_fused(
    store: VectorStore,
    members: list[str],
    fusion: Fusion,
    k: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FusedEvaluation:
    """Rank every point against the others by the fused rankings of `members` and measure the rankings."""
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
        fused = fuse([v[chosen] @ v.T for v in vectors], fusion.method, chosen, fusion.k)
        order, scores = fused_order(fused, width)
        del fused
        sums.add(order)
        tops.append(order[:, :GALLERY_HITS].copy())
        top_scores.append(scores[:, :GALLERY_HITS].astype(np.float32))
        report(int(chosen[-1]) + 1, n)
    ranked = time.perf_counter()
    provenances = [store.provenance(name) for name in members]
    evaluation = Evaluation(
        collection=fused_name(members, fusion),
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
