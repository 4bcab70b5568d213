"""The evaluations `eval` runs beside leave-one-out when asked: text-to-image, and fused encoders.

`EvalOptions.beside` (a `BesideOptions`) says which (`eval --text-queries
--template`, `eval --fuse A,B --fusion`); `evaluate_beside` runs them after the
collections' leave-one-out figures and writes each as a record of its own kind
(`evaluation.records.run_records`: reports/<collection>/runs/text-to-image.json,
reports/<A>+<B>/runs/fused-rrf-k60.json) with its figures beside, through the
`write` it is handed (`evaluation.report.beside_files.write_beside`), so this
subpackage never imports the report's. Their comparison with the members is
computed from the records, when a table is drawn (`evaluation.metrics.comparisons`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path

from errors import EvaluationError
from evaluation.options import EvalOptions
from evaluation.protocols.fused_encoders import FusedEvaluation, Fusion, evaluate_fused
from evaluation.protocols.text_to_image import TextEvaluation, evaluate_text_queries
from evaluation.query_encoders import QueryEncoders
from store import VectorStore

Write = Callable[[TextEvaluation | FusedEvaluation], list[Path]]  # an evaluation -> its record first, then figures


@dataclass
class BesideRun:
    """The records `evaluate_beside` wrote, every file, and what it skipped (with why)."""

    records: list[Path] = field(default_factory=list)
    files: list[list[Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def evaluate_beside(
    store: VectorStore,
    names: list[str],
    *,
    options: EvalOptions,
    progress: Callable[[str], AbstractContextManager],
    write: Write,
) -> BesideRun:
    """Text-to-image over `names` that have a text tower, then each fusion; each written by `write` as soon as
    it is measured (its record and figures)."""
    beside = options.beside
    run = BesideRun()
    if beside is None:
        return run
    if beside.text_queries:
        capable = text_collections(store, names, options.encoders)
        for name in sorted(set(names) - set(capable)):
            run.notes.append(f"{name}: its encoder has no text tower; no text->image figures")
        for name in capable:
            with progress(f"eval {name} text->image") as advance:
                text = evaluate_text_queries(
                    store, name, templates=list(beside.templates), k=options.k, encoders=options.encoders
                )
                advance(1, 1)
            _written(run, write(text))
    request = replace(options.ranking(), exclude_duplicates=False)  # --exclude-duplicates is leave-one-out's
    for members in beside.fuse:
        for method in beside.fusions:
            fusion = Fusion(method, beside.rrf_k)
            with progress(f"eval fused {'+'.join(members)} ({method})") as advance:
                fused = evaluate_fused(store, list(members), fusion, request=request, progress=advance)
            _written(run, write(fused))
    return run


def text_collections(store: VectorStore, names: list[str], encoders: QueryEncoders) -> list[str]:
    """The collections among `names` whose encoder has a text tower (as `encoders` knows them); an error when
    none has (asked before any evaluation runs)."""
    capable = [name for name in names if encoders.has_text(store.info(name).encoder)]
    if not capable:
        raise EvaluationError(f"none of {', '.join(names)} has a text tower (clip, siglip); --text-queries needs one")
    return capable


def _written(run: BesideRun, files: list[Path]) -> None:
    run.records.append(files[0])
    run.files.append(files)
