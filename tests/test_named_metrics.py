"""nDCG@k, MRR and recall@k (`eval --metric`): hand-worked rankings, ranx as the independent reference, the record."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from commands.context import Context
from evaluation.metrics.named_metrics import Measure, NamedMetric
from evaluation.metrics.per_query import evaluate_rankings
from tests.test_evaluation import LABELS, add_collection

METRICS = tuple(NamedMetric.parse(name) for name in ("ndcg@3", "recall@2", "mrr", "mrr@1"))


def test_hand_worked_ndcg_recall_and_reciprocal_rank():
    labels = np.array(["a", "a", "a", "b", "b"])
    order = np.array([[3, 1, 4, 2], [0, 2, 3, 4], [3, 4, 0, 1], [0, 4, 1, 2], [0, 1, 2, 3]])
    named = evaluate_rankings(order, labels, metrics=METRICS).named
    # query 0: relevant 1, 2 at ranks 2 and 4; R = 2
    assert named["ndcg@3"][0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert named["recall@2"][0] == pytest.approx(0.5)
    assert named["mrr"][0] == pytest.approx(0.5)
    assert named["mrr@1"][0] == 0  # the first relevant hit is at rank 2
    # query 3: its one other member (4) at rank 2
    assert named["ndcg@3"][3] == pytest.approx(1 / math.log2(3))
    assert (named["recall@2"][3], named["mrr"][3]) == (1.0, 0.5)


def test_a_query_without_another_member_has_none_and_a_cut_past_the_ranking_is_unknown():
    labels = np.array(["a", "a", "b"])
    order = np.array([[1, 2], [0, 2], [0, 1]])
    named = evaluate_rankings(order, labels, metrics=(*METRICS, NamedMetric(Measure.NDCG, 5))).named
    assert all(math.isnan(values[2]) for values in named.values())
    assert np.isnan(named["ndcg@5"]).all()  # rankings of 2: what lies past them is unknown


def test_names_parse_and_an_unknown_one_is_one_line():
    assert [m.name for m in METRICS] == ["ndcg@3", "recall@2", "mrr", "mrr@1"]
    assert NamedMetric.parse("NDCG@10") == NamedMetric(Measure.NDCG, 10)
    for bad in ("ndcg", "map@3", "recall@0", "ndcg@x"):
        with pytest.raises(ValueError, match="ndcg@K") as error:
            NamedMetric.parse(bad)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("multi_label", [False, True])
def test_every_named_metric_equals_ranx_on_random_rankings(multi_label):
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(7)
    n = 60
    if multi_label:
        labels = rng.random((n, 4)) < 0.3
        relevant = (labels.astype(int) @ labels.T.astype(int)) > 0
    else:
        labels = rng.integers(0, 6, n)
        relevant = labels[:, None] == labels[None, :]
    order = np.array([[j for j in rng.permutation(n) if j != q] for q in range(n)])
    names = ("ndcg@10", "ndcg@59", "recall@5", "recall@20", "mrr", "mrr@3")
    figures = evaluate_rankings(order, labels, metrics=tuple(NamedMetric.parse(name) for name in names))
    qrels = {f"q{q}": {f"d{j}": 1 for j in range(n) if j != q and relevant[q, j]} for q in range(n)}
    qrels = {q: docs for q, docs in qrels.items() if docs}
    run = {f"q{q}": {f"d{j}": float(n - i) for i, j in enumerate(order[q])} for q in range(n) if f"q{q}" in qrels}
    expected = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), [*names, "map", "precision@5", "r-precision"])
    assert figures.mean_named() == pytest.approx({name: expected[name] for name in names}, abs=1e-9)
    assert figures.mean_ap == pytest.approx(expected["map"], abs=1e-9)
    assert figures.mean_precision(5) == pytest.approx(expected["precision@5"], abs=1e-9)
    assert figures.mean_r_precision == pytest.approx(expected["r-precision"], abs=1e-9)


def test_eval_metric_is_stored_in_the_record_under_its_name_and_shown(store, tmp_path):
    import cli

    add_collection(store, "toy", LABELS)
    reports = tmp_path / "reports"
    args = ["--reports", str(reports), "eval", "-c", "toy", "--metric", "ndcg@10", "--metric", "mrr"]
    result = CliRunner().invoke(cli.cli, args, obj=Context(handed=store))
    assert result.exit_code == 0, result.output
    assert "ndcg@10" in result.output and "mrr" in result.output
    record = json.loads((reports / "toy" / "runs" / "full.json").read_text())
    assert set(record["metrics"]) == {"ndcg@10", "mrr"}
    assert 0 < record["metrics"]["ndcg@10"] <= 1 and 0 < record["metrics"]["mrr"] <= 1
    bad = CliRunner().invoke(cli.cli, [*args[:5], "--metric", "ndgc@10"], obj=Context(handed=store))
    assert bad.exit_code == 2 and "unknown metric 'ndgc@10'" in bad.output
