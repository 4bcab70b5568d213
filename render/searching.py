"""What `search` and `collections` show: hits, paths for pipes, collections and their provenance."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from render.cells import CONTROL, figure, key, long, safe
from render.consoles import Base

if TYPE_CHECKING:
    from evaluation.metrics.score_precision import ScoreReading
    from search.query_records import SearchResult


class SearchViews(Base):
    """Search hits and collection listings."""

    def hits(
        self, result: SearchResult, reading: ScoreReading | None = None, *, reports: Path = Path("reports")
    ) -> None:
        """The hits of one search, best first, with what was asked; with `reading` (a `ScoreReading`), each
        score's precision as the collection's evaluation record measured it, and which record; `reports`: the
        folder whose records were read."""
        info, query = result.info, result.query
        asked = f"{query.kind} {query.value}"
        if result.source is not None:
            labels = ", ".join(result.source.label_set)
            asked += f" ({labels + ', ' if labels else ''}excluded from the hits)"
        title = f"{info.name} ({info.encoder}, {info.weights_text()}, {info.points} points): {asked}"
        if query.label is not None:
            title += f", only label {query.label} (any of a point's labels, case ignored)"
        title += "".join(_refinements(result))
        columns = [
            "rank",
            "score",
            *(["precision"] if reading is not None else []),
            *([long("label")] if info.labeled else []),
            long("path"),
        ]
        table = Table(
            *columns,
            title=safe(title),
            caption=(
                f"model load {result.load_seconds:.3f} s, encode {result.encode_seconds:.3f} s, "
                if result.query.kind in ("image", "text") or result.load_seconds or result.encode_seconds
                else "stored points: no model, "
            )
            + f"store {result.store_seconds:.3f} s",
        )
        for rank, hit in enumerate(result.hits, start=1):
            labels = [safe(", ".join(hit.label_set))] if info.labeled else []
            measured = [] if reading is None else [_precision(reading.precision[rank - 1])]
            table.add_row(str(rank), f"{hit.score:.4f}", *measured, *labels, safe(hit.path))
        self.out.print(table)
        if reading is not None:
            self.out.print(
                f"precision: of all hits scoring at least this on {safe(info.name)}, the share with the query's "
                f"label (leave-one-out; '-' below the table), from {safe(reading.record)}"
            )
        elif result.hits and result.unmeasured is not None:
            self.out.print(f"scores only, no precision: {result.unmeasured}")
        elif result.hits and info.labeled:  # eval measures labeled collections only
            self.out.print(
                f"scores only: no evaluation record of {safe(info.name)} in {safe(reports)} says what a score "
                "means (eval measures it)"
            )
        if not result.hits:
            cut = "" if query.min_score is None else f" scoring at least {query.min_score:g}"
            self.out.print("no hits" + (f" with label '{safe(query.label)}'" if query.label is not None else "") + cut)

    def fused_hits(self, result) -> None:
        """The hits of a fused search, best first, with the RRF score."""
        title = (
            f"{' + '.join(result.query.members)}: rrf (k {result.query.rank_constant}, depth {result.depth}) "
            f"of stored point {result.point_id}, excluded from the hits"
        )
        table = Table("rank", "rrf score", long("label"), long("path"), title=safe(title))
        for rank, hit in enumerate(result.hits, start=1):
            table.add_row(str(rank), f"{hit.score:.5f}", safe(", ".join(hit.label_set)), safe(hit.path))
        self.out.print(table)

    def paths(self, result, nul: bool = False) -> None:
        """The hits' files (absolute where the image folder is known): each ended by NUL and raw with `nul`
        (for `xargs -0`), else one per line, control characters escaped when `out` is a terminal (a file name
        cannot drive it)."""
        for file in result.hit_files():
            if nul:
                sys.stdout.write(f"{file}\0")
            else:
                print(file.translate(CONTROL) if self.out.is_terminal else file)
        sys.stdout.flush()

    def collections(self, infos: list, location: str) -> None:
        """Every collection with its size, vectors, dataset and encoder."""
        if not infos:
            self.out.print(f"no collections in {safe(location)}; create them with `python cli.py ingest`")
            return
        columns = [key("collection"), "points", "dim", "distance", long("dataset"), long("encoder"), long("weights")]
        rows = []
        for info in infos:
            weights = safe(info.weights_text())
            rows.append(
                [
                    safe(info.name),
                    "?"
                    if info.broken
                    else f"[yellow]{info.points} incomplete[/]"
                    if info.incomplete
                    else str(info.points),
                    str(info.dim),
                    info.distance,
                    safe(info.dataset),
                    safe(info.encoder),
                    "[red]broken[/]"
                    if info.broken
                    else f"[yellow]{weights}[/]"
                    if info.random_weights or info.provenance is None
                    else weights,
                ]
            )
        self.out.print(self.fitted(columns, rows, droppable=[3, 2], title=f"collections in {safe(location)}"))
        for info in infos:
            if info.busy:
                self.note(f"{safe(info.name)}: {safe(info.busy)}; its points are counted as of its last write")
            if info.incomplete:
                self.note(safe(info.incomplete))
            if info.broken:
                self.note(f"{safe(info.name)} is broken: {safe(info.broken)}")

    def collection(self, summary) -> None:
        """Class counts and sample payloads of one collection."""
        info = summary.info
        self.out.print(
            f"{safe(info.name)}: {info.points} points, {info.dim}-d {info.distance}, dataset "
            f"{safe(info.dataset)}, encoder {safe(info.encoder)}, in {safe(info.location)}"
        )
        if info.incomplete:
            self.out.print(f"[yellow]{safe(info.incomplete)}[/]")
        self._provenance(info)
        if not info.labeled:
            self.out.print("no labels: its images were read without labels (search works, eval needs labels)")
        classes = Table(long("label"), "points", title=f"{len(summary.classes)} classes")
        for label, count in summary.classes.items():
            classes.add_row(safe(label), str(count))
        if info.labeled:
            self.out.print(classes)
        for point, payload in summary.samples:
            self.out.print(f"{point}  {safe(json.dumps(payload.to_dict(), ensure_ascii=False))}")

    def _provenance(self, info) -> None:
        """Where a collection's vectors came from, one fact a line."""
        provenance = info.provenance
        if provenance is None:
            self.out.print("[yellow]provenance unknown[/] (written by an older release or another tool)")
            return
        facts = [
            ("weights", info.weights_text()),
            ("model", _model(info)),
            ("image root", provenance.image_root),
            ("preprocessing", provenance.preprocessing or "none"),
            ("precision", provenance.precision),
            ("created", provenance.created),
            ("updated", provenance.updated),
            ("versions", ", ".join(f"{name} {version}" for name, version in provenance.versions.items())),
        ]
        if provenance.stale:
            facts.append(("stale points", f"{provenance.stale} (images no longer listed; ingest --prune)"))
        for name, value in facts:
            self.out.print(f"  {name}: {safe(value)}")


def _refinements(result) -> list[str]:
    """What a query by examples, MMR or a score cut-off added, each part of the title."""
    query, parts = result.query, []
    if result.examples:
        stored = [example for example in result.examples if example.point_id is not None]
        if stored:
            parts.append(f" ({len(stored)} stored example{'s' * (len(stored) > 1)}, excluded from the hits)")
        if result.recommended:
            parts.append(f", scored by {query.examples.strategy} ({STRATEGY[query.examples.strategy]})")
    if query.diversity is not None:
        parts.append(f", re-ordered by MMR (diversity {query.diversity.diversity:g})")
    if query.min_score is not None:
        parts.append(f", hits scoring at least {query.min_score:g}")
    return parts


STRATEGY = {"best": "best match to a --like against the best to an --unlike", "sum": "sum of cosines"}


def _precision(value: float | None) -> str:
    """A hit's precision at its score; '-' below the lowest row of the table."""
    return "-" if value is None else figure(value)


def _model(info) -> str:
    """The model a collection's vectors came from; a random-weight one names the architecture, not the
    published weights it never loaded."""
    provenance = info.provenance
    if info.random_weights:
        return f"none loaded: {provenance.encoder}'s architecture with random weights (not {provenance.model_id})"
    return provenance.model_id
