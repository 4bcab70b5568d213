"""Bootstrap intervals and the paired sign-flip test, against plain numpy loops and generated figures."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics.per_query import evaluate_rankings
from evaluation.metrics.statistics import bootstrap_interval, paired_difference


def test_the_bootstrap_equals_a_plain_numpy_loop_with_the_same_seed():
    values = np.random.default_rng(7).beta(2, 3, size=83)
    values[[3, 40]] = np.nan  # queries without AP are left out
    kept = values[~np.isnan(values)]
    rng = np.random.default_rng(11)
    means = []
    for _ in range(500):
        sample = rng.choice(kept, size=len(kept), replace=True)
        means.append(sum(sample) / len(sample))
    expected = np.percentile(means, [2.5, 97.5])
    interval = bootstrap_interval(values, resamples=500, seed=11)
    assert (interval.low, interval.high) == pytest.approx(tuple(expected), abs=1e-12)


def test_the_interval_covers_the_mean_and_shrinks_with_more_queries():
    rng = np.random.default_rng(0)
    widths = []
    for n in (30, 300, 3000):
        values = rng.beta(2, 3, size=n)
        interval = bootstrap_interval(values)
        assert interval.low < values.mean() < interval.high
        widths.append(interval.high - interval.low)
    assert widths[0] > 2 * widths[1] > 4 * widths[2]  # about 1/sqrt(n): 3.2x per step


def _rankings(noise: float, seed: int, n_per_class: int = 40, classes: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Per-query AP of leave-one-out rankings of clustered vectors (noise sets how good they are)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    vectors = rng.normal(size=(classes, 8))[labels] + rng.normal(scale=noise, size=(len(labels), 8))
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :-1]
    return evaluate_rankings(order, labels).ap, labels


def test_a_collection_against_a_copy_of_itself_shows_no_difference():
    ap, _ = _rankings(1.0, 0)
    compared = paired_difference(ap, ap.copy())
    assert compared.difference == 0 and compared.p_value == 1 and not compared.significant
    assert compared.interval.low == compared.interval.high == 0


def test_a_good_ranking_against_a_shuffled_one_is_a_clear_difference():
    good, labels = _rankings(0.8, 1)
    rng = np.random.default_rng(2)
    shuffled = np.array([rng.permutation([j for j in range(len(labels)) if j != q]) for q in range(len(labels))])
    bad = evaluate_rankings(shuffled, labels).ap
    compared = paired_difference(good, bad)
    assert compared.difference == pytest.approx(np.mean(good - bad))
    assert compared.significant and compared.p_value == pytest.approx(1 / 1001)  # no sign flip comes close
    assert 0 < compared.interval.low < compared.difference < compared.interval.high
    reverse = paired_difference(bad, good)
    assert reverse.difference == pytest.approx(-compared.difference) and reverse.p_value == compared.p_value


def test_two_draws_of_the_same_quality_are_usually_not_significant():
    first, _ = _rankings(1.5, 3)
    noise = np.random.default_rng(4).normal(scale=0.05, size=len(first))
    compared = paired_difference(first, np.clip(first + noise - noise.mean(), 0, 1))
    assert compared.p_value > 0.05 and compared.interval.low < 0 < compared.interval.high


def test_paired_figures_need_the_same_queries():
    with pytest.raises(ValueError, match="same queries"):
        paired_difference(np.zeros(3), np.zeros(4))


def test_holm_adjusts_step_down_on_a_hand_worked_family():
    from evaluation.metrics.statistics import holm

    # sorted: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1, but never below the step before: 0.04); NaN: no test
    assert holm([0.04, 0.01, float("nan"), 0.02]) == pytest.approx([0.04, 0.03, float("nan"), 0.04], nan_ok=True)
    assert holm([0.03, 0.5]) == pytest.approx([0.06, 0.5])
    assert holm([0.2]) == [0.2]  # one comparison: the p-value itself
    assert holm([0.4, 0.45, 0.5]) == pytest.approx([1.0, 1.0, 1.0])  # capped at 1, monotone


def test_three_rows_are_holm_corrected_and_the_table_says_which_differences_survive():
    from evaluation import RunRecord
    from evaluation.metrics.comparisons import rank_records

    rng = np.random.default_rng(2)
    ids = [f"q{i}" for i in range(40)]
    base = rng.uniform(0.3, 0.6, 40)
    aps = {"c": base, "b": base + 0.02 * rng.standard_normal(40) + 0.006}
    aps["a"] = aps["b"] + 0.02 * rng.standard_normal(40) + 0.007

    def record(name: str) -> RunRecord:
        values = dict(zip(ids, aps[name].tolist(), strict=True))
        data = {"collection": name, "dataset": "d", "encoder": name, "map": float(aps[name].mean())}
        return RunRecord.parse({**data, "ap_per_query": values}, name)

    [ranking] = rank_records([record("c"), record("a"), record("b")])
    first, second, last = ranking.rows
    raw = [first.difference.p_value, second.difference.p_value]
    assert [first.holm_p, second.holm_p] == pytest.approx(holm_reference(raw))
    assert raw == pytest.approx([0.036, 0.040], abs=0.001)  # each significant alone ...
    assert first.difference.significant and second.difference.significant
    assert first.holm_p == pytest.approx(2 * raw[0]) and second.holm_p == first.holm_p  # ... neither of the two
    assert not first.survives and not second.survives
    assert last.holm_p is None and not last.survives
    assert ranking.to_json()["rows"][1]["against_next"]["significant_after_holm"] is False
    [pair] = rank_records([record("c"), record("b")])
    assert pair.rows[0].holm_p == pair.rows[0].difference.p_value and pair.rows[0].survives  # two rows: as before


def holm_reference(p_values: list[float]) -> list[float]:
    """Holm by its definition, written independently: reject in ascending order while p_(j) < alpha / (m - j + 1);
    the adjusted p-value is the smallest alpha at which each is rejected."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (m - step) * p_values[i]))
        adjusted[i] = running
    return adjusted


