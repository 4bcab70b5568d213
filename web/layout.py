"""A collection's embedding map: every point placed in 2-D, computed once per collection content.

The projection comes from a well-kept library: UMAP (umap-learn, cosine
metric) up to UMAP_MAX_POINTS, where it finishes in reasonable time on a
laptop CPU, and PCA (scikit-learn) beyond that, or wherever UMAP is not
installed or PCA is asked for. A layout is written as JSON under
reports/.maps/<collection>/, named by the collection's state (point count,
provenance update time, a hash of its ids), so it is read back until the
collection changes and never recomputed for the same content.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from media.files import write_text_atomic
from media.folders import report_folder
from store import CollectionInfo, Points

METHODS = ("auto", "umap", "pca")
UMAP_MAX_POINTS = 20_000  # see BENCHMARKS.md: UMAP's time at 20,000 points on this project's CPUs
GRID = 10_000  # coordinates sent as integers 0..GRID: compact JSON, finer than any screen


@dataclass(frozen=True)
class MapLayout:
    """Every point of a collection at integer (x, y) in 0..GRID, with its class as an index into `classes`."""

    method: str  # "umap" or "pca", what was computed
    reason: str  # why that method, in words for the page
    key: str  # the collection state the layout belongs to
    seconds: float  # time the projection took when it was computed
    classes: list[str]  # empty where no point has a label: one colour, no legend
    ids: list[str]
    x: list[int]
    y: list[int]
    c: list[int]

    def to_json(self) -> dict:
        return asdict(self)


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def choose_method(asked: str, n: int) -> tuple[str, str]:
    """(method, reason): what `asked` ("auto", "umap", "pca") means for n points."""
    if asked not in METHODS:
        raise ValueError(f"unknown projection '{asked}'; choose one of {', '.join(METHODS)}")
    if asked == "pca":
        return "pca", "PCA (scikit-learn), as asked"
    if not umap_available():
        return "pca", "PCA (scikit-learn): umap-learn is not installed"
    if asked == "umap":
        return "umap", "UMAP (umap-learn, cosine), as asked"
    if n > UMAP_MAX_POINTS:
        return "pca", f"PCA (scikit-learn): more than {UMAP_MAX_POINTS:,} points, where UMAP would take minutes"
    if n < 5:
        return "pca", "PCA (scikit-learn): too few points for UMAP"
    return "umap", f"UMAP (umap-learn, cosine): up to {UMAP_MAX_POINTS:,} points; PCA beyond"


def state_key(info: CollectionInfo, ids: list[str]) -> str:
    """The collection's content as a file-name-safe key: point count, provenance update time, hash of the ids."""
    updated = info.provenance.updated if info.provenance else ""
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
    stamp = hashlib.sha256(updated.encode()).hexdigest()[:8]
    return f"{len(ids)}-{stamp}-{digest}"


def project(vectors: np.ndarray, method: str) -> np.ndarray:
    """(n, 2) coordinates of `vectors` by `method` ("umap" or "pca"); seeded, so the same input gives the same map."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2))
    if n < 3:
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    if method == "umap":
        import umap

        neighbours = max(2, min(15, n - 1))
        reducer = umap.UMAP(n_components=2, n_neighbors=neighbours, metric="cosine", random_state=0, n_jobs=1)
        return np.asarray(reducer.fit_transform(vectors), dtype=float)
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=0).fit_transform(vectors.astype(np.float64))


def to_grid(coordinates: np.ndarray) -> tuple[list[int], list[int]]:
    """Coordinates scaled into 0..GRID on both axes (same scale, so distances keep their proportions)."""
    if len(coordinates) == 0:
        return [], []
    low = coordinates.min(axis=0)
    span = float((coordinates.max(axis=0) - low).max()) or 1.0
    scaled = np.rint((coordinates - low) / span * GRID).astype(int)
    return scaled[:, 0].tolist(), scaled[:, 1].tolist()


def compute_layout(points: Points, key: str, asked: str = "auto") -> MapLayout:
    """The layout of `points` (read with vectors) by the method `asked` resolves to."""
    method, reason = choose_method(asked, len(points.ids))
    started = time.perf_counter()
    vectors = points.vectors if points.vectors is not None else np.zeros((len(points.ids), 0), np.float32)
    coordinates = project(vectors, method)
    seconds = time.perf_counter() - started
    labels = [str(label) if label is not None else "?" for label in points.labels]
    classes = sorted(set(labels)) if any(label is not None for label in points.labels) else []
    index = {label: i for i, label in enumerate(classes)}
    x, y = to_grid(coordinates)
    return MapLayout(
        method, reason, key, round(seconds, 3), classes, points.ids, x, y, [index.get(la, 0) for la in labels]
    )


class LayoutCache:
    """Layouts as JSON files under `folder`/<collection>/<state key>-<asked>.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, collection: str, key: str, asked: str) -> Path:
        return report_folder(self.folder, collection) / f"{key}-{asked}.json"

    def write(self, collection: str, asked: str, layout: MapLayout) -> Path:
        """Write atomically, and drop the layouts of earlier states of the collection."""
        file = self.path(collection, layout.key, asked)
        file.parent.mkdir(parents=True, exist_ok=True)
        for old in file.parent.glob("*.json"):
            if not old.name.startswith(layout.key + "-"):
                old.unlink(missing_ok=True)
        write_text_atomic(file, json.dumps(layout.to_json(), separators=(",", ":")))
        return file
