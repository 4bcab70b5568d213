"""A query with its AP and first hits (the best and worst galleries), and numbers as JSON writes them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from store import Hit


def json_number(value: float) -> float | None:
    """A figure for JSON: NaN (no relevant point) becomes null."""
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class GalleryRow:
    """One query with its AP and its first hits, for the best and worst galleries."""

    query: Hit  # the query point itself; its score is its AP
    hits: list[Hit]

    def relevant(self, hit: Hit) -> bool:
        """Whether `hit` shares a label with the query (`store.share_label`, as the figures count it)."""
        return hit.relevant_to(self.query.label_set)

    def to_json(self) -> dict:
        return {
            "id": self.query.id,
            "index": self.query.index,
            "path": self.query.path,
            "label": self.query.label,
            "ap": json_number(self.query.score),
            "hits": [{**hit.to_json(), "relevant": self.relevant(hit)} for hit in self.hits],
        }
