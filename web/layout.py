"""A collection's embedding map: every point placed in 2-D, computed once per collection content.

The projection comes from a well-kept library: UMAP (umap-learn, cosine
metric) up to UMAP_MAX_POINTS, where it finishes in reasonable time on a
laptop CPU, and PCA beyond that, or wherever UMAP is not
installed or PCA is asked for; PCA is also the preview drawn while UMAP is
computed. A layout is written as JSON under reports/.maps/<collection>/,
named by the collection's content (`content_key`: the point count, a digest
of every point's id, labels and image sha256, and of what made the vectors),
so it is read back until the content changes (an ingest that finds nothing new
keeps it) and never recomputed for the same content.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from media.files import write_bytes_atomic
from media.folders import report_folder
from search import summarize
from store import CollectionInfo, ImagePayload, Points, VectorStore

METHODS = ("auto", "umap", "pca")
UMAP_MAX_POINTS = 20_000  # see BENCHMARKS.md: UMAP's time at 20,000 points on this project's CPUs
GRID = 10_000  # coordinates sent as integers 0..GRID: compact JSON, finer than any screen
PCA_BLOCK, PCA_ITERATIONS = 12, 20  # the subspace iteration that finds the two PCA axes
DESCRIBED = {"umap": "UMAP (umap-learn, cosine)", "pca": "PCA (numpy)"}


@dataclass(frozen=True)
class MapLayout:
    """Every point of a collection at integer (x, y) in 0..GRID, with its class as an index into `classes`."""

    method: str  # "umap" or "pca", what was computed
    reason: str  # that method in words (DESCRIBED); why it was chosen travels with the answer (`MapAnswer`)
    key: str  # the collection content the layout belongs to (`content_key`)
    seconds: float  # time the projection took when it was computed
    classes: list[str]  # empty where no point has a label: one colour, no legend
    ids: list[str]
    x: list[int]
    y: list[int]
    c: list[int]

    def to_json(self) -> dict:
        return asdict(self)

    def encoded(self) -> bytes:
        """The layout as compact JSON, as the cache keeps it and the map's data endpoint sends it."""
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


def umap_available() -> bool:
    """Whether umap-learn is installed, found without importing it (the import takes seconds: numba)."""
    return importlib.util.find_spec("umap") is not None


def choose_method(asked: str, n: int) -> tuple[str, str]:
    """(method, reason): what `asked` ("auto", "umap", "pca") means for n points."""
    if asked not in METHODS:
        raise ValueError(f"unknown projection '{asked}'; choose one of {', '.join(METHODS)}")
    if asked == "pca":
        return "pca", "PCA, as asked"
    if not umap_available():
        return "pca", "PCA: umap-learn is not installed"
    if asked == "umap":
        return "umap", "UMAP (umap-learn, cosine), as asked"
    if n > UMAP_MAX_POINTS:
        return "pca", f"PCA: more than {UMAP_MAX_POINTS:,} points, where UMAP would take minutes"
    if n < 5:
        return "pca", "PCA: too few points for UMAP"
    return "umap", f"UMAP (umap-learn, cosine): up to {UMAP_MAX_POINTS:,} points; PCA beyond"


def content_key(info: CollectionInfo, points: list[tuple[str, ImagePayload]]) -> str:
    """The collection's content as a file-name-safe key: the point count, a digest of every point's id, labels and
    image sha256 (the payload's own content hash), and of what made the vectors (encoder, model, weights,
    preprocessing, precision, dimension). No time stamp: an ingest that stores nothing new keeps the key."""
    made = info.provenance
    vectors = [made.encoder, made.model_id, made.weights, made.preprocessing, made.precision, made.dim] if made else []
    lines = sorted(f"{pid}\t{payload.sha256 or ''}\t{'|'.join(payload.label_set)}" for pid, payload in points)
    digest = hashlib.sha256(json.dumps([info.encoder, info.dim, vectors, lines], sort_keys=True).encode())
    return f"{len(points)}-{digest.hexdigest()[:24]}"


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
    return principal_components(vectors)


