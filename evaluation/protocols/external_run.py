"""A run made by another system (a TREC run file, `eval --run FILE`) scored against a collection's ground truth.

The ground truth is the leave-one-out one the collection's own records
measure: every other point sharing one of the query's labels is relevant, R
counts them all. Each query's ranking is taken as trec_eval orders the file
(`evaluation.formats.trec_run.read_run`); a ranking that holds its own query
has it removed first, since leave-one-out never ranks a point against itself.
A relevant point the run does not list is a miss (AP divides by R, as
trec_eval does). The figures come from the same `FigureSums` as the
collection's own, so the record is one more row of the same table: its own
kind (`Variant.kind` 'run', named by the run's tag), compared with the
collection's full rows by point id.
"""

from __future__ import annotations

import time

import numpy as np

from errors import EvaluationError
from evaluation.formats.trec_run import TrecRun
from evaluation.metrics.named_metrics import NamedMetric
from evaluation.metrics.per_query import FigureSums
from evaluation.metrics.relevance import label_sets, metric_labels, shown_labels
from evaluation.protocols.leave_one_out import GALLERY_HITS, Evaluation
from store import VectorStore

NAMED = 3  # unknown ids a refusal names


def score_run(
    store: VectorStore, collection: str, run: TrecRun, *, metrics: tuple[NamedMetric, ...] = ()
) -> Evaluation:
    """The figures of `run` on `collection`'s queries and ground truth, as an `Evaluation` of the run's tag;
    a run naming a query or document the collection lacks is refused in one line naming them; `metrics` (nDCG@k,
    MRR, recall@k) are measured too."""
    started = time.perf_counter()
    points = store.points(collection)
    position = {pid: p for p, pid in enumerate(points.ids)}
    refuse_unknown(run, collection, position)
    payloads = points.payloads
    sets = label_sets(payloads)
    labels = shown_labels(payloads, sets)
    queries = np.array(sorted(position[query] for query in run.rankings), dtype=np.int64)
    sums = FigureSums(metric_labels(labels, sets), None, queries, metrics=metrics)
    rows, ranks, top, top_scores = [], [], [], []
    for row, query in enumerate(queries.tolist()):
        kept = [(position[doc], score) for doc, score in _ranking(run, points.ids[query]) if position[doc] != query]
        ranked = np.array([p for p, _ in kept], dtype=np.int64)
        relevant = sums.relevant_to(np.array([query]))[0]
        hits = np.flatnonzero(relevant[ranked])
        rows.append(np.full(len(hits), row))
        ranks.append(hits + 1)
        top.append(ranked[:GALLERY_HITS])
        top_scores.append(np.array([score for _, score in kept[:GALLERY_HITS]], dtype=np.float32))
    sums.add_ranks(len(queries), np.concatenate(rows), np.concatenate(ranks))
    figures = sums.figures()
    measured_at = time.perf_counter()
    shown = min(len(hits) for hits in top)  # the galleries' hits: as many as the shortest ranking holds
    return Evaluation(
        collection=collection,
        dataset=payloads[0].dataset,
        encoder=payloads[0].encoder,
        location=store.location,
        method="run file",
        k=None,
        ids=points.ids,
        labels=labels,
        paths=points.paths,
        figures=figures,
        top=np.array([hits[:shown] for hits in top], dtype=np.int64).reshape(len(top), shown),
        top_scores=np.array([scores[:shown] for scores in top_scores]).reshape(len(top), shown),
        seconds_ranking=0.0,
        seconds_metrics=measured_at - started,
        provenance=store.provenance(collection),
        queries=queries if len(queries) < len(points.ids) else None,
        label_sets=sets,
        run_tag=run.tag,
    )


def _ranking(run: TrecRun, query: str) -> list[tuple[str, float]]:
    return list(zip(run.rankings[query], run.scores[query], strict=True))


def refuse_unknown(run: TrecRun, collection: str, position: dict[str, int] | set[str]) -> None:
    """One line naming the run's query and document ids that are not points of `collection` (`position`: its
    point ids), before anything is ranked or written."""
    queries = [query for query in run.rankings if query not in position]
    docs = sorted({doc for ranking in run.rankings.values() for doc in ranking if doc not in position})
    if not queries and not docs:
        return
    parts = [
        f"{len(found)} {what} id(s) not in collection '{collection}' ({', '.join(found[:NAMED])}"
        + (", ..." if len(found) > NAMED else "")
        + ")"
        for what, found in (("query", queries), ("document", docs))
        if found
    ]
    raise EvaluationError(
        f"run file '{run.file}' names {' and '.join(parts)}; ids are the collection's point ids "
        f"(`eval --trec DIR` lists each one's path in <collection>.docs)"
    )
