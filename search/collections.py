"""What the store holds: every collection, and one collection's classes and sample points."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from errors import StoreError

if TYPE_CHECKING:
    from store import CollectionInfo, ImagePayload, VectorStore


@dataclass
class CollectionSummary:
    """One collection: its facts, points per class (largest first) and a few sample points."""

    info: CollectionInfo
    classes: dict[str, int]
    samples: list[tuple[str, ImagePayload]]

    def to_json(self) -> dict:
        return {
            **self.info.to_json(),
            "classes": self.classes,
            "samples": [{"id": pid, "payload": payload.to_dict()} for pid, payload in self.samples],
        }


def list_collections(store: VectorStore) -> list[CollectionInfo]:
    """Facts of every collection in the store, by name; one that cannot be read is listed as broken, with why
    (`CollectionInfo.broken`), so it never hides the others."""
    return [collection_info(store, name) for name in store.collection_names()]


def collection_info(store: VectorStore, name: str) -> CollectionInfo:
    """The facts of collection `name`, or, where its files or sidecar cannot be read, a record that says why."""
    from store import CollectionInfo

    store.require(name)
    try:
        return store.info(name)
    except StoreError as error:
        return CollectionInfo.unreadable(name, store.location, str(error))


def summarize(store: VectorStore, name: str, samples: int = 3) -> CollectionSummary:
    """Class counts from every point's `label`, and the first `samples` points in dataset order."""
    info = store.info(name)
    points = store.points(name)
    labels = points.labels if info.labeled else []  # an unlabeled collection has no classes, not one called '?'
    classes = dict(Counter(str(label) if label is not None else "?" for label in labels).most_common())
    return CollectionSummary(info, classes, list(zip(points.ids, points.payloads, strict=True))[:samples])
