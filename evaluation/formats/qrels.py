"""TREC qrels files (`qid 0 docid rel`, one line a judged document): written and read.

Relevance is an integer: 1 for a relevant document; the documents a query
has no line for are not relevant, as trec_eval and ranx read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from errors import EvaluationError
from media.files import write_text_atomic

COLUMNS = 4


def write_qrels(path: Path, judgments: Iterable[tuple[str, str, int]]) -> Path:
    """(query id, document id, relevance) triples into `path` as TREC qrels, written aside and renamed."""
    write_text_atomic(path, "".join(f"{query} 0 {doc} {rel}\n" for query, doc, rel in judgments))
    return path


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {document id: relevance} from `path`; a line that is not `qid 0 docid rel` (rel an integer)
    is one line naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationError(f"cannot read qrels file '{path}': {getattr(error, 'strerror', None) or error}") from None
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != COLUMNS or not fields[3].lstrip("-").isdigit():
            raise EvaluationError(f"qrels file '{path}', line {number}: not `qid 0 docid rel` (rel an integer)")
        qrels.setdefault(fields[0], {})[fields[2]] = int(fields[3])
    return qrels