def principal_components(vectors: np.ndarray) -> np.ndarray:
    """(n, 2): the vectors' first two principal components, numpy only (no scikit-learn import on the request path).

    The axes come from the d x d covariance (one float32 matrix product) by subspace iteration on a seeded block
    of PCA_BLOCK vectors, then the exact top two within it: a full eigendecomposition of a 768 x 768 covariance
    alone took 1.3 s on the busy 2-core machine, this whole function about 0.3 s at 20,000 x 768. Each axis's
    sign is fixed (its largest loading positive), so the same vectors give the same map.
    """
    centred = np.asarray(vectors, dtype=np.float32)
    centred = centred - centred.mean(axis=0, dtype=np.float64).astype(np.float32)
    covariance = (centred.T @ centred).astype(np.float64)
    block = np.random.default_rng(0).normal(size=(len(covariance), min(PCA_BLOCK, len(covariance))))
    for _ in range(PCA_ITERATIONS):
        block, _ = np.linalg.qr(covariance @ block)
    values, within = np.linalg.eigh(block.T @ covariance @ block)
    axes = block @ within[:, np.argsort(values)[::-1][:2]]
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])
    return centred @ axes.astype(np.float32)


def to_grid(coordinates: np.ndarray) -> tuple[list[int], list[int]]:
    """Coordinates scaled into 0..GRID on both axes (same scale, so distances keep their proportions)."""
    if len(coordinates) == 0:
        return [], []
    low = coordinates.min(axis=0)
    span = float((coordinates.max(axis=0) - low).max()) or 1.0
    scaled = np.rint((coordinates - low) / span * GRID).astype(int)
    return scaled[:, 0].tolist(), scaled[:, 1].tolist()


def compute_layout(
    points: Points, key: str, method: str, *, projector: Callable[[np.ndarray, str], np.ndarray] = project
) -> MapLayout:
    """The layout of `points` (read with vectors) by `method` ("umap" or "pca", as `choose_method` resolved it),
    the coordinates from `projector` (`project` here; the web app's UMAP worker runs it in a child process)."""
    started = time.perf_counter()
    vectors = points.vectors if points.vectors is not None else np.zeros((len(points.ids), 0), np.float32)
    coordinates = projector(vectors, method)
    seconds = time.perf_counter() - started
    labels = [str(label) if label is not None else "?" for label in points.labels]
    classes = sorted(set(labels)) if any(label is not None for label in points.labels) else []
    index = {label: i for i, label in enumerate(classes)}
    x, y = to_grid(coordinates)
    described = DESCRIBED[method]
    return MapLayout(
        method, described, key, round(seconds, 3), classes, points.ids, x, y, [index.get(la, 0) for la in labels]
    )


class LayoutCache:
    """Layouts as JSON files under `folder`/<collection>/<content key>-<method>.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, collection: str, key: str, method: str) -> Path:
        return report_folder(self.folder, collection) / f"{key}-{method}.json"

    def read(self, collection: str, key: str, method: str) -> bytes | None:
        """The cached layout's JSON, or None: read at once, since writing another content's layout removes it."""
        try:
            return self.path(collection, key, method).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, collection: str, layout: MapLayout) -> bytes:
        """Write atomically, and drop the layouts of earlier contents of the collection; the JSON written."""
        file = self.path(collection, layout.key, layout.method)
        file.parent.mkdir(parents=True, exist_ok=True)
        for old in file.parent.glob("*.json"):
            if not old.name.startswith(layout.key + "-"):
                old.unlink(missing_ok=True)
        encoded = layout.encoded()
        write_bytes_atomic(file, encoded)
        return encoded


@dataclass(frozen=True)
class Precomputed:
    """What `precompute` left in the cache: the file, its method, why that method, and the seconds it took (None:
    the layout of this content was there already)."""

    file: Path
    method: str
    reason: str
    seconds: float | None


def precompute(store: VectorStore, name: str, folder: Path, *, asked: str = "auto") -> Precomputed:
    """The collection's layout computed now and kept under `folder` (`collections map`), unless this content's is
    there already, so that `serve` draws the map at once; the same key and files as the web app's."""
    summary = summarize(store, name, samples=store.info(name).points)
    key = content_key(summary.info, summary.samples)
    method, reason = choose_method(asked, len(summary.samples))
    cache = LayoutCache(folder)
    file = cache.path(name, key, method)
    if file.is_file():
        return Precomputed(file, method, reason, None)
    layout = compute_layout(store.points(name, with_vectors=True), key, method)
    cache.write(name, layout)
    return Precomputed(file, method, reason, layout.seconds)
