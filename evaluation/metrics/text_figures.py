"""Text-to-image retrieval figures as pure functions: one text query per class, every image of it relevant.

A class label becomes one or more prompts ("a photo of a {label}"); their
text embeddings are averaged (`prompt_vectors`) into one query per class,
which ranks every stored image (none is left out: the query is not a point).
The figures are those of `evaluation.metrics.per_query` with the same definitions: AP is
(1/R) * sum over relevant ranks k of precision@k, R being the number of images
of the class (min(R, k) for AP@k); ties are broken by dataset position. No
I/O, no store, no model.
"""

from __future__ import annotations

import numpy as np

from evaluation.metrics.per_query import PR_LEVELS, PRECISION_RANKS, QueryFigures, hit_figures

DEFAULT_TEMPLATE = "a photo of a {label}"


def prompts(template: str, labels: list[str]) -> list[str]:
    """The text of each label's query under `template` ('{label}' replaced; a template without it is refused)."""
    if "{label}" not in template:
        raise ValueError(f"template '{template}' has no '{{label}}' to put the class name in")
    return [template.replace("{label}", label) for label in labels]


def prompt_vectors(per_template: list[np.ndarray]) -> np.ndarray:
    """One unit query vector per class from T arrays (classes x d), one per template.

    Each text embedding is normalised, the T of a class are averaged, and the
    mean is normalised again (the usual prompt ensemble: CLIP's zero-shot
    classifier does the same).
    """
    if not per_template:
        raise ValueError("no template given")
    stacked = np.stack([_unit(np.asarray(v, dtype=np.float64)) for v in per_template])
    return _unit(stacked.mean(axis=0)).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1)


def rank_scores(scores: np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's columns by score, best first, ties by column (dataset position); cut at `width`.

    (positions, their scores). A stable sort of the negated scores keeps equal
    scores in column order (-0.0 and 0.0 compare equal).
    """
    order = np.argsort(-scores, axis=1, kind="stable")
    if width is not None:
        order = order[:, :width]
    return order.astype(np.int32), np.take_along_axis(scores, order, axis=1)


def text_query_figures(scores: np.ndarray, relevant: np.ndarray, k: int | None = None) -> QueryFigures:
    """The figures of text queries from their score table.

    `scores` (queries x points): each query's score for every stored image.
    `relevant` (queries x points, bool): whether image j belongs to query i's
    class (for several labels per image: the class is one of them). With `k`
    only the top k of each ranking count (AP@k, denominator min(R, k)). A
    query whose class has no image (R = 0) has NaN figures.
    """
    scores, relevant = np.asarray(scores), np.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {scores.shape} and relevance {relevant.shape} differ in shape")
    n_relevant = relevant.sum(axis=1)
    order, _ = rank_scores(scores, k)
    hits = np.take_along_axis(relevant, order.astype(np.int64), axis=1)
    denominators = np.minimum(n_relevant, k) if k is not None else n_relevant
    measured = hit_figures(hits, denominators, n_relevant)
    precision = {rank: np.where(n_relevant > 0, measured.precision[rank], np.nan) for rank in PRECISION_RANKS}
    counted = n_relevant > 0
    pr_curve = measured.curves[counted].mean(axis=0) if counted.any() else np.full(PR_LEVELS, np.nan)
    return QueryFigures(measured.ap, precision, measured.r_precision, pr_curve, n_relevant)


def class_relevance(classes: list[str], label_sets: list[tuple[str, ...]]) -> np.ndarray:
    """relevant[i, j]: image j carries class `classes[i]` among its labels."""
    column = {label: c for c, label in enumerate(classes)}
    relevant = np.zeros((len(classes), len(label_sets)), dtype=bool)
    for j, labels in enumerate(label_sets):
        for label in labels:
            if label in column:
                relevant[column[label], j] = True
    return relevant
