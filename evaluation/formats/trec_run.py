"""TREC run files (`qid Q0 docid rank score tag`, one line a ranked document): written and read.

trec_eval orders a query's documents by score, descending, and breaks ties by
document id, descending; ranx sorts by score alone and leaves ties in no
promised order. A run written here is therefore never tied: its scores are
the ranking's own (cosine) scores, and where two are equal the later one is
stepped down by the least a float64 can step (`strictly_decreasing`), printed
with every digit it needs (`repr`), so that both tools read the rank column's
order back from the scores. A run read here is ordered as trec_eval orders it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from errors import EvaluationError
from media.files import write_text_atomic

COLUMNS = 6


@dataclass(frozen=True)
class RunRows:
    """The rankings a run file holds: per query (its id) the document ids best first and their scores."""

    query_ids: list[str]
    doc_ids: list[list[str]]
    scores: np.ndarray  # (queries, depth) non-increasing per row; rows shorter than depth end in NaN


def strictly_decreasing(scores: np.ndarray) -> np.ndarray:
    """`scores` (rows non-increasing, float) as float64 rows where each value is below the one before it: a
    tie is stepped down by one float64 ulp at a time, far below any difference of float32 cosines, so the
    order is the same and no two scores of a row are equal."""
    stepped = np.array(scores, dtype=np.float64, copy=True)
    for column in range(1, stepped.shape[1] if stepped.ndim == 2 else 0):
        stepped[:, column] = np.minimum(stepped[:, column], np.nextafter(stepped[:, column - 1], -np.inf))
    return stepped


def run_lines(rows: RunRows, tag: str) -> Iterable[str]:
    """The lines of `rows` as a TREC run tagged `tag`: ranks from 1 in the rows' order, scores strictly
    decreasing (see the module)."""
    scores = strictly_decreasing(rows.scores)
    for q, (query, docs) in enumerate(zip(rows.query_ids, rows.doc_ids, strict=True)):
        for rank, doc in enumerate(docs, start=1):
            yield f"{query} Q0 {doc} {rank} {float(scores[q, rank - 1])!r} {tag}"


def write_run(path: Path, rows: RunRows, *, tag: str) -> Path:
    """`rows` into `path` as a TREC run tagged `tag`, written aside and renamed."""
    write_text_atomic(path, "".join(line + "\n" for line in run_lines(rows, tag)))
    return path


@dataclass(frozen=True)
class TrecRun:
    """A run read from a file: its tag and each query's document ids in the order trec_eval ranks them, with
    their scores."""

    tag: str
    rankings: dict[str, list[str]]
    file: Path
    scores: dict[str, list[float]]


def read_run(path: Path) -> TrecRun:
    """The run in `path`; a line that is not `qid Q0 docid rank score tag`, a score that is not a finite number,
    a document twice in one query or a second tag is one line naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationError(f"cannot read run file '{path}': {getattr(error, 'strerror', None) or error}") from None
    found: dict[str, dict[str, float]] = {}
    tag = None
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"run file '{path}', line {number}"
        if len(fields) != COLUMNS:
            raise EvaluationError(f"{where}: {len(fields)} columns, a TREC run has 6 (qid Q0 docid rank score tag)")
        query, _, doc, _, score_text, line_tag = fields
        try:
            score = float(score_text)
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise EvaluationError(f"{where}: score '{score_text}' is not a finite number")
        if tag is not None and line_tag != tag:
            raise EvaluationError(f"{where}: tag '{line_tag}' after '{tag}'; a run file holds one run, split it")
        tag = line_tag
        docs = found.setdefault(query, {})
        if doc in docs:
            raise EvaluationError(f"{where}: document '{doc}' twice for query '{query}'")
        docs[doc] = score
    if tag is None:
        raise EvaluationError(f"run file '{path}' holds no ranked document")
    ordered = {
        query: sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True) for query, docs in found.items()
    }
    rankings = {query: [doc for doc, _ in docs] for query, docs in ordered.items()}
    return TrecRun(tag, rankings, path, {query: [score for _, score in docs] for query, docs in ordered.items()})
