"""nDCG@k, MRR and recall@k (`eval --metric`): hand-worked rankings and the record (ranx, the independent reference,
scores them in tests/test_trec.py, where its compiled functions are built once)."""

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
    assert "<th>ndcg@10</th>" in (reports / "index.html").read_text()  # the report's facts of the record
    bad = CliRunner().invoke(cli.cli, [*args[:5], "--metric", "ndgc@10"], obj=Context(handed=store))
    assert bad.exit_code == 2 and "unknown metric 'ndgc@10'" in bad.output
