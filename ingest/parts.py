"""`ingest --part I/N`: a deterministic share of a dataset, so N machines ingest it into one collection.

Part I of N holds the images whose point id, read as a 128-bit integer, is
I - 1 modulo N. Ids are the UUIDv5 of dataset and path (store/naming.py), so
the shares are the same on every machine, disjoint and together the whole
list, and any part can be rerun.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from errors import RetrievalError

PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Part:
    """Part `index` (1-based) of `count`."""

    index: int
    count: int

    def holds(self, point_id: str) -> bool:
        return uuid.UUID(point_id).int % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_part(text: str | None) -> Part | None:
    """'I/N' with 1 <= I <= N as a `Part`; None for None; anything else is one line saying what is expected."""
    if text is None:
        return None
    found = PATTERN.match(text)
    index, count = (int(found[1]), int(found[2])) if found else (0, 0)
    if not 1 <= index <= count:
        raise RetrievalError(f"--part '{text}' is not I/N with 1 <= I <= N (e.g. --part 2/4: the second of four parts)")
    return Part(index, count)
