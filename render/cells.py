"""Text as the command line shows it, cell by cell: made inert, figures, sizes, and columns that never cut names."""

from __future__ import annotations

import math

from rich.markup import escape
from rich.table import Column

CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127] if chr(c) not in "\t"}


def safe(text: object) -> str:
    """Text from files or payloads, made inert: no rich markup, no terminal control codes."""
    return escape(str(text).translate(CONTROL))


def total_size(files) -> str:
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
