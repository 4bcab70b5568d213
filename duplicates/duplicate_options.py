"""The options of a duplicate search, one typed record from the command (or the web page) to the finders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DuplicateOptions:
    """`threshold`: the cosine at or above which two points are near duplicates (None: the encoder's measured
    default, `duplicates.thresholds`); `exact_only`: only identical files (same sha256), no vectors read."""

    threshold: float | None = None
    exact_only: bool = False
