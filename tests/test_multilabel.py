"""Multi-label relevance: list lines with several labels, payloads keeping them, shared-label metrics."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from sklearn.metrics import average_precision_score

from commands.context import Context
from evaluation.metrics.per_query import evaluate_rankings, per_class_ap
from evaluation.metrics.relevance import membership
from ingest import read_dataset
from store import ImagePayload
from tests.conftest import write_list_dataset


def _random_sets(n: int, classes: int, seed: int) -> list[tuple[str, ...]]:
    """Label sets of one to three classes each, some points with a class nobody else has."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(n):
        size = rng.integers(1, 4)
        sets.append(tuple(f"c{c}" for c in rng.choice(classes, size, replace=False)))
    sets[0] = ("lonely",)
    return sets


def test_multi_label_ap_equals_scikit_learn_with_shared_label_relevance():
    n = 120
    sets = _random_sets(n, classes=70, seed=3)  # 71 classes: two packed words
    rng = np.random.default_rng(4)
    scores = rng.permutation(n * n).reshape(n, n).astype(np.float64)
    np.fill_diagonal(scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, : n - 1]
    matrix, _ = membership(sets)
    figures = evaluate_rankings(order, matrix, block=17)
    for q in range(n):
        others = [p for p in range(n) if p != q]
        truth = np.array([bool(set(sets[q]) & set(sets[p])) for p in others])
        assert figures.n_relevant[q] == truth.sum()
        if truth.any():
            assert np.isclose(figures.ap[q], average_precision_score(truth, scores[q, others]))
        else:
            assert np.isnan(figures.ap[q])
    assert np.isnan(figures.ap[0])


def test_single_label_sets_give_the_single_label_figures():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, 60).astype(str)
    order = np.array([np.r_[rng.permutation(np.delete(np.arange(60), q))] for q in range(60)])
    single = evaluate_rankings(order, labels)
    multi = evaluate_rankings(order, membership([(label,) for label in labels])[0])
    np.testing.assert_allclose(multi.ap, single.ap)
    np.testing.assert_allclose(multi.pr_curve, single.pr_curve)


def test_per_class_ap_counts_a_query_in_each_of_its_classes():
    ap = np.array([0.2, 0.4, np.nan, 1.0])
    sets = [("car", "person"), ("person",), ("car",), ("dog", "car")]
    assert per_class_ap(ap, sets) == {"car": (0.2 + 1.0) / 2, "dog": 1.0, "person": (0.2 + 0.4) / 2}


def test_list_lines_with_several_labels(tmp_path):
    folder = write_list_dataset(tmp_path / "Multi")
    lines = (folder / "list_of_images.txt").read_text().splitlines()
    lines[0] = lines[0] + ",green, blue"
    lines[1] = lines[1].split("\t")[0] + "\tred,red"
    lines[2] = lines[2].split("\t")[0] + "\tred,,green"
    (folder / "list_of_images.txt").write_text("\n".join(lines) + "\n")
    dataset = read_dataset(folder)
    first = dataset.items[0]
    assert (first.label, first.labels) == ("red", ("red", "green", "blue"))
    assert (dataset.items[1].label, dataset.items[1].labels) == ("red", None)  # a repeated label counts once
    assert [p.where for p in dataset.problems] == ["list_of_images.txt:3"]
    assert "empty label" in dataset.problems[0].reason
    assert dataset.multi_label and dataset.classes == ["blue", "green", "red"]


def test_payload_keeps_every_label_and_single_label_payloads_are_unchanged():
    multi = ImagePayload("car", "a.jpg", "voc", "clip", 0, labels=("car", "person"))
    stored = multi.to_dict()
    assert stored["labels"] == ["car", "person"]
    assert ImagePayload.read(stored) == multi
    single = ImagePayload("car", "b.jpg", "voc", "clip", 1)
    assert "labels" not in single.to_dict()
    assert ImagePayload.read(single.to_dict()) == single
    older = {"label": "car", "path": "c.jpg", "dataset": "voc", "encoder": "clip", "index": 2}
    assert ImagePayload.read(older).label_set == ("car",)


def test_multi_label_collection_is_ingested_and_evaluated(tmp_path, store):
    from cli import cli

    root = tmp_path / "data"
    folder = write_list_dataset(root / "Multi")
    lines = (folder / "list_of_images.txt").read_text().splitlines()
    lines[0] = lines[0] + ",green"  # red/00.jpg is also green
    (folder / "list_of_images.txt").write_text("\n".join(lines) + "\n")
    handed = Context(handed=store)  # the CLI in this process, on the open store
    runner = CliRunner()
    reports = tmp_path / "reports"
    common = ["--reports", str(reports)]
    result = runner.invoke(
        cli,
        [*common, "ingest", "--data-root", str(root), "-e", "colorhist", "--init", "random"],
        catch_exceptions=False,
        obj=handed,
    )
    assert result.exit_code == 0, result.output
    points = store.points("multi_colorhist", with_vectors=True)
    assert points.payloads[0].labels == ("red", "green")
    result = runner.invoke(
        cli, [*common, "eval", "-c", "multi_colorhist", "--format", "json"], catch_exceptions=False, obj=handed
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{") :])
    assert metrics["multi_label"] is True
    assert set(metrics["per_class_ap"]) == {"red", "green", "blue"}
    sets = [set(p.label_set) for p in points.payloads]
    scores = points.vectors @ points.vectors.T
    for q, pid in enumerate(points.ids):  # red/00 is relevant to 3 reds and 4 greens; every green to red/00
        ranking = [p for p in np.argsort(-scores[q], kind="stable") if p != q]  # ties by dataset order
        truth = np.array([bool(sets[q] & sets[p]) for p in ranking])
        ranks = np.flatnonzero(truth) + 1
        expected = np.mean(np.arange(1, len(ranks) + 1) / ranks)  # AP from its definition
        assert np.isclose(metrics["ap_per_query"][pid], expected)
    for row in metrics["best"] + metrics["worst"]:
        query = set(row["label"].split(","))
        assert [hit["relevant"] for hit in row["hits"]] == [
            bool(query & set(h["label"].split(","))) for h in row["hits"]
        ]
