"""The evaluation's ranking without full sorts gives the figures of the full sort, ties and duplicates included.

Random small collections, drawn so that exact ties are everywhere: vectors
from a small table of +-0.5 entries (every score exact in float32, many
duplicate vectors), or normal vectors with duplicated rows, scores with -0.0;
single labels from a few classes, or label sets (multi-label relevance);
full rankings and every cut k; every point a query, or a sample; plain, or
re-ranked (aqe, dba). The reference ranks each query by sorting its whole row
(`tests.ranking_reference`, the evaluation's old ranking) and measures the
rankings with the same figure code (`FigureSums.add` on positions).
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics.named_metrics import NamedMetric
from evaluation.metrics.per_query import FigureSums
from evaluation.metrics.relevance import pack_membership
from evaluation.protocols.leave_one_out import GALLERY_HITS, _measure
from evaluation.ranking.bins import rank_rows
from evaluation.ranking.ranker import BlockOutput
from evaluation.ranking.request import RankingRequest
from evaluation.ranking.rerankers import Rerank
from store import ImagePayload, Points
from tests.ranking_reference import full_ranking


def random_collection(rng: np.random.Generator, exact: bool) -> np.ndarray:
    """Unit float32 vectors with many exact ties: +-0.5 entries from a small table, or duplicated normal rows."""
    n = int(rng.integers(2, 70))
    if exact:
        table = np.zeros((int(rng.integers(1, 8)), 16), np.float32)
        for row in table:
            row[rng.choice(16, 4, replace=False)] = rng.choice([-0.5, 0.5], 4)
        return table[rng.integers(0, len(table), n)]
    distinct = rng.normal(size=(int(rng.integers(1, n + 1)), 8)).astype(np.float32)
    vectors = distinct[rng.integers(0, len(distinct), n)]
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def random_labels(rng: np.random.Generator, n: int, multi: bool) -> np.ndarray:
    """One label of a few per point, or a membership matrix (points x classes) with 0-3 classes a point."""
    classes = int(rng.integers(1, 6))
    if not multi:
        return rng.choice(np.array(list("abcdef"))[:classes], n)
    return rng.random((n, classes)) < rng.uniform(0.1, 0.7)


def points_of(vectors: np.ndarray) -> Points:
    payloads = [ImagePayload("x", f"{i}.jpg", "random", "toy", i) for i in range(len(vectors))]
    return Points([f"id{i}" for i in range(len(vectors))], payloads, vectors)


def reference(vectors, labels, k, queries, stage):
    """Figures and galleries of the full sort of every row."""
    query_vectors, database = stage(vectors) if stage is not None else (vectors, vectors)
    n = len(vectors)
    width = n - 1 if k is None else min(k, n - 1)
    positions = np.arange(n) if queries is None else queries
    order, scores = full_ranking(query_vectors, database, positions, width)
    sums = FigureSums(labels, k, queries, metrics=METRICS)
    sums.add(order)
    shown = min(GALLERY_HITS, width)
    return sums.figures(), order[:, :shown], scores[:, :shown]


METRICS = tuple(NamedMetric.parse(name) for name in ("ndcg@3", "recall@5", "mrr", "mrr@2"))
CASES = [(seed, exact, multi) for seed in range(40) for exact in (True, False) for multi in (False, True)]


@pytest.mark.parametrize(("seed", "exact", "multi"), CASES)
def test_figures_equal_the_full_sort(store, seed, exact, multi):
    rng = np.random.default_rng(seed)
    vectors = random_collection(rng, exact)
    n = len(vectors)
    labels = random_labels(rng, n, multi)
    queries = None if seed % 3 else np.sort(rng.choice(n, int(rng.integers(1, n + 1)), replace=False))
    stage = [None, None, Rerank("aqe", k=2), Rerank("dba", k=1)][seed % 4]
    for k in [None, 1, 3, 7, n - 1, n + 5]:
        expected, top, top_scores = reference(vectors, labels, k, queries, stage)
        got, got_top, got_scores, _ = _measure(
            store,
            "unused",
            points_of(vectors),
            request=RankingRequest(k=k, method="block", stage=stage),
            sums=FigureSums(labels, k, queries, metrics=METRICS),
            output=BlockOutput(queries=queries, keep_scores=GALLERY_HITS, shown=GALLERY_HITS),
        )
        for name in ("ap", "r_precision", "n_relevant"):
            np.testing.assert_allclose(getattr(got, name), getattr(expected, name), atol=1e-9, err_msg=f"{name} k={k}")
        for rank, values in expected.precision.items():
            np.testing.assert_allclose(got.precision[rank], values, atol=1e-9, err_msg=f"P@{rank} k={k}")
        np.testing.assert_allclose(got.pr_curve, expected.pr_curve, atol=1e-9, err_msg=f"PR k={k}")
        for name, values in expected.named.items():
            np.testing.assert_allclose(got.named[name], values, atol=1e-9, err_msg=f"{name} k={k}")
        np.testing.assert_array_equal(got_top, top, err_msg=f"galleries k={k}")
        np.testing.assert_array_equal(got_scores, top_scores, err_msg=f"gallery scores k={k}")


def test_the_random_collections_have_ties_that_change_the_figures():
    """A wrong tie order gives other figures on these collections, so the test above can fail."""
    changed = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        vectors = random_collection(rng, exact=True)
        labels = random_labels(rng, len(vectors), multi=False)
        order, _ = full_ranking(vectors, vectors, np.arange(len(vectors)), len(vectors) - 1)
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        backwards = np.lexsort((-np.arange(len(vectors))[None, :].repeat(len(vectors), 0), -similarity), axis=1)
        forward, reverse = FigureSums(labels), FigureSums(labels)
        forward.add(order)
        reverse.add(backwards[:, :-1])
        changed += not np.allclose(forward.figures().ap, reverse.figures().ap, equal_nan=True)
    assert changed >= 5


@pytest.mark.parametrize("seed", range(30))
def test_rank_rows_equals_a_sort_of_each_row(seed):
    """Scores with -0.0, 0.0, tiny and repeated values, -inf out of the ranking, any relevant set, any cut."""
    rng = np.random.default_rng(seed)
    rows, n = int(rng.integers(1, 9)), int(rng.integers(2, 80))
    values = np.array([-1.0, -0.25, -0.0, 0.0, 1e-30, -1e-30, 1e-45, 0.5, 0.75, 1.0], np.float32)
    scores = rng.choice(values, (rows, n)) if seed % 2 else rng.normal(size=(rows, n)).astype(np.float32)
    own = rng.integers(0, n, rows)
    scores[np.arange(rows), own] = -np.inf
    relevant = rng.random((rows, n)) < rng.random()
    relevant[np.arange(rows), own] = False
    shown = int(rng.integers(0, n + 3))
    got = rank_rows(scores, relevant, shown)
    order = np.lexsort((np.broadcast_to(np.arange(n), (rows, n)), -(scores + np.float32(0))), axis=1)
    hit_row, hit_col = np.nonzero(np.take_along_axis(relevant, order, 1))
    np.testing.assert_array_equal(got.row, hit_row)
    np.testing.assert_array_equal(got.rank, hit_col + 1)
    np.testing.assert_array_equal(got.top, order[:, : min(shown, n - 1)])
    np.testing.assert_array_equal(got.top_scores, np.take_along_axis(scores, order[:, : min(shown, n - 1)], 1))


def test_multi_label_relevance_of_the_block_path_is_shared_classes():
    membership = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], bool)
    sums = FigureSums(membership)
    relevant = sums.relevant_to(np.array([1, 3, 4]))
    expected = [[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]  # the query itself excluded; no class, no match
    np.testing.assert_array_equal(relevant, np.array(expected, bool))
    assert pack_membership(membership).shape == (5, 1)


@pytest.mark.parametrize("seed", range(6))
def test_near_duplicates_from_the_ranking_scores_equal_their_own_search(store, seed):
    """The block path finds near-duplicate pairs in the scores it ranks; the same pairs as a search of its own."""
    from evaluation import leave_one_out
    from evaluation.ranking.near_duplicates import find_duplicates
    from store import point_id

    rng = np.random.default_rng(seed)
    vectors = random_collection(rng, exact=seed % 2 == 0)
    labels = random_labels(rng, len(vectors), multi=False)
    paths = [f"{i:03d}.jpg" for i in range(len(vectors))]
    store.ensure_collection("dups", vectors.shape[1])
    payloads = [
        ImagePayload(str(label), path, "dups", "toy", i)
        for i, (label, path) in enumerate(zip(labels, paths, strict=True))
    ]
    store.upsert("dups", [point_id("dups", p) for p in paths], vectors, payloads=payloads)
    found = leave_one_out(store, "dups", RankingRequest(method="block")).duplicates
    expected = find_duplicates(store.points("dups", with_vectors=True).vectors)
    assert expected.pairs > 0
    assert (found.pairs, found.groups, found.examples) == (expected.pairs, expected.groups, expected.examples)
    np.testing.assert_array_equal(found.keep, expected.keep)
