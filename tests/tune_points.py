"""The points the `tune` tests fill collections with, and a grid small enough that recall stays below 1."""

from __future__ import annotations

import uuid

import numpy as np

from store import ImagePayload, IndexSettings
from tune.settings_grid import Build, TuneSetting


def labelled_points(n: int, dim: int, classes: int, seed: int = 0):
    """n points in `classes` clusters (label i % classes), with their ids, payloads and labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    vectors = (rng.normal(size=(classes, dim))[labels] * 0.6 + rng.normal(size=(n, dim))).astype(np.float32)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))) for i in range(n)]
    payloads = [ImagePayload(f"c{label}", f"c{label}/{i}.jpg", "toy", "net", i) for i, label in enumerate(labels)]
    return ids, vectors, payloads, labels


def fill(store, name: str, n: int = 400, dim: int = 24, classes: int = 4, settings: IndexSettings | None = None):
    """`name` made with `settings` and loaded with `labelled_points`."""
    ids, vectors, payloads, labels = labelled_points(n, dim, classes)
    store.ensure_collection(name, dim, settings=settings)
    with store.bulk_load(name) as loader:
        loader.add(ids, vectors, payloads)
    return ids, vectors, labels


LOW_RECALL = [  # small graphs and beams, so that recall stays below 1 and the comparison means something
    TuneSetting(Build(4, 8), 4),
    TuneSetting(Build(4, 8, "binary"), 4, False),
    TuneSetting(Build(4, 8, "binary"), 4, True, 4),
]
