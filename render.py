"""Everything the command line shows: progress bars, tables, messages and JSON.

A `Screen` draws on the consoles it is given (stdout and stderr by default);
it computes nothing. Text that comes from files or payloads goes through
`safe` first, so a label or path can neither inject rich markup nor send
terminal control codes.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127] if chr(c) not in "\t"}


def safe(text: object) -> str:
    """Text from files or payloads, made inert: no rich markup, no terminal control codes."""
    return escape(str(text).translate(_CONTROL))


def _total(files) -> str:
    """The published sizes added up, saying so where some are not published."""
    known = [file.size for file in files if file.size is not None]
    if not known:
        return "not published"
    return size(sum(known)) + (" + unpublished" if len(known) < len(files) else "")


def key(header: str) -> Column:
    """A column of names that identify rows (collections, encoders): never cut, never wrapped."""
    return Column(header, no_wrap=True)


def long(header: str) -> Column:
    """A column of long names or paths: wrapped where needed, never cut short."""
    return Column(header, overflow="fold")


def figure(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"


def size(count: int | None) -> str:
    """Bytes in the hub's decimal units: '88.2 MB', '1.22 GB'."""
    if count is None:
        return "unknown size"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def percent(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f}"


class Screen:
    """The command line's output: results on `out`, progress and notes on `err`."""

    def __init__(self, out: Console | None = None, err: Console | None = None) -> None:
        self.out = out or Console(highlight=False, soft_wrap=True)
        self.err = err or Console(stderr=True, highlight=False, soft_wrap=True)

    def fitted(self, columns: list, rows: list[list[str]], droppable: list[int] = (), **options) -> Table:
        """A table of `columns` (headers or Columns) and `rows` that fits the console: while it is too
        wide, the columns at `droppable` positions go, in that order (less important ones first)."""
        from rich.measure import Measurement

        kept = list(range(len(columns)))
        for drop in [None, *droppable]:
            if drop is not None:
                kept.remove(drop)
            table = Table(
                *(copy(columns[i]) if isinstance(columns[i], Column) else columns[i] for i in kept), **options
            )
            for row in rows:
                table.add_row(*(row[i] for i in kept))
            if Measurement.get(self.out, self.out.options.update_width(10_000), table).maximum <= self.out.width:
                break
        return table

    def json(self, value: Any) -> None:
        """The machine form of a result: records that know their JSON, or lists of them."""
        print(json.dumps(value, indent=2, ensure_ascii=False, default=lambda record: record.to_json()))

    def line(self, text: str) -> None:
        self.out.print(text)

    def note(self, text: str) -> None:
        """A warning or remark on stderr (already made safe by the caller where it holds file text)."""
        self.err.print(text)

    def error(self, text: str) -> None:
        self.err.print(f"error: {safe(text)}")

    @contextmanager
    def progress(self, title: str, unit: str = "items") -> Iterator:
        """A context giving `advance(done, total)` that drives a progress bar on stderr; with unit
        'bytes' the counts show as sizes and a transfer rate (total None: not known yet)."""
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        if unit == "bytes":
            counts = (DownloadColumn(), TransferSpeedColumn())
        else:
            counts = (MofNCompleteColumn(), TextColumn("{task.fields[rate]}"))
        columns = (TextColumn("{task.description}"), BarColumn(), *counts, TimeRemainingColumn())
        with Progress(*columns, console=self.err, transient=False) as bar:
            task = bar.add_task(escape(title), total=None, rate="")

            def advance(done: int, total: int) -> None:
                elapsed = bar.tasks[task].elapsed or 0
                bar.update(task, completed=done, total=total, rate=f"{done / elapsed:.1f}/s" if elapsed else "")

            yield advance

    def encoders(self, rows: list) -> None:
        """Each encoder's facts and whether its weights are present: rows of (spec, present)."""
        columns = [key("name"), long("model"), "dim", "text", "source", "licence", "preprocessing", "weights"]
        table_rows = [
            [
                spec.name,
                spec.model_id,
                str(spec.dim),
                "yes" if spec.text else "-",
                spec.source,
                spec.license,
                spec.preprocess.describe() if spec.preprocess else "none (full image)",
                "[green]present[/]" if present else "[yellow]missing[/]",
            ]
            for spec, present in rows
        ]
        self.out.print(self.fitted(columns, table_rows, droppable=[6, 5, 4]))

    def skipped_encoders(self, skipped: list[tuple[str, str]]) -> None:
        """Encoders left out of a run for want of weights, each with the reason (on stderr)."""
        for name, reason in skipped:
            self.err.print(f"[yellow]skipping {safe(name)}[/]: {safe(reason)}")

    def weights_checks(self, checks: list) -> None:
        """Each encoder's weights: cached or missing, which they are, their size, what a first run downloads."""
        table = Table(key("name"), "weights", long("identity"), "on disk", long("a first run downloads"))
        for check in checks:
            download = check.download
            if download is None:
                table.add_row(check.name, "not needed", "-", "-", "nothing")
                continue
            fetches = "nothing" if not download.needed else f"{download.model}: {', '.join(download.files)}"
            if download.needed:
                fetches += f", about {size(download.size)}" if download.size is not None else ", unknown size"
            table.add_row(
                check.name,
                "[green]cached[/]" if check.cached else "[yellow]missing[/]",
                check.identity.describe() if check.identity else "-",
                size(check.on_disk) if check.on_disk is not None else "-",
                safe(fetches),
            )
        self.out.print(table)

    def datasets(self, datasets: list) -> None:
        """Each dataset with its folder, image and class counts, and bad list lines."""
        table = Table(key("dataset"), long("folder"), "images", "classes", "list problems")
        for dataset in datasets:
            table.add_row(
                safe(dataset.name),
                safe(dataset.folder),
                str(len(dataset.items)),
                str(len(dataset.classes)),
                str(len(dataset.problems)),
            )
        self.out.print(table)

    def _landmarks(self, landmarks: list, files: list) -> None:
        """Revisited Oxford/Paris: Easy, Medium, Hard mAP and mP@k in percent, the published mAP beside."""
        if not landmarks:
            return
        table = Table(
            "collection",
            "setup",
            "mAP",
            "published mAP",
            *(f"mP@{k}" for k in next(iter(landmarks[0].figures.values())).precision),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title="Revisited Oxford/Paris: cropped queries vs whole database images, junk ignored (percent)",
        )
        sources = set()
        for landmark in landmarks:
            published = (landmark.reference or {}).get("map", {})
            if landmark.reference:
                sources.add(landmark.reference["source"])
            for setup, figures in landmark.figures.items():
                table.add_row(
                    safe(landmark.title),
                    setup,
                    percent(figures.mean_ap),
                    f"{published[setup]:.1f}" if setup in published else "-",
                    *(percent(figures.mean_precision(k)) for k in figures.precision),
                )
        self.out.print(table)
        for source in sorted(sources):
            self.out.print(f"published: {safe(source)}")
        for file in files:
            self.out.print(f"wrote {safe(file)}")

    def catalogue(self, entries: list) -> None:
        """The public datasets `datasets fetch` knows: files, sizes, checksum sources, layout and terms."""
        table = Table("name", "dataset", "download", "checksum", "folder", title="datasets fetch NAME")
        for entry in entries:
            checksums = {file.checksum.split(":")[0] if file.checksum else "none published" for file in entry.files}
            table.add_row(entry.name, entry.title, _total(entry.files), ", ".join(sorted(checksums)), entry.folder)
        self.out.print(table)
        for entry in entries:
            self.out.print(f"[bold]{entry.name}[/]: {entry.homepage}")
            self.out.print(f"  layout: {entry.layout}")
            self.out.print(f"  terms: {entry.licence}")
            for file in entry.files:
                self.out.print(
                    f"  {file.url}: {size(file.size)} ({file.size_source}); checksum: {file.checksum_source}"
                )

    def fetch_plan(self, plan) -> None:
        """Before any download: each file with its source, size, checksum source and what is on disk."""
        if plan.done:
            return
        self.err.print(f"{plan.entry.title} -> {safe(plan.folder)} (downloads kept in {safe(plan.downloads)})")
        for planned in plan.files:
            file = planned.file
            state = {"present": "already downloaded", "partial": f"resuming after {size(planned.have)}"}
            self.err.print(
                f"  {safe(file.url)}  {size(file.size)}  checksum {safe(file.checksum or 'none')}: "
                f"{safe(file.checksum_source)}"
                f"{'  ' + state[planned.state] if planned.state in state else ''}"
            )
        self.err.print(f"  total {_total(plan.entry.files)}")

    def fetched(self, report) -> None:
        """Where the dataset now is, what each file's checksum proved, and what was left out."""
        if report.already:
            self.out.print(f"{report.name}: already in {safe(report.folder)}; nothing to do")
            return
        for file in report.files:
            proof = "checksum verified" if file.verified else "[yellow]no published checksum: not verified[/]"
            self.out.print(f"{safe(file.filename)}: {size(file.bytes)}, {proof}, sha256 {file.sha256}")
        for note in report.notes:
            self.out.print(f"[yellow]{safe(note)}[/]")
        self.out.print(
            f"{report.name}: {report.placed} files in {safe(report.folder)}"
            f"{f' ({report.skipped} archive members left out)' if report.skipped else ''}; "
            f"the downloads stay in {safe(report.downloads)} (delete them to free the space)"
        )

    def ingest(self, reports: list, location: str) -> None:
        """One row per collection, then what was skipped and why."""
        table = Table(
            key("collection"),
            "images",
            "already stored",
            "written",
            "skipped",
            "seconds",
            title=f"ingest into {safe(location)}",
        )
        for report in reports:
            table.add_row(
                safe(report.collection),
                str(report.images),
                str(report.already_stored),
                str(report.written),
                str(len(report.skipped)),
                f"{report.seconds:.1f}",
            )
        self.out.print(table)
        for report in reports:
            self._ingest_notes(report)

    def _ingest_notes(self, report) -> None:
        name = safe(report.collection)
        if report.random_weights:
            self.out.print(f"[yellow]{name}: {safe(report.weights)}: its figures are not results[/]")
        if report.failed:
            kept = "the collection keeps the other parts' points" if report.part else "no collection was kept"
            self.out.print(f"[red]{name}: {safe(report.failed)}; {kept}[/]")
        elif report.interrupted:
            self.out.print(f"[yellow]{name}: interrupted; rerun the same command to resume[/]")
        elif report.part and report.images == 0:
            self.out.print(f"{name}: part {report.part} holds none of the listed images; nothing to do")
        elif report.written == 0:
            self.out.print(f"{name}: nothing new; {report.already_stored} images already stored")
        for note in report.notes:
            self.out.print(f"[yellow]{safe(note)}[/]")
        if report.changed:
            self.out.print(f"{name}: embedded again {report.changed} stored images whose content changed")
        if report.identical:
            self.out.print(
                f"[yellow]{name}: {len(report.identical)} group(s) of listed images have identical content, "
                f"e.g. {safe(', '.join(report.identical[0][:3]))}[/]"
            )
        if report.relabelled:
            self.out.print(
                f"{name}: rewrote the payload of {report.relabelled} stored images whose label or list position changed"
            )
        if report.pruned:
            self.out.print(f"{name}: deleted {report.pruned} stored points whose images are no longer listed")
        elif report.not_in_dataset:
            self.out.print(
                f"[yellow]{name}: {report.not_in_dataset} stored points are images no longer in the dataset; "
                f"they are kept, and eval refuses the collection until they go (ingest with --prune)[/]"
            )
        for problem in report.skipped[:10]:
            self.out.print(f"  skipped {safe(problem.where)}: {safe(problem.reason)}")
        if len(report.skipped) > 10:
            self.out.print(f"  ... and {len(report.skipped) - 10} more")
        if report.skipped:
            self.out.print(f"  full list: {safe(report.report_file)}")

    def evaluation(self, run, study: bool) -> None:
        """The figures of each evaluation, the encoders x datasets table, and the files written."""
        self.evaluation_notes(run)
        self._landmarks(run.landmarks, run.landmark_files)
        if not run.evaluations:
            self.out.print(f"report: {safe(run.index)}")
            return
        columns = [key("collection"), "points", run.evaluations[0].metric, "P@1", "P@5", "P@10", "R-prec", "s"]
        rows = []
        for evaluation in run.evaluations:
            f = evaluation.figures
            rows.append(
                [
                    safe(evaluation.title),
                    str(len(evaluation.labels)),
                    figure(f.mean_ap),
                    figure(f.mean_precision(1)),
                    figure(f.mean_precision(5)),
                    figure(f.mean_precision(10)),
                    figure(f.mean_r_precision),
                    f"{evaluation.seconds_ranking + evaluation.seconds_metrics:.1f}",
                ]
            )
        options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "title": "leave-one-out, exact cosine, query excluded"}
        self.out.print(self.fitted(columns, rows, droppable=[7, 1, 6], **options))
        if study:
            grid = run.grid()
            table = Table(
                key("encoder"),
                *(long(safe(d)) for d in grid.datasets),
                box=box.SIMPLE_HEAD,
                title=f"{grid.metric}: encoders x datasets",
            )
            for encoder in grid.encoders:
                table.add_row(safe(encoder), *(grid.cells[encoder, d] for d in grid.datasets))
            self.out.print(table)
        self._rankings(run.rankings)
        self._duplicates(run.evaluations)
        if any(evaluation.stage is not None for evaluation in run.evaluations):
            self.out.print(
                "rows marked +aqe/+dba/+dba+aqe are re-ranked (Radenovic, Tolias and Chum 2018); "
                "they are not comparable with the study's numbers"
            )
        for evaluation, files in zip(run.evaluations, run.files, strict=True):
            if evaluation.identical:
                self.out.print(
                    f"{safe(evaluation.collection)}: {len(evaluation.identical)} group(s) of stored images have "
                    f"identical content (they inflate leave-one-out mAP; listed in metrics.json)"
                )
            if evaluation.figures.skipped:
                self.out.print(
                    f"{safe(evaluation.name)}: {evaluation.figures.skipped} queries have no other "
                    f"member of their class and are left out of the means"
                )
            self.out.print(f"wrote {', '.join(safe(path) for path in files)}")
        self.out.print(f"report: {safe(run.index)}")

    def evaluation_notes(self, run) -> None:
        """What was skipped and what a reader should know, on stderr (also beside JSON output)."""
        for reason in run.skipped:
            self.err.print(f"[yellow]skipped: {safe(reason)}[/]")
        for note in run.notes:
            self.err.print(f"[yellow]{safe(note)}[/]")

    def _provenance(self, info) -> None:
        """Where a collection's vectors came from, one fact a line."""
        provenance = info.provenance
        if provenance is None:
            self.out.print("[yellow]provenance unknown[/] (written by an older release or another tool)")
            return
        facts = [
            ("weights", info.weights_text()),
            ("model", provenance.model_id),
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

    def _rankings(self, rankings: list) -> None:
        """Per dataset, the rows by mAP with their intervals, the paired difference to the next and its significance."""
        for ranking in rankings:
            columns = [key("row"), "mAP", "95% interval", long("next"), "difference", "95% interval", "p", "p < 0.05"]
            rows = []
            for row in ranking.rows:
                d = row.difference
                compared = (
                    [
                        f"{d.difference:+.4f}",
                        f"[{d.interval.low:+.4f}, {d.interval.high:+.4f}]",
                        f"{d.p_value:.4f}",
                        "yes" if d.significant else "no",
                    ]
                    if d is not None and d.queries
                    else ["-"] * 4
                )
                interval = f"[{figure(row.low)}, {figure(row.high)}]"
                rows.append([safe(row.name), figure(row.mean_ap), interval, safe(row.next or "-"), *compared])
            title = f"{safe(ranking.dataset)}: by mAP, each against the next (paired, same queries)"
            options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "title": title}
            self.out.print(self.fitted(columns, rows, droppable=[7, 2, 5], **options))

    def _duplicates(self, evaluations: list) -> None:
        """Pairs of near-identical points, and the mAP without them where it was measured."""
        for evaluation in evaluations:
            found = evaluation.duplicates
            if found is None or (found.pairs == 0 and evaluation.deduplicated is None):
                continue
            text = (
                f"{safe(evaluation.name)}: {found.pairs} pairs with cosine >= {found.threshold} "
                f"in {found.groups} groups"
            )
            if evaluation.deduplicated is not None:
                text += (
                    f"; {evaluation.metric} {figure(evaluation.mean_ap)} with them, "
                    f"{figure(evaluation.deduplicated.mean_ap)} with each group reduced to one point "
                    f"({found.removed} removed)"
                )
            self.out.print(text)

    def ann(self, results: list, k: int, location: str) -> None:
        """recall@k of each collection's approximate search against exact search (eval --ann)."""
        table = Table(
            key("collection"),
            "points",
            "in HNSW graph",
            "queries",
            f"recall@{k}",
            title=f"approximate vs exact search in {safe(location)}",
        )
        for r in results:
            table.add_row(safe(r.collection), str(r.points), str(r.indexed), str(r.queries), f"{r.recall:.4f}")
        self.out.print(table)
        if any(r.exact_only for r in results):
            self.out.print(
                "the embedded store always searches exactly (recall 1); run against a server for HNSW recall"
            )
        elif any(r.indexed < r.points for r in results):
            self.out.print(
                "points outside the HNSW graph are searched exactly; Qdrant builds the graph for a "
                "segment once it passes the indexing threshold"
            )

    def hits(self, result) -> None:
        """The hits of one search, best first, with what was asked."""
        info, query = result.info, result.query
        asked = f"{query.kind} {query.value}"
        if result.source is not None:
            asked += f" ({result.source.label}, excluded from the hits)"
        title = f"{info.name} ({info.encoder}, {info.weights_text()}, {info.points} points): {asked}"
        if query.label is not None:
            title += f", label {query.label}"
        table = Table(
            "rank",
            "score",
            long("label"),
            long("path"),
            title=safe(title),
            caption=f"encode {result.encode_seconds:.3f} s, store {result.store_seconds:.3f} s",
        )
        for rank, hit in enumerate(result.hits, start=1):
            table.add_row(str(rank), f"{hit.score:.4f}", safe(hit.label), safe(hit.path))
        self.out.print(table)
        if not result.hits:
            self.out.print("no hits" + (f" with label '{safe(query.label)}'" if query.label is not None else ""))

    def paths(self, result, nul: bool = False) -> None:
        """The hits' files (absolute where the image folder is known): each ended by NUL and raw with `nul`
        (for `xargs -0`), else one per line, control characters escaped when `out` is a terminal (a file name
        cannot drive it)."""
        for file in result.hit_files():
            if nul:
                sys.stdout.write(f"{file}\0")
            else:
                print(file.translate(_CONTROL) if self.out.is_terminal else file)
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
                    str(info.points),
                    str(info.dim),
                    info.distance,
                    safe(info.dataset),
                    safe(info.encoder),
                    f"[yellow]{weights}[/]" if info.random_weights or info.provenance is None else weights,
                ]
            )
        self.out.print(self.fitted(columns, rows, droppable=[3, 2], title=f"collections in {safe(location)}"))

    def collection(self, summary) -> None:
        """Class counts and sample payloads of one collection."""
        info = summary.info
        self.out.print(
            f"{safe(info.name)}: {info.points} points, {info.dim}-d {info.distance}, dataset "
            f"{safe(info.dataset)}, encoder {safe(info.encoder)}, in {safe(info.location)}"
        )
        self._provenance(info)
        classes = Table(long("label"), "points", title=f"{len(summary.classes)} classes")
        for label, count in summary.classes.items():
            classes.add_row(safe(label), str(count))
        self.out.print(classes)
        for point, payload in summary.samples:
            self.out.print(f"{point}  {safe(json.dumps(payload.to_dict(), ensure_ascii=False))}")
