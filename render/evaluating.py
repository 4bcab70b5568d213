"""What `eval` shows: figures, the study table, paired rankings, duplicates, revisited protocols, ANN recall."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

from evaluation.records.study_grid import percent_text
from render.cells import figure, key, long, safe
from render.consoles import Base
from store.naming import store_option
from store.provenance import random_marked

if TYPE_CHECKING:
    from collections.abc import Sequence

    from evaluation.metrics.score_precision import ScorePrecision, ScoreRow


class EvaluationViews(Base):
    """The evaluation tables and notes."""

    def evaluation(self, run, index, *, study: bool) -> None:
        """The figures of each evaluation, the encoders x datasets table, the files written and the report
        (`index`, reports/index.html)."""
        self.evaluation_notes(run)
        self._landmarks(run.landmarks, run.landmark_files)
        if not run.evaluations:
            self._trec_files(run)
            self.out.print(f"report: {safe(index)}")
            return
        metrics = sorted({record.metric for record in run.records})
        columns = [key("collection"), "variant", "queries", " / ".join(metrics), "P@1", "P@5", "P@10"]
        named = list(dict.fromkeys(name for record in run.records for name in record.data.get("metrics") or {}))
        columns += ["R-prec", *named, "s"]
        rows = []
        for record in run.records:
            data = record.data
            low, high = record.interval
            shown = figure(record.map)
            if record.variant.sample is not None and low is not None:
                shown += f" [{figure(low)}, {figure(high)}]"
            rows.append(
                [
                    safe(random_marked(record.collection, record.random_weights)),
                    safe(record.variant.label),
                    _queries(record),
                    shown,
                    *(figure(data["precision_at"][str(k)]) for k in (1, 5, 10)),
                    figure(data.get("r_precision")),
                    *(figure((data.get("metrics") or {}).get(name)) for name in named),
                    f"{data['seconds']['total']:.1f}",
                ]
            )
        title = "leave-one-out, exact cosine, query excluded"
        kinds = {record.kind for record in run.records}
        if kinds & {"text-to-image", "fused"}:
            title += (
                "; text->image: a text query per class label, every image ranked; fused: the members' rankings fused"
            )
        if "run" in kinds:
            title += "; run: a TREC run made elsewhere, scored on the same ground truth"
        options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "title": title}
        seconds = len(columns) - 1
        self.out.print(self.fitted(columns, rows, droppable=[seconds, 7, 2, 5], **options))
        if study:
            grid = run.grid()
            table = Table(
                key("encoder"),
                *(long(safe(d)) for d in grid.datasets),
                box=box.SIMPLE_HEAD,
                title=f"{grid.metric}: encoders x datasets (full runs; each other variant its own row)",
            )
            for row in grid.rows:
                table.add_row(safe(row.label), *(grid.cells[row, d] for d in grid.datasets))
            self.out.print(table)
        self._rankings(run.comparisons.rankings)
        self._members(run.comparisons.members)
        self._score_tables(run.records, index.parent)
        self._duplicates(run.evaluations)
        if any(record.variant.rerank is not None for record in run.records):
            self.out.print(
                "rows marked +aqe/+dba/+dba+aqe are re-ranked (Radenovic, Tolias and Chum 2018); "
                "they are not comparable with the study's numbers"
            )
        for gain in run.rerank_gains():
            self.out.print(
                f"{safe(gain.name)}: mAP {figure(gain.plain)} plain, {figure(gain.reranked)} re-ranked "
                f"({gain.gain:+.4f})"
            )
        for evaluation in run.evaluations:
            if evaluation.figures.skipped:
                self.out.print(
                    f"{safe(evaluation.name)}: {evaluation.figures.skipped} queries have no other "
                    f"member of their class and are left out of the means"
                )
        for files in run.files:
            self.out.print(f"wrote {', '.join(safe(path) for path in files)}")
        self._trec_files(run)
        self.out.print(f"report: {safe(index)}")

    def _score_tables(self, records: list, reports: Path) -> None:
        """For each collection, its short table of cosine score against the precision of the hits at or above
        it (the first record of the collection that measured one: the full ranking where there is one), and
        the command that shows the whole table from `reports`."""
        shown = set()
        where = "" if reports == Path("reports") else f" --reports {shlex.quote(str(reports))}"
        for record in records:
            table = record.score_precision
            if table is None or record.collection in shown:
                continue
            shown.add(record.collection)
            self.score_table(record.title, table, table.short_rows())
            show = f"python cli.py collections show {shlex.quote(record.collection)} {store_option(record.store)}"
            self.out.print(f"full table: {safe(show + where)}")
        if shown:
            self.out.print("search prints each hit's precision at its score")

    def score_table(self, title: str, table: ScorePrecision, rows: Sequence[ScoreRow]) -> None:
        """`rows` of a table of score against precision (`evaluation.metrics.score_precision`), with where
        each target precision is first reached."""
        reached = {score: target for target, score in table.targets.items() if score is not None}
        out = Table(
            "score >=",
            "precision",
            "hits at or above",
            "same-label kept",
            long("reaches"),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title=f"{safe(title)}: precision of the hits at or above a score (of {table.hits} hits in all)",
        )
        for row in rows:
            target = f"precision {reached[row.score]:g}" if row.score in reached else ""
            out.add_row(f"{row.score:.4f}", figure(row.precision), str(row.hits), f"{table.kept(row):.0%}", target)
        self.out.print(out)

    def _trec_files(self, run) -> None:
        """The TREC runs, qrels and id lists `eval --trec` wrote."""
        if run.trec_files:
            self.out.print(f"wrote TREC files: {', '.join(safe(path) for path in run.trec_files)}")

    def _members(self, members: list) -> None:
        """Each fused row against each of its members, as the run compared them (paired, same point ids)."""
        rows = []
        for c in members:
            d = c.difference
            if d is None or not d.queries:
                rows.append([safe(c.fused), safe(c.member), safe(c.unmatched or "-"), "", "", ""])
                continue
            interval = f"[{d.interval.low:+.4f}, {d.interval.high:+.4f}]"
            significant = "yes" if d.significant else "no"
            rows.append(
                [safe(c.fused), safe(c.member), f"{d.difference:+.4f}", interval, f"{d.p_value:.4f}", significant]
            )
        if rows:
            columns = [key("fused"), long("member"), "fused - member", "95% interval", "p", "p < 0.05"]
            title = "fused against each member (paired, same queries)"
            self.out.print(self.fitted(columns, rows, droppable=[3], box=box.SIMPLE_HEAD, pad_edge=False, title=title))

    def evaluation_notes(self, run) -> None:
        """What was skipped and what a reader should know, on stderr (also beside JSON output)."""
        for reason in run.skipped:
            self.err.print(f"[yellow]skipped: {safe(reason)}[/]")
        for note in run.notes:
            self.err.print(f"[yellow]{safe(note)}[/]")

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
                    percent_text(figures.mean_ap),
                    f"{published[setup]:.1f}" if setup in published else "-",
                    *(percent_text(figures.mean_precision(k)) for k in figures.precision),
                )
        self.out.print(table)
        for source in sorted(sources):
            self.out.print(f"published: {safe(source)}")
        for file in files:
            self.out.print(f"wrote {safe(file)}")

    def _rankings(self, rankings: list) -> None:
        """Per dataset and way of measuring, the rows by mAP, the paired difference to the next and its significance,
        or why a pair is not compared."""
        for ranking in (ranking for ranking in rankings if len(ranking.rows) > 1):
            columns = [key("row"), ranking.metric, "95% interval", long("next"), "difference", "95% interval", "p"]
            columns += ["Holm p", "survives"]
            rows = []
            for row in ranking.rows:
                d = row.difference
                if d is not None and d.queries:
                    compared = [
                        f"{d.difference:+.4f}",
                        f"[{d.interval.low:+.4f}, {d.interval.high:+.4f}]",
                        f"{d.p_value:.4f}",
                        f"{row.holm_p:.4f}",
                        "yes" if row.survives else "no",
                    ]
                else:
                    compared = [safe(row.unmatched or "-"), "-", "-", "-", "-"]
                interval = f"[{figure(row.low)}, {figure(row.high)}]"
                rows.append([safe(row.name), figure(row.mean_ap), interval, safe(row.next or "-"), *compared])
            title = (
                f"{safe(ranking.dataset)}, {safe(ranking.measured)}: by mAP, each against the next "
                "(paired, same queries; survives: Holm p < 0.05 over the table's comparisons)"
            )
            options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "title": title}
            self.out.print(self.fitted(columns, rows, droppable=[7, 2, 5], **options))
            if ranking.all_equal_p is not None:
                self.out.print(
                    f"all {len(ranking.rows)} rows equally good? randomization test (rows permuted per query): "
                    f"p = {ranking.all_equal_p:.4f}"
                )

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


def _queries(record) -> str:
    """'1000', '100 of 1000', or '10 classes' (a text-to-image record's queries are its classes)."""
    if record.kind == "text-to-image":
        return f"{record.queries} classes"
    return str(record.queries) if record.queries == record.points else f"{record.queries} of {record.points}"
