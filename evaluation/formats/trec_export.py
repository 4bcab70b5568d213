"""`eval --trec DIR`: each leave-one-out record's run and its collection's ground truth as TREC files.

Into DIR go `<collection>.<variant slug>.run` (each query's ranking as the
record measured it, its top `depth`, ties in the record's order, tagged
`<collection>.<variant slug>`), `<collection>.qrels` (every point a query,
every other point sharing one of its labels relevant: leave-one-out, one
label or several) and `<collection>.docs` (each id's stored path, tab
separated). Query and document ids are the collection's point ids, so
`search --id` and the store's payloads map them back to images.

A Revisited Oxford/Paris collection gets one run and one qrels per setup
(`<collection>.easy.run`, `.medium.qrels`, ...): the protocol ignores junk
images, so each query's ranking is written with that setup's junk removed
(as revisitop measures it) and its positives judged 1; the queries are the
ground truth's query names, the documents the database's point ids, and only
queries with a positive in the setup are written (trec_eval and ranx score
the queries the qrels judge).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.formats.qrels import write_qrels
from evaluation.formats.trec_run import RunRows, write_run
from evaluation.metrics.revisitop import SETUPS, setup_lists
from evaluation.protocols.landmarks import LandmarkEvaluation
from evaluation.protocols.leave_one_out import Evaluation
from media.files import write_text_atomic
from media.folders import safe_name

DEPTH = 1000


@dataclass(frozen=True)
class TrecExport:
    """Where `eval --trec` writes and how deep each query's ranking goes (`--trec-depth`)."""

    folder: Path
    depth: int = DEPTH


def record_tag(collection: str, slug: str) -> str:
    """A record's run tag and file stem: '<collection>.<variant slug>' ('corel1k_colorhist.full')."""
    return f"{safe_name(collection)}.{slug}"


def leave_one_out_judgments(ids: list[str], label_sets: list[tuple[str, ...]]) -> Iterator[tuple[str, str, int]]:
    """(query, document, 1) for every point as a query and every other point sharing one of its labels, in
    dataset order: the ground truth the leave-one-out figures measure."""
    members: dict[str, list[int]] = {}
    for position, labels in enumerate(label_sets):
        for label in labels:
            members.setdefault(label, []).append(position)
    for query, labels in enumerate(label_sets):
        relevant = sorted({p for label in labels for p in members[label]} - {query})
        yield from ((ids[query], ids[p], 1) for p in relevant)


def write_trec(export: TrecExport, evaluation: Evaluation, *, with_truth: bool = True) -> list[Path]:
    """The run of `evaluation` (which kept its top `export.depth`, `Measured.run_depth`) and, with
    `with_truth`, its collection's qrels and id-to-path list; the paths written."""
    tag = record_tag(evaluation.collection, evaluation.variant.slug)
    positions = evaluation.ranked
    rows = RunRows(
        evaluation.query_ids, [[evaluation.ids[p] for p in row] for row in positions.tolist()], evaluation.ranked_scores
    )
    files = [write_run(export.folder / f"{tag}.run", rows, tag=tag)]
    if with_truth:
        name = safe_name(evaluation.collection)
        sets = evaluation.label_sets or [(label,) for label in evaluation.labels]
        files.append(write_qrels(export.folder / f"{name}.qrels", leave_one_out_judgments(evaluation.ids, sets)))
        docs = "".join(f"{pid}\t{path}\n" for pid, path in zip(evaluation.ids, evaluation.paths, strict=True))
        write_text_atomic(export.folder / f"{name}.docs", docs)
        files.append(export.folder / f"{name}.docs")
    return files


def write_landmark_trec(export: TrecExport, landmark: LandmarkEvaluation) -> list[Path]:
    """Per setup, the rankings with its junk removed as a run and its positives as qrels; the database's
    id-to-path list once; the paths written."""
    name = safe_name(landmark.collection)
    truth = landmark.truth
    files = []
    for setup in SETUPS:
        query_ids, doc_ids, scores, judgments = [], [], [], []
        for q, query in enumerate(truth.queries):
            positives, junk = setup_lists(query, setup)
            if len(positives) == 0:
                continue
            kept = ~np.isin(landmark.order[q], junk)
            ranked = landmark.order[q][kept][: export.depth]
            query_ids.append(query.name)
            doc_ids.append([landmark.database_ids[p] for p in ranked.tolist()])
            scores.append(landmark.scores[q][kept][: export.depth])
            judgments += [(query.name, landmark.database_ids[p], 1) for p in sorted(positives.tolist())]
        width = max((len(row) for row in scores), default=0)
        padded = np.full((len(scores), width), np.nan)
        for row, values in enumerate(scores):
            padded[row, : len(values)] = values
        tag = f"{name}.{setup}"
        files.append(write_run(export.folder / f"{tag}.run", RunRows(query_ids, doc_ids, padded), tag=tag))
        files.append(write_qrels(export.folder / f"{tag}.qrels", judgments))
    docs = "".join(f"{pid}\t{image}.jpg\n" for pid, image in zip(landmark.database_ids, truth.database, strict=True))
    write_text_atomic(export.folder / f"{name}.docs", docs)
    return [*files, export.folder / f"{name}.docs"]
