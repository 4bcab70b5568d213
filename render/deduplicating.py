"""What `duplicates` shows: each group's files (largest group first) with their pair scores, or the bare paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box

from render.cells import CONTROL, figure, long, safe, size
from render.consoles import Base

if TYPE_CHECKING:
    from duplicates.report import DuplicateReport


class DuplicateViews(Base):
    """The duplicate groups as tables, or as paths for scripts."""

    def duplicates(self, report: DuplicateReport) -> None:
        """A heading (what was read, the threshold and where it came from), then one table per group."""
        where = " and ".join(
            f"'{safe(c)}' ({n} points)" for c, n in zip(report.collections, report.points, strict=True)
        )
        threshold = report.threshold
        rule = (
            "identical files only (same sha256)"
            if threshold is None
            else f"identical files, and cosine >= {threshold.value:g} ({safe(threshold.source)})"
        )
        found = f"{len(report.groups)} group(s), {report.duplicated} image(s)"
        self.out.print(f"{found} in {where}: {rule}")
        across = report.across
        for number, group in enumerate(report.groups, 1):
            columns = ["#", *(["collection"] if across else []), long("path"), "file size"]
            rows = [
                [str(k), *([safe(m.collection)] if across else []), safe(m.path), size(m.payload.size)]
                for k, m in enumerate(group.members, 1)
            ]
            title = f"group {number}: {len(group.members)} images" + (", the same file" if group.exact else "")
            self.out.print(self.fitted(columns, rows, box=box.SIMPLE_HEAD, pad_edge=False, title=title))
            for pair in group.pairs:
                score = "-" if pair.score is None else figure(pair.score)
                same = " (same file)" if pair.exact else ""
                self.out.print(f"  {pair.a + 1} ~ {pair.b + 1}: {score}{same}")
        if not report.groups:
            self.out.print("no duplicates")

    def duplicate_paths(self, report: DuplicateReport) -> None:
        """One group per block: its stored paths one a line, a blank line after each group (for scripts)."""
        for group in report.groups:
            for member in group.members:
                print(member.path.translate(CONTROL) if self.out.is_terminal else member.path)
            print()
