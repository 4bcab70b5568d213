"""Everything the command line shows: consoles, progress bars, tables.

Text that comes from files or payloads goes through `safe` first, so a label
or path can neither inject rich markup nor send terminal control codes.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127] if chr(c) not in "\t"}


def safe(text: str) -> str:
    """Text from files or payloads, made inert: no rich markup, no terminal control codes."""
    return escape(text.translate(_CONTROL))


def json_out(value) -> None:
    """The machine form of any command's result: indented JSON on stdout (records as objects)."""
    import dataclasses
    import json

    def plain(thing):
        if dataclasses.is_dataclass(thing):
            return dataclasses.asdict(thing)
        return str(thing)

    print(json.dumps(value, indent=2, ensure_ascii=False, default=plain))


def encoders_json(rows: list) -> list[dict]:
    """Rows of (spec, weights present) as JSON records."""
    return [
        {
            "name": spec.name,
            "model": spec.model_id,
            "dim": spec.dim,
            "text": spec.text,
            "source": spec.source,
            "license": spec.license,
            "preprocessing": spec.preprocess.describe() if spec.preprocess else None,
            "weights_present": present,
        }
        for spec, present in rows
    ]


def datasets_json(datasets: list) -> list[dict]:
    """Each dataset's folder, counts, classes and bad list lines as JSON records."""
    from dataclasses import asdict

    return [
        {
            "name": d.name,
            "folder": str(d.folder),
            "images": len(d.items),
            "classes": d.classes,
            "problems": [asdict(p) for p in d.problems],
        }
        for d in datasets
    ]


def encoders_table(rows: list) -> None:
    """Each encoder's facts and whether its weights are present: rows of (spec, present)."""
    table = Table("name", "model", "dim", "text", "source", "licence", "preprocessing", "weights")
    for spec, present in rows:
        table.add_row(
            spec.name,
            spec.model_id,
            str(spec.dim),
            "yes" if spec.text else "-",
            spec.source,
            spec.license,
            spec.preprocess.describe() if spec.preprocess else "none (full image)",
            "[green]present[/]" if present else "[yellow]missing[/]",
        )
    out.print(table)


def datasets_table(datasets: list) -> None:
    """Each dataset with its folder, image and class counts, and bad list lines."""
    table = Table("dataset", "folder", "images", "classes", "list problems")
    for dataset in datasets:
        table.add_row(
            safe(dataset.name),
            safe(str(dataset.folder)),
            str(len(dataset.items)),
            str(len(dataset.classes)),
            str(len(dataset.problems)),
        )
    out.print(table)


def progress(title: str, unit: str = "img/s"):
    """A context giving `advance(done, total)` that drives a rich progress bar on stderr."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    @contextmanager
    def bar():
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task(escape(title), total=None, rate="")

            def advance(done: int, total: int) -> None:
                elapsed = progress.tasks[task].elapsed or 0
                rate = f"{done / elapsed:.1f} {unit}" if elapsed else ""
                progress.update(task, completed=done, total=total, rate=rate)

            yield advance

    return bar()


def ann_table(results: list, k: int, location: str, embedded: bool) -> None:
    """recall@k of each collection's approximate search against exact search (eval --ann)."""
    table = Table(
        "collection",
        "points",
        "in HNSW graph",
        "queries",
        f"recall@{k}",
        title=f"approximate vs exact search in {safe(location)}",
    )
    for r in results:
        table.add_row(safe(r.collection), str(r.points), str(r.indexed), str(r.queries), f"{r.recall:.4f}")
    out.print(table)
    if embedded:
        out.print("the embedded store always searches exactly (recall 1); run against a server for HNSW recall")
    elif any(r.indexed < r.points for r in results):
        out.print(
            "points outside the HNSW graph are searched exactly; Qdrant builds the graph for a "
            "segment once it passes the indexing threshold"
        )


