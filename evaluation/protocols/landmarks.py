"""The Revisited Oxford/Paris protocol over a stored database collection: what `eval` runs for one.

The database is an ordinary collection ingested from the published layout
(`ingest.reading.revisited`). The 70 queries are cropped to their boxes, as the
protocol prescribes, and embedded here with the encoder recorded in the
collection's provenance (its random init for random weights); the weights
must be the ones that made the database, or the figures would compare two
encoders. Rankings are exact cosine over the stored vectors, ties by database
order; the figures are `evaluation.metrics.revisitop`'s.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from errors import EvaluationError
from evaluation.metrics.revisitop import KAPPAS, SetupFigures, evaluate_revisited
from evaluation.query_encoders import QueryEncoders
from evaluation.records.published_revisited import reference
from media.containment import containment_problem
from media.groundtruth import IMAGE_FOLDER, GroundTruth, QueryTruth, read_ground_truth, truth_file
from media.images import BadImage, load_rgb
from store import Provenance, VectorStore
from store.provenance import random_marked

PROTOCOL = "revisited"


@dataclass
class LandmarkEvaluation:
    """Easy, Medium and Hard figures of one revisited collection, with the published ones beside them."""

    collection: str
    dataset: str
    encoder: str
    location: str
    provenance: Provenance
    truth_file: str
    database: int
    figures: dict[str, SetupFigures]
    seconds: float
    truth: GroundTruth | None = None
    database_ids: list[str] = field(default_factory=list)  # the stored point id of each database image, in order
    order: np.ndarray | None = None  # (queries, database) database positions, best first, ties by database order
    scores: np.ndarray | None = None  # the cosine of each, in the same order

    @property
    def reference(self) -> dict | None:
        return reference(self.dataset, self.encoder)

    @property
    def title(self) -> str:
        return random_marked(self.collection, self.provenance.random_weights)

    def to_json(self) -> dict:
        return {
            "collection": self.collection,
            "source_collection": self.collection,
            "protocol": PROTOCOL,
            "dataset": self.dataset,
            "encoder": self.encoder,
            "store": self.location,
            "provenance": self.provenance.to_json(),
            "random_weights": self.provenance.random_weights,
            "weights": self.provenance.weights_identity.describe(),
            "ground_truth": self.truth_file,
            "database": self.database,
            "queries": len(next(iter(self.figures.values())).ap),
            "kappas": list(KAPPAS),
            "setups": {setup: figures.to_json() for setup, figures in self.figures.items()},
            "reference": self.reference,
            "seconds": round(self.seconds, 4),
        }


def revisited_truth(provenance: Provenance | None) -> Path | None:
    """The ground-truth file of a collection ingested from a revisited layout (beside its jpg/), or None."""
    if provenance is None or not provenance.image_root:
        return None
    root = Path(provenance.image_root)
    return truth_file(root.parent, provenance.dataset) if root.name == IMAGE_FOLDER else None


def evaluate_landmarks(
    store: VectorStore, collection: str, provenance: Provenance, *, file: Path, encoders: QueryEncoders
) -> LandmarkEvaluation:
    """Embed the cropped queries with the collection's encoder (built by `encoders`), rank the database, measure
    the three setups."""
    started = time.perf_counter()
    truth = read_ground_truth(file, provenance.dataset)
    database, ids = _database_vectors(store, collection, truth)
    queries = _embed_queries(truth, provenance, encoders)
    similarity = queries @ database.T
    order = np.argsort(-similarity, axis=1, kind="stable")  # ties by database order
    figures = evaluate_revisited(order, truth.queries)
    return LandmarkEvaluation(
        collection,
        provenance.dataset,
        provenance.encoder,
        store.location,
        provenance,
        str(file),
        len(truth.database),
        figures,
        time.perf_counter() - started,
        truth=truth,
        database_ids=ids,
        order=order,
        scores=np.take_along_axis(similarity, order, axis=1),
    )


def _database_vectors(store: VectorStore, collection: str, truth: GroundTruth) -> tuple[np.ndarray, list[str]]:
    """The stored vectors and point ids in the ground truth's database order; every database image must be
    stored."""
    points = store.points(collection, with_vectors=True)
    row = {path: i for i, path in enumerate(points.paths)}
    missing = [name for name in truth.database if f"{name}.jpg" not in row]
    if missing:
        raise EvaluationError(
            f"collection '{collection}' lacks {len(missing)} of the {len(truth.database)} database images of "
            f"{truth.dataset} (first: {missing[0]}.jpg); the protocol ranks all of them: ingest them again"
        )
    rows = [row[f"{name}.jpg"] for name in truth.database]
    return points.vectors[rows], [points.ids[i] for i in rows]


def crop_box(size: tuple[int, int], bbx: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """The query box in pixels: rounded as PIL's crop rounds it, kept inside the image."""
    width, height = size
    x0, y0, x1, y1 = (round(v) for v in bbx)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def _embed_queries(truth: GroundTruth, provenance: Provenance, encoders: QueryEncoders) -> np.ndarray:
    """The cropped queries embedded with the encoder and weights that made the database, or an error saying why
    they cannot be."""
    if encoders.image_encoder is None:
        raise EvaluationError(
            f"the queries of '{truth.dataset}' need the encoder '{provenance.encoder}', and none was handed to the "
            f"evaluation; evaluate with `python cli.py eval`"
        )
    identity = provenance.weights_identity
    init = identity.kind if identity.random else "pretrained"
    encoder = encoders.image_encoder(provenance.encoder, init)
    if encoder.weights is None or encoder.weights.to_dict() != identity.to_dict():
        made = encoder.weights.describe() if encoder.weights else "unknown weights"
        raise EvaluationError(
            f"the queries of '{truth.dataset}' would be embedded with {made}, the database was made with "
            f"{identity.describe()}; evaluate with the weights that made the collection"
        )
    image_root = Path(provenance.image_root)
    return encoder.embed_pil([_query_image(query, image_root, truth.file) for query in truth.queries])


def _query_image(query: QueryTruth, image_root: Path, truth_file: Path):
    """The query's image cropped to its box; a name leaving the image folder, an unreadable image or a box
    that is not a number, inverted or outside the image is one line naming the query and the file."""
    relative = f"{query.name}.jpg"
    problem = containment_problem(image_root, relative)
    if problem is not None:
        raise EvaluationError(f"'{truth_file}': query '{query.name}': {problem}")
    path = image_root / relative
    try:
        image = load_rgb(path)
    except (BadImage, OSError) as error:
        raise EvaluationError(f"cannot read query image '{path}': {error}") from None
    problem = box_problem(image.size, query.bbx)
    if problem is not None:
        raise EvaluationError(
            f"'{truth_file}': query '{query.name}' ({path.name}) has box {list(query.bbx)}: {problem}; "
            f"download the ground truth again"
        )
    return image.crop(crop_box(image.size, query.bbx))


def box_problem(size: tuple[int, int], bbx: tuple[float, ...]) -> str | None:
    """Why (x0, y0, x1, y1) cannot be cropped from an image of `size`, or None."""
    if not all(math.isfinite(v) for v in bbx):
        return "not a number"
    x0, y0, x1, y1 = bbx
    if x1 <= x0 or y1 <= y0:
        return "inverted or empty"
    left, top, right, bottom = crop_box(size, bbx)
    if right <= left or bottom <= top:
        return f"outside the {size[0]}x{size[1]} image"
    return None
