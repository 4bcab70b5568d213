"""The consoles and the few ways everything is shown: lines, notes, errors, JSON, progress, fitted tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from redaction import redact
from render.cells import safe


class Base:
    """Consoles (results on `out`, progress and notes on `err`) and what every view uses."""

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
        """A warning or remark on stderr (already made safe by the caller where it holds file text), without
        credentials."""
        self.err.print(redact(text))

    def error(self, text: str) -> None:
        self.err.print(f"error: {safe(redact(text))}")

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
