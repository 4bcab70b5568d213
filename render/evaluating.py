"""What `eval` shows: figures, the study table, paired rankings, duplicates, revisited protocols, ANN recall."""

from __future__ import annotations

from rich import box
from rich.table import Table

from render.base import Base
from render.text import figure, key, long, percent, safe


class EvaluationViews(Base):
    """The evaluation tables and notes."""

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
        self._beside(run.beside)
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
        for files in run.beside.files:
            self.out.print(f"wrote {', '.join(safe(path) for path in files)}")
        self.out.print(f"report: {safe(run.index)}")

    def _beside(self, beside) -> None:
        """Text->image and fused rows, labelled by kind, and each fused row against its members."""
        rows = []
        for text in beside.text:
            f = text.figures
            rows.append([safe(text.title), "text->image", f"{len(text.classes)} classes", figure(f.mean_ap)])
            rows[-1] += [figure(f.mean_precision(r)) for r in (1, 5, 10)] + [figure(f.mean_r_precision)]
        for fused in beside.fused:
            f = fused.evaluation.figures
            rows.append([safe(fused.title), f"fused {fused.fusion.method}", f"{len(f.ap)} points", figure(f.mean_ap)])
            rows[-1] += [figure(f.mean_precision(r)) for r in (1, 5, 10)] + [figure(f.mean_r_precision)]
        if not rows:
            return
        first = beside.text[0] if beside.text else beside.fused[0].evaluation
        columns = [key("row"), "kind", "queries", first.metric, "P@1", "P@5", "P@10", "R-prec"]
        options = {
            "box": box.SIMPLE_HEAD,
            "pad_edge": False,
            "title": "text->image (a query per class) and fused encoders",
        }
        self.out.print(self.fitted(columns, rows, droppable=[2, 7], **options))
        compared = []
        for fused in beside.fused:
            for member, d in fused.against.items():
                compared.append(
                    [
                        safe(fused.name),
                        safe(member),
                        f"{d.difference:+.4f}",
                        f"[{d.interval.low:+.4f}, {d.interval.high:+.4f}]",
                        f"{d.p_value:.4f}",
                        "yes" if d.significant else "no",
                    ]
                )
        if compared:
            columns = [key("fused"), long("member"), "fused - member", "95% interval", "p", "p < 0.05"]
            title = "fused against each member (paired, same queries)"
            self.out.print(
                self.fitted(columns, compared, droppable=[3], box=box.SIMPLE_HEAD, pad_edge=False, title=title)
            )

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
                    percent(figures.mean_ap),
                    f"{published[setup]:.1f}" if setup in published else "-",
                    *(percent(figures.mean_precision(k)) for k in figures.precision),
                )
        self.out.print(table)
        for source in sorted(sources):
            self.out.print(f"published: {safe(source)}")
        for file in files:
            self.out.print(f"wrote {safe(file)}")

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
