"""What `encoders` and `datasets` show: encoders and their weights, datasets, the public sets to fetch."""

from __future__ import annotations

from rich.table import Table

from render.cells import key, long, safe, size, total_size
from render.consoles import Base


class ListingViews(Base):
    """Encoders, weights checks, datasets, the fetch catalogue and downloads."""

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
        table = Table(key("dataset"), long("folder"), "layout", "images", "classes", "list problems")
        for dataset in datasets:
            table.add_row(
                safe(dataset.name),
                safe(dataset.folder),
                dataset.layout if dataset.labeled else "images (no labels)",
                str(len(dataset.items)),
                str(len(dataset.classes)) if dataset.labeled else "-",
                str(len(dataset.problems)),
            )
        self.out.print(table)

    def catalogue(self, entries: list) -> None:
        """The public datasets `datasets fetch` knows: files, sizes, checksum sources, layout and terms."""
        table = Table("name", "dataset", "download", "checksum", "folder", title="datasets fetch NAME")
        for entry in entries:
            checksums = {file.checksum.split(":")[0] if file.checksum else "none published" for file in entry.files}
            table.add_row(entry.name, entry.title, total_size(entry.files), ", ".join(sorted(checksums)), entry.folder)
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
        self.err.print(f"  total {total_size(plan.entry.files)}")

    def fetched(self, report) -> None:
        """Where the dataset now is, what each file's checksum proved, and what was left out."""
        if report.already:
            self.out.print(f"{report.name}: already in {safe(report.folder)}; nothing to do")
            return
        for file in report.files:
            proof = "checksum verified" if file.verified else "[yellow]no published checksum: not verified[/]"
            self.out.print(f"{safe(file.filename)}: {size(file.bytes)}, {proof}, sha256 {file.sha256}")
            if file.redirects:
                self.out.print(f"  redirected: {safe(' -> '.join([file.url, *file.redirects]))}")
        for note in report.notes:
            self.out.print(f"[yellow]{safe(note)}[/]")
        self.out.print(
            f"{report.name}: {report.placed} files in {safe(report.folder)}"
            f"{f' ({report.skipped} archive members left out)' if report.skipped else ''}; "
            f"the downloads stay in {safe(report.downloads)} (delete them to free the space)"
        )
