"""Text-to-image evaluation of a collection whose encoder has a text tower (CLIP, SigLIP).

Each class label becomes a text query (`evaluation.metrics.text_figures.prompts`, one
or several templates averaged), embedded with the encoder and weights the
collection's provenance records, and ranks every stored image by exact
cosine, ties by dataset position; every image of the class is relevant. The
figures are mAP over classes, P@k, R-precision, the PR curve and the AP of
each class, with the best and worst classes as galleries (drawn by
`media.sheets`, the query shown as its text). Its record is the collection's
variant of kind text-to-image (`evaluation.records.run_records`), its AP per query keyed
by class label.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from errors import EvaluationError
from evaluation.metrics.per_query import PR_LEVELS, PRECISION_RANKS, QueryFigures, metric_name
from evaluation.metrics.relevance import label_sets, shown_labels
from evaluation.metrics.statistics import bootstrap_interval
from evaluation.metrics.text_figures import class_relevance, prompt_vectors, prompts, rank_scores, text_query_figures
from evaluation.query_encoders import QueryEncoders, TextTower
from evaluation.records.gallery_rows import json_number
from evaluation.records.variant import TEXT_TO_IMAGE, Variant
from media.sheets import OTHER_CLASS, QUERY, SAME_CLASS, TILE, Row, Tile, draw_sheet, text_tile
from media.thumbnails import thumbnail
from store import Provenance, VectorStore
from store.provenance import random_marked

GALLERY_ROWS = 5
GALLERY_HITS = 5


@dataclass
class TextEvaluation:
    """The text-to-image figures of one collection: one query per class."""

    collection: str
    dataset: str
    encoder: str
    location: str
    provenance: Provenance | None
    k: int | None
    templates: list[str]
    classes: list[str]
    figures: QueryFigures  # row i: the query of classes[i]
    top: np.ndarray  # (classes, <= GALLERY_HITS) positions of each query's first hits
    top_scores: np.ndarray
    ids: list[str]
    labels: list[str]  # every point's shown label
    paths: list[str]
    multi_label: bool
    seconds: float

    @property
    def variant(self) -> Variant:
        return Variant(k=self.k, kind=TEXT_TO_IMAGE)

    @property
    def name(self) -> str:
        """The row's name: 'corel1k_clip text->image'."""
        return f"{self.collection} {self.variant.label}"

    @property
    def title(self) -> str:
        return random_marked(self.name, self.provenance is not None and self.provenance.random_weights)

    @property
    def metric(self) -> str:
        return metric_name(self.k)

    @property
    def mean_ap(self) -> float:
        return self.figures.mean_ap

    def ranked_classes(self, descending: bool) -> list[int]:
        """Classes with an AP by AP (ties by class order)."""
        with_ap = np.flatnonzero(~np.isnan(self.figures.ap))
        values = self.figures.ap[with_ap]
        return with_ap[np.argsort(-values if descending else values, kind="stable")].tolist()

    def relevant(self, c: int, position: int) -> bool:
        label = self.classes[c]
        shown = self.labels[position]
        return label in shown.split(",") if self.multi_label else label == shown

    def _row_json(self, c: int) -> dict:
        hits = [
            {
                "id": self.ids[p],
                "index": p,
                "score": float(s),
                "label": self.labels[p],
                "path": self.paths[p],
                "relevant": self.relevant(c, p),
            }
            for p, s in zip(self.top[c].tolist(), self.top_scores[c].tolist(), strict=True)
        ]
        return {
            "label": self.classes[c],
            "ap": json_number(self.figures.ap[c]),
            "images": int(self.figures.n_relevant[c]),
            "hits": hits,
        }

    def to_json(self) -> dict:
        figures = self.figures
        random = self.provenance is not None and self.provenance.random_weights
        return {
            "collection": self.collection,
            "name": self.name,
            "variant": self.variant.to_json(),
            "dataset": self.dataset,
            "encoder": self.encoder,
            "store": self.location,
            "provenance": self.provenance.to_json() if self.provenance else None,
            "random_weights": random,
            "weights": self.provenance.weights_identity.describe() if self.provenance else "provenance unknown",
            "templates": self.templates,
            "template_averaging": "each text embedding normalised, averaged over templates, normalised again",
            "k": self.k,
            "metric": self.metric,
            "ap_denominator": "R (images of the class)" if self.k is None else "min(R, k)",
            "points": len(self.ids),
            "queries": len(self.classes),
            "queries_evaluated": len(self.classes) - figures.skipped,
            "map": json_number(figures.mean_ap),
            "map_interval": bootstrap_interval(figures.ap).to_json(),
            "precision_at": {str(k): json_number(figures.mean_precision(k)) for k in PRECISION_RANKS},
            "r_precision": json_number(figures.mean_r_precision),
            "per_class_ap": {
                label: json_number(ap) for label, ap in zip(self.classes, figures.ap.tolist(), strict=True)
            },
            "ap_per_query": {
                label: json_number(ap) for label, ap in zip(self.classes, figures.ap.tolist(), strict=True)
            },
            "pr_curve": {
                "recall": [round(i / (PR_LEVELS - 1), 2) for i in range(PR_LEVELS)],
                "precision": [json_number(p) for p in figures.pr_curve],
            },
            "best": [self._row_json(c) for c in self.ranked_classes(True)[:GALLERY_ROWS]],
            "worst": [self._row_json(c) for c in self.ranked_classes(False)[:GALLERY_ROWS]],
            "seconds": {"total": round(self.seconds, 4)},
        }