def test_the_randomization_test_of_several_rows_approaches_its_exact_value():
    import itertools

    from evaluation.metrics.statistics import permutation_range

    values = np.array([[0.9, 0.5, 0.4], [0.8, 0.6, 0.3], [0.7, 0.7, 0.5], [0.6, 0.2, 0.1]])
    observed = np.ptp(values.mean(axis=0))
    # every assignment of each query's values to the rows, counted exactly: 6^4 = 1296 equally likely tables
    per_query = [list(itertools.permutations(row)) for row in values]
    as_large = sum(np.ptp(np.array(table).mean(axis=0)) >= observed - 1e-12 for table in itertools.product(*per_query))
    exact = as_large / 6 ** len(values)
    assert permutation_range(values, resamples=20_000) == pytest.approx(exact, abs=0.01)
    assert permutation_range(np.repeat(values[:, :1], 3, axis=1)) == 1.0  # identical rows: nothing to find
    assert np.isnan(permutation_range(values[:, :1]))


def test_three_rows_on_the_same_queries_get_the_all_equal_test_and_two_do_not():
    from evaluation import RunRecord
    from evaluation.metrics.comparisons import rank_records

    rng = np.random.default_rng(4)
    ids = [f"q{i}" for i in range(30)]
    base = rng.uniform(0.2, 0.7, 30)

    def record(name: str, shift: float) -> RunRecord:
        values = base + shift + 0.01 * rng.standard_normal(30)
        data = {"collection": name, "dataset": "d", "encoder": name, "map": float(values.mean())}
        return RunRecord.parse({**data, "ap_per_query": dict(zip(ids, values.tolist(), strict=True))}, name)

    far = [record("a", 0.2), record("b", 0.0), record("c", 0.0)]
    [ranking] = rank_records(far)
    assert ranking.all_equal_p is not None and ranking.all_equal_p < 0.01
    assert ranking.to_json()["all_equal"]["p_value"] == ranking.all_equal_p
    [pair] = rank_records(far[:2])
    assert pair.all_equal_p is None and pair.to_json()["all_equal"] is None
