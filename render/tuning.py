"""What `tune` shows: a row per setting beside exact search, the frontier marked, the recommendation and its commands."""

from __future__ import annotations

from rich import box

from render.cells import figure, key, safe
from render.consoles import Base


class TuneViews(Base):
    """The tuning table and its recommendation."""

    def tune(self, result, files: list) -> None:
        """The settings' figures (frontier marked *), the recommended setting, why, and how to apply it."""
        k = result.k
        columns = [
            "",
            key("setting"),
            f"recall@{k}",
            f"mAP@{k}",
            "p50 ms",
            "p95 ms",
            "memory B/pt",
            "vectors",
            "index",
            "quantized",
            "build s",
            "in graph",
        ]
        rows = [self._tune_row(result.exact, result.info.points, "")]
        for row in result.rows:
            mark = "[bold]R[/]" if row is result.recommended else ("*" if row.frontier else "")
            rows.append(self._tune_row(row, result.info.points, mark))
        title = f"{safe(result.collection)}: {result.queries} queries; bytes a point from {result.exact.memory.source}"
        options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "title": title}
        self.out.print(self.fitted(columns, rows, droppable=[11, 7, 8, 9, 5, 10], **options))
        self.out.print(
            f"queries: stored vectors (each itself left out); latency: the first {result.timed} of them "
            "one at a time; * on the frontier (no other setting "
            "as good on recall, p50 latency and memory and better on one); R recommended (on the frontier); "
            "memory: the graph plus the quantized copy where there is one (the original vectors then stay on "
            "disk), else plus the vectors"
        )
        for note in result.notes:
            self.out.print(f"[yellow]{safe(note)}[/]")
        self.out.print(f"recommended: {safe(result.recommended.label)}: {safe(result.reason())}")
        for command in result.commands():
            self.out.print(f"  {safe(command)}")
        self.out.print(f"wrote {', '.join(safe(path) for path in files)} ({result.seconds:.0f} s)")

    def _tune_row(self, row, points: int, mark: str) -> list[str]:
        m = row.memory
        return [
            mark,
            safe(row.label),
            figure(row.recall),
            figure(row.map_k),
            f"{row.p50_ms:.3f}",
            f"{row.p95_ms:.3f}",
            f"{m.ram:.0f}",
            f"{m.vectors:.0f}",
            f"{m.index:.0f}",
            f"{m.quantized:.0f}",
            "-" if row.build_s is None else f"{row.build_s:.1f}",
            "-" if row.setting is None else f"{row.indexed}/{points}",
        ]