def evaluate_text_queries(
    store: VectorStore, collection: str, *, templates: list[str], k: int | None = None, encoders: QueryEncoders
) -> TextEvaluation:
    """Embed one query per class with the collection's text tower (built by `encoders`) and measure the rankings
    of the images."""
    started = time.perf_counter()
    provenance = store.provenance(collection)
    points = store.points(collection, with_vectors=True)
    if not points.ids:
        raise EvaluationError(f"collection '{collection}' is empty; nothing to retrieve by text")
    payloads = points.payloads
    sets = label_sets(payloads)
    labels = shown_labels(payloads, sets)
    every = sets if sets is not None else [(label,) for label in labels]
    classes = sorted({label for labels_of in every for label in labels_of})
    encoder_name = provenance.encoder if provenance else payloads[0].encoder
    encoder = _text_tower(collection, provenance, encoder_name, encoders=encoders)
    queries = prompt_vectors([encoder.embed_texts(prompts(template, classes)) for template in templates])
    if queries.shape[1] != points.vectors.shape[1]:
        raise EvaluationError(
            f"collection '{collection}' holds {points.vectors.shape[1]}-d vectors but the text tower gives "
            f"{queries.shape[1]}-d; evaluate with the weights that made the collection"
        )
    scores = queries @ points.vectors.T  # classes x points, float32
    figures = text_query_figures(scores, class_relevance(classes, every), k)
    top, top_scores = rank_scores(scores, min(GALLERY_HITS, len(points.ids)))
    return TextEvaluation(
        collection=collection,
        dataset=payloads[0].dataset,
        encoder=encoder_name,
        location=store.location,
        provenance=provenance,
        k=k,
        templates=list(templates),
        classes=classes,
        figures=figures,
        top=top,
        top_scores=top_scores,
        ids=points.ids,
        labels=labels,
        paths=points.paths,
        multi_label=sets is not None,
        seconds=time.perf_counter() - started,
    )


def _text_tower(collection: str, provenance: Provenance | None, name: str, *, encoders: QueryEncoders) -> TextTower:
    """The text tower of the weights that made the collection, or an error saying why there is none."""
    if not encoders.has_text(name) or encoders.text_tower is None:
        raise EvaluationError(
            f"collection '{collection}' uses encoder '{name}', which has no text tower; text queries need "
            f"a collection made with clip or siglip"
        )
    if provenance is None:
        raise EvaluationError(
            f"collection '{collection}' does not record which weights made it, so its text queries cannot be "
            f"embedded alike; ingest it again with this release"
        )
    identity = provenance.weights_identity
    if identity.kind == "imported" and not provenance.same_as:
        raise EvaluationError(
            f"collection '{collection}' holds vectors imported from {provenance.imported_from}; no text encoder "
            f"is known to match them (import again with --same-as if encoder '{name}' made them)"
        )
    init = identity.kind if identity.random else "pretrained"
    encoder = encoders.text_tower(name, init, provenance.precision)
    if identity.kind != "imported" and (encoder.weights is None or encoder.weights.to_dict() != identity.to_dict()):
        made = encoder.weights.describe() if encoder.weights else "unknown weights"
        raise EvaluationError(
            f"the text queries of '{collection}' would be embedded with {made}, the images were embedded with "
            f"{identity.describe()}; evaluate with the weights that made the collection"
        )
    return encoder


def draw_text_gallery(evaluation: TextEvaluation, which: str, image_root: Path | None, *, out: Path) -> Path:
    """The best or worst classes: the query's text framed blue, then its first images, green when of the class."""
    rows = []
    for c in evaluation.ranked_classes(which == "best")[:GALLERY_ROWS]:
        label = evaluation.classes[c]
        shown = prompts(evaluation.templates[0], [label])[0]
        more = f" (+{len(evaluation.templates) - 1} templates)" if len(evaluation.templates) > 1 else ""
        tiles = [text_tile(shown + more, (f"query: {label}", "text"), QUERY)]
        for p, s in zip(evaluation.top[c].tolist(), evaluation.top_scores[c].tolist(), strict=True):
            colour = SAME_CLASS if evaluation.relevant(c, p) else OTHER_CLASS
            caption = (f"{s:.3f}  {evaluation.labels[p]}", evaluation.paths[p])
            tiles.append(Tile(thumbnail(image_root, evaluation.paths[p], TILE), caption, colour))
        heading = f"AP {evaluation.figures.ap[c]:.3f} · class {label} · {int(evaluation.figures.n_relevant[c])} images"
        rows.append(Row(heading, tiles))
    title = f"{evaluation.title}: the {len(rows)} {which} classes"
    return draw_sheet(rows or [Row("no class has an AP", [])], title, out)
