"""The Revisited Oxford/Paris protocol against hand-worked figures and an independent implementation."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics.revisitop import evaluate_revisited
from media.groundtruth import QueryTruth

# Database 0..5, one query ranked [3, 0, 5, 1, 4, 2]; easy [0], hard [1], junk [5].
# Medium: positives {0, 1}, junk {5}: without junk the ranking is [3, 0, 1, 4, 2], positives at
#   0-based ranks 1 and 2: AP = 1/2 * ((0/1 + 1/2)/2 + (1/2 + 2/3)/2) = 5/12;
#   P@1 = 0/1; P@5: last positive at 1-based rank 3, so k' = 3 and P = 2/3.
# Easy: positives {0}, junk {5, 1}: ranking [3, 0, 4, 2], rank 1: AP = (0/1 + 1/2)/2 = 1/4, P@5 = 1/2.
# Hard: positives {1}, junk {5, 0}: ranking [3, 1, 4, 2]: AP = 1/4.
HAND_ORDER = np.array([[3, 0, 5, 1, 4, 2], [1, 0, 2, 3, 4, 5]])
HAND_TRUTH = [
    QueryTruth("q0", (0, 0, 1, 1), easy=(0,), hard=(1,), junk=(5,)),
    # second query: easy [1] found first, no hard positive (skipped in Hard), junk [0]
    QueryTruth("q1", (0, 0, 1, 1), easy=(1,), hard=(), junk=(0,)),
]


def test_hand_worked_figures():
    figures = evaluate_revisited(HAND_ORDER, HAND_TRUTH)
    assert figures["medium"].ap[0] == pytest.approx(5 / 12)
    assert figures["medium"].precision[1][0] == 0
    assert figures["medium"].precision[5][0] == pytest.approx(2 / 3)
    assert figures["easy"].ap[0] == pytest.approx(1 / 4)
    assert figures["easy"].precision[5][0] == pytest.approx(1 / 2)
    assert figures["hard"].ap[0] == pytest.approx(1 / 4)
    # q1: its only positive is first: AP = (1 + 1)/2 = 1 in Easy and Medium; P@k' with k' = 1 is 1
    assert figures["easy"].ap[1] == figures["medium"].ap[1] == 1
    assert figures["medium"].precision[10][1] == 1
    assert np.isnan(figures["hard"].ap[1])  # no positive in Hard: left out of the mean
    assert figures["hard"].mean_ap == pytest.approx(1 / 4)
    assert figures["hard"].queries == 1
    assert figures["medium"].mean_ap == pytest.approx((5 / 12 + 1) / 2)


def _reference(ranking: list[int], positives: set[int], junk: set[int], kappas) -> tuple[float, list[float]]:
    """From the definition: walk the ranking skipping junk (the lists are disjoint), a trapezoid of the
    precision before and after each positive, and P@k over the positives' 1-based ranks."""
    found = 0
    area = 0.0
    hit_ranks = []
    seen = 0
    for image in ranking:
        if image in positives:
            before = 1.0 if seen == 0 else found / seen
            after = (found + 1) / (seen + 1)
            area += (before + after) / 2 / len(positives)
            found += 1
            hit_ranks.append(seen + 1)
            seen += 1
        elif image not in junk:
            seen += 1
    precisions = []
    for k in kappas:
        cut = min(k, max(hit_ranks))
        precisions.append(sum(1 for r in hit_ranks if r <= cut) / cut)
    return area, precisions


def test_against_an_independent_implementation_on_random_ground_truths():
    rng = np.random.default_rng(11)
    database, queries, kappas = 60, 25, (1, 5, 10)
    order = np.array([rng.permutation(database) for _ in range(queries)])
    truths = []
    for q in range(queries):
        picked = rng.permutation(database)
        easy, hard, junk = (tuple(int(i) for i in part) for part in np.split(picked[:18], [rng.integers(0, 7), 12]))
        if q % 5 == 0:
            hard = ()  # no positive in Hard
        if q % 7 == 0:
            easy = ()  # no positive in Easy
        truths.append(QueryTruth(f"q{q}", (0, 0, 1, 1), easy, hard, junk))
    figures = evaluate_revisited(order, truths, kappas)
    setups = {
        "easy": lambda t: (set(t.easy), set(t.junk) | set(t.hard)),
        "medium": lambda t: (set(t.easy) | set(t.hard), set(t.junk)),
        "hard": lambda t: (set(t.hard), set(t.junk) | set(t.easy)),
    }
    for setup, lists in setups.items():
        aps, precisions = [], []
        for q, truth in enumerate(truths):
            positives, junk = lists(truth)
            if not positives:
                assert np.isnan(figures[setup].ap[q])
                continue
            ap, precision = _reference(order[q].tolist(), positives, junk, kappas)
            assert figures[setup].ap[q] == pytest.approx(ap)
            aps.append(ap)
            precisions.append(precision)
        assert figures[setup].mean_ap == pytest.approx(np.mean(aps))
        for i, k in enumerate(kappas):
            assert figures[setup].mean_precision(k) == pytest.approx(np.mean([p[i] for p in precisions]))
    assert figures["hard"].queries < queries and figures["easy"].queries < queries
