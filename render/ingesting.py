"""What `ingest` shows: one row per collection, then what was skipped, changed or refused, and why."""

from __future__ import annotations

from rich.table import Table

from render.cells import key, safe
from render.consoles import Base


class IngestViews(Base):
    """The ingest summary."""

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