def eval_tables(results: list, index: Path, study: bool) -> None:
    """The figures of each evaluation, the encoders x datasets table, and the files written."""
    import math

    from evaluation import study_table
    from evaluation.report import cell_text

    def figure(value: float) -> str:
        return "n/a" if math.isnan(value) else f"{value:.4f}"

    from rich import box

    table = Table(
        "collection",
        "points",
        results[0][0].metric,
        "P@1",
        "P@5",
        "P@10",
        "R-prec",
        "s",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title="leave-one-out, exact cosine, query excluded",
    )
    for evaluation, _ in results:
        f = evaluation.figures
        table.add_row(
            safe(evaluation.collection),
            str(len(evaluation.labels)),
            figure(f.mean_ap),
            figure(f.mean_precision(1)),
            figure(f.mean_precision(5)),
            figure(f.mean_precision(10)),
            figure(f.mean_r_precision),
            f"{evaluation.seconds_ranking + evaluation.seconds_metrics:.1f}",
        )
    out.print(table)
    if study:
        encoders, datasets, cells = study_table([evaluation.summary() for evaluation, _ in results])
        grid = Table(
            "encoder",
            *(safe(d) for d in datasets),
            box=box.SIMPLE_HEAD,
            title=f"{results[0][0].metric}: encoders x datasets",
        )
        for encoder in encoders:
            grid.add_row(safe(encoder), *(cell_text(cells.get((encoder, d))) for d in datasets))
        out.print(grid)
    for evaluation, files in results:
        if evaluation.figures.skipped:
            out.print(
                f"{safe(evaluation.collection)}: {evaluation.figures.skipped} queries have no other "
                f"member of their class and are left out of the means"
            )
        out.print(f"wrote {', '.join(safe(str(path)) for path in files)}")
    out.print(f"report: {safe(str(index))}")


def ingest_summary(reports: list, location: str) -> None:
    """One row per collection, then what was skipped and why."""
    table = Table(
        "collection", "images", "already stored", "written", "skipped", "seconds", title=f"ingest into {safe(location)}"
    )
    for report, _ in reports:
        table.add_row(
            report.collection,
            str(report.images),
            str(report.already_stored),
            str(report.written),
            str(len(report.skipped)),
            f"{report.seconds:.1f}",
        )
    out.print(table)
    for report, path in reports:
        if report.interrupted:
            out.print(f"[yellow]{report.collection}: interrupted; rerun the same command to resume[/]")
        elif report.written == 0:
            out.print(f"{report.collection}: nothing new; {report.already_stored} images already stored")
        if report.relabelled:
            out.print(
                f"{report.collection}: rewrote the payload of {report.relabelled} stored images "
                f"whose label or list position changed"
            )
        if report.not_in_dataset:
            out.print(
                f"[yellow]{report.collection}: {report.not_in_dataset} stored points are images no "
                f"longer in the dataset; they are kept (ingest with --recreate to rebuild)[/]"
            )
        for problem in report.skipped[:10]:
            out.print(f"  skipped {safe(problem.where)}: {safe(problem.reason)}")
        if len(report.skipped) > 10:
            out.print(f"  ... and {len(report.skipped) - 10} more")
        if report.skipped:
            out.print(f"  full list: {safe(str(path))}")


def hits_table(result) -> None:
    """The hits of one search, best first, with what was asked."""
    info, query = result.info, result.query
    asked = f"{query.kind} {query.value}"
    if result.source is not None:
        asked = f"{query.kind} {query.value} ({result.source.get('label', '?')}, excluded from the hits)"
    title = f"{info.name} ({info.encoder}, {info.points} points): {asked}"
    if query.label is not None:
        title += f", label {query.label}"
    table = Table(
        "rank",
        "score",
        "label",
        "path",
        title=safe(title),
        caption=f"encode {result.encode_seconds:.3f} s, store {result.store_seconds:.3f} s",
    )
    for rank, hit in enumerate(result.hits, start=1):
        table.add_row(
            str(rank),
            f"{hit.score:.4f}",
            safe(str(hit.payload.get("label", "?"))),
            safe(str(hit.payload.get("path", "?"))),
        )
    out.print(table)
    if not result.hits:
        out.print("no hits" + (f" with label '{safe(query.label)}'" if query.label is not None else ""))


def collections_table(infos: list, location: str) -> None:
    """Every collection with its size, vectors, dataset and encoder."""
    if not infos:
        out.print(f"no collections in {safe(location)}; create them with `python cli.py ingest`")
        return
    table = Table(
        "collection", "points", "dim", "distance", "dataset", "encoder", title=f"collections in {safe(location)}"
    )
    for info in infos:
        table.add_row(
            safe(info.name), str(info.points), str(info.dim), info.distance, safe(info.dataset), safe(info.encoder)
        )
    out.print(table)


def collection_details(summary) -> None:
    """Class counts and sample payloads of one collection."""
    import json

    info = summary.info
    out.print(
        f"{safe(info.name)}: {info.points} points, {info.dim}-d {info.distance}, dataset "
        f"{safe(info.dataset)}, encoder {safe(info.encoder)}, in {safe(info.location)}"
    )
    classes = Table("label", "points", title=f"{len(summary.classes)} classes")
    for label, count in summary.classes.items():
        classes.add_row(safe(str(label)), str(count))
    out.print(classes)
    for point, payload in summary.samples:
        out.print(f"{point}  {safe(json.dumps(payload, ensure_ascii=False))}")
