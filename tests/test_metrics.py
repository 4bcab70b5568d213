"""The metric functions against scikit-learn and hand-worked rankings."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from evaluation.metrics.per_query import (
    PARALLEL_HITS,
    average_precision,
    evaluate_rankings,
    hit_figures,
    interpolated_precision,
    other_members,
    per_class_ap,
    precision_at,
    r_precision,
)

# Hand-worked ranking: relevant at ranks 1, 3 and 6 of 6, R = 3.
# AP = (1/1 + 2/3 + 3/6) / 3 = 13/18.
HAND = np.array([[True, False, True, False, False, True]])


def _random_rankings(n: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, scores without ties (diagonal excluded) and each row's ranking of the others."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(str)
    scores = rng.permutation(n * n).reshape(n, n).astype(np.float64)  # all distinct
    np.fill_diagonal(scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, : n - 1]
    return labels, scores, order


def test_map_equals_scikit_learn_average_precision_on_rankings_without_ties():
    labels, scores, order = _random_rankings(240, 7, seed=1)
    others = ~np.eye(len(labels), dtype=bool)
    expected = [
        average_precision_score(labels[others[q]] == labels[q], scores[q][others[q]]) for q in range(len(labels))
    ]
    figures = evaluate_rankings(order, labels, block=50)
    assert figures.skipped == 0
    assert figures.mean_ap == pytest.approx(np.mean(expected), abs=1e-9)
    assert np.allclose(figures.ap, expected, atol=1e-9)


def test_figures_shared_among_threads_equal_scikit_learn_on_many_hits():
    """Past PARALLEL_HITS hits the queries are measured in parts, one thread each: the same AP as scikit-learn's."""
    rng = np.random.default_rng(3)
    relevant = rng.random((300, 800)) < 0.4  # rank i+1 holds column i
    assert relevant.sum() > PARALLEL_HITS
    n_relevant = relevant.sum(axis=1)
    measured = hit_figures(relevant, n_relevant, n_relevant)
    by_rank = -np.arange(relevant.shape[1])  # scores that rank the columns in order
    expected = [average_precision_score(row, by_rank) for row in relevant]
    np.testing.assert_allclose(measured.ap, expected, atol=1e-12)
    np.testing.assert_allclose(measured.precision[10], relevant[:, :10].mean(axis=1), atol=1e-12)


def test_hand_worked_average_precision():
    assert average_precision(HAND, np.array([3]))[0] == pytest.approx(13 / 18)
    # A fourth relevant item that never shows up still counts in the denominator.
    assert average_precision(HAND, np.array([4]))[0] == pytest.approx(13 / 24)
    assert np.isnan(average_precision(np.zeros((1, 3), bool), np.array([0]))[0])


def test_ap_at_k_divides_by_the_smaller_of_r_and_k():
    top3 = np.array([[True, True, False], [False, True, True]])
    r = np.array([5, 2])
    ap_at_3 = average_precision(top3, np.minimum(r, 3))
    assert ap_at_3 == pytest.approx([(1 + 1) / 3, (1 / 2 + 2 / 3) / 2])
    labels = np.array(list("aaaaaabbb"))
    order = np.array([[j for j in range(9) if j != q] for q in range(9)])
    figures = evaluate_rankings(order[:, :3], labels, k=3)
    # query 0 (R = 5): ranks 1 to 3 all relevant -> 3 / min(5, 3) = 1
    assert figures.ap[0] == pytest.approx(1.0)
    # query 6 (label b, R = 2) sees a, a, a first: nothing found in the top 3
    assert figures.ap[6] == 0.0


