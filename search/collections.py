"""What the store holds: every collection, and one collection's classes and sample points."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store import CollectionInfo, Store


@dataclass
class CollectionSummary:
    """One collection: its facts, points per class (largest first) and a few sample points."""

    info: CollectionInfo
    classes: dict[str, int]
    samples: list[tuple[str, dict]]

    def to_json(self) -> dict:
        return {
            **asdict(self.info),
            "classes": self.classes,
            "samples": [{"id": pid, "payload": payload} for pid, payload in self.samples],
        }


def list_collections(store: Store) -> list[CollectionInfo]:
    """Facts of every collection in the store, by name."""
    return [store.info(name) for name in store.collection_names()]


def summarize(store: Store, name: str, samples: int = 3) -> CollectionSummary:
    """Class counts from every point's `label`, and the first `samples` points in dataset order."""
    info = store.info(name)
    points = store.points(name)
    classes = dict(Counter(p.get("label", "?") for p in points.payloads).most_common())
    return CollectionSummary(info, classes, list(zip(points.ids, points.payloads, strict=True))[:samples])