def test_singleton_class_is_left_out_of_the_means_and_counted():
    labels = np.array(["a", "a", "a", "lonely", "b", "b"])
    order = np.array([[j for j in range(6) if j != q] for q in range(6)])
    figures = evaluate_rankings(order, labels)
    assert figures.skipped == 1
    assert np.isnan(figures.ap[3]) and np.isnan(figures.precision[1][3]) and np.isnan(figures.r_precision[3])
    assert figures.mean_ap == pytest.approx(np.mean(figures.ap[[0, 1, 2, 4, 5]]))
    assert not np.isnan(figures.pr_curve).any()
    assert np.isnan(per_class_ap(figures.ap, labels)["lonely"])
    assert other_members(labels).tolist() == [2, 2, 2, 0, 1, 1]


def test_precision_at_k_and_r_precision_on_a_hand_example():
    assert precision_at(HAND, 1)[0] == 1.0
    assert precision_at(HAND, 5)[0] == pytest.approx(2 / 5)
    assert precision_at(HAND, 6)[0] == pytest.approx(3 / 6)
    assert r_precision(HAND, np.array([3]))[0] == pytest.approx(2 / 3)
    assert r_precision(HAND, np.array([1]))[0] == 1.0
    assert r_precision(HAND, np.array([6]))[0] == pytest.approx(3 / 6)
    assert np.isnan(r_precision(HAND, np.array([0]))[0])


def test_figures_past_the_end_of_a_ranking_are_unknown_not_misses():
    # a ranking of 6 says nothing about rank 10, nor about the first R = 8 ranks
    assert np.isnan(precision_at(HAND, 10)[0])
    assert np.isnan(r_precision(HAND, np.array([8]))[0])
    labels = np.array(list("aaaaaabbb"))
    order = np.array([[j for j in range(9) if j != q] for q in range(9)])
    cut = evaluate_rankings(order[:, :3], labels, k=3)
    assert np.isnan(cut.mean_precision(5)) and np.isnan(cut.mean_precision(10))
    assert cut.mean_precision(1) == pytest.approx(np.mean(labels[order[:, 0]] == labels))
    # R = 5 for the a's (past the cut: unknown), R = 2 for the b's (within it)
    assert np.isnan(cut.r_precision[:6]).all() and not np.isnan(cut.r_precision[6:]).any()
    assert cut.mean_r_precision == pytest.approx(np.mean(cut.r_precision[6:]))
    # a full ranking shorter than 10 (9 points): P@10 unknown, the rest known
    full = evaluate_rankings(order, labels)
    assert np.isnan(full.mean_precision(10)) and not np.isnan(full.mean_precision(5))
    assert not np.isnan(full.r_precision).any()


def test_interpolated_precision_on_a_hand_example():
    curve = interpolated_precision(HAND, np.array([3]))[0]
    # precision at the hits: 1, 2/3, 1/2; recall there: 1/3, 2/3, 1
    assert curve[0] == curve[33] == 1.0
    assert curve[34] == curve[66] == pytest.approx(2 / 3)
    assert curve[67] == curve[100] == 0.5
    # a ranking that stops before recall 1 gets precision 0 beyond what it reached
    assert interpolated_precision(HAND, np.array([6]))[0][51] == 0.0


def test_interpolated_precision_matches_its_definition_on_random_rankings():
    labels, _, order = _random_rankings(60, 4, seed=2)
    relevant = labels[order] == labels[:, None]
    r = other_members(labels)
    curve = interpolated_precision(relevant, r)
    for q in range(len(labels)):
        hits = np.cumsum(relevant[q])
        precision = hits / np.arange(1, len(hits) + 1)
        recall = hits / r[q]
        for i, level in enumerate(np.linspace(0, 1, 101)):
            reached = recall >= level - 1e-12
            assert curve[q, i] == pytest.approx(precision[reached].max() if reached.any() else 0.0)


def test_row_blocks_do_not_change_any_figure():
    labels, _, order = _random_rankings(130, 5, seed=3)
    one, blocked = evaluate_rankings(order, labels, block=1000), evaluate_rankings(order, labels, block=7)
    assert np.array_equal(one.ap, blocked.ap)
    assert np.allclose(one.pr_curve, blocked.pr_curve)
    assert all(np.array_equal(one.precision[k], blocked.precision[k]) for k in one.precision)
