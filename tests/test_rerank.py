"""Re-ranking (alpha query expansion, database-side augmentation) against an independent numpy implementation.

The reference below builds the whole similarity matrix in float64 and sorts
it, the way the paper's formulas read; the code under test finds neighbours in
blocks, in float32, without an n x n matrix.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import evaluation.ranking.ranker
from commands.context import Context
from evaluation import RankingRequest, Rerank, RunRecord, leave_one_out, rank_all, read_records
from evaluation.metrics.comparisons import rank_records
from evaluation.metrics.per_query import evaluate_rankings
from evaluation.ranking.near_duplicates import find_duplicates
from render.cells import figure
from store import ImagePayload, VectorStore, point_id


def store_vectors(
    store: VectorStore, name: str, vectors: np.ndarray, labels: list[str], dataset: str = "synthetic", encoder="toy"
) -> None:
    paths = [f"{label}/{i:03d}.jpg" for i, label in enumerate(labels)]
    store.ensure_collection(name, vectors.shape[1])
    store.upsert(
        name,
        [point_id(dataset, p) for p in paths],
        vectors.astype(np.float32),
        payloads=[
            ImagePayload(label, p, dataset, encoder, i) for i, (label, p) in enumerate(zip(labels, paths, strict=True))
        ],
    )


def clustered(n_per_class: int = 20, classes: int = 4, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors around one centre per class, noisy enough that re-ranking changes the mAP."""
    rng = np.random.default_rng(seed)
    labels = [f"c{c}" for c in range(classes) for _ in range(n_per_class)]
    centres = rng.normal(size=(classes, dim))
    vectors = centres[[int(label[1:]) for label in labels]] + rng.normal(scale=1.6, size=(len(labels), dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def reference_expand(x: np.ndarray, y: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """normalise(x_i + sum over the k nearest y_j (j != i) of max(0, x_i . y_j)^alpha y_j), whole matrix at once."""
    similarity = x @ y.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    weights = np.maximum(np.take_along_axis(similarity, nearest, 1), 0) ** alpha
    out = x + np.einsum("nk,nkd->nd", weights, y[nearest])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def reference_map(vectors: np.ndarray, labels: list[str], method: str, k: int, alpha: float) -> float:
    v = vectors.astype(np.float64)
    database = reference_expand(v, v, k, alpha) if method in ("dba", "dba+aqe") else v
    queries = reference_expand(v, database, k, alpha) if method in ("aqe", "dba+aqe") else v
    similarity = queries @ database.T
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :-1]
    return evaluate_rankings(order, np.array(labels)).mean_ap


@pytest.mark.parametrize("method", ["aqe", "dba", "dba+aqe"])
@pytest.mark.parametrize(("k", "alpha"), [(2, 3.0), (5, 1.0), (3, 0.0)])
def test_rerank_matches_the_numpy_reference(store, monkeypatch, method, k, alpha):
    vectors, labels = clustered()
    store_vectors(store, "toy", vectors, labels)
    monkeypatch.setattr(evaluation.ranking.ranker, "BLOCK_ROWS", 7)  # several blocks, one of them short
    reranked = leave_one_out(store, "toy", RankingRequest(stage=Rerank(method, k, alpha)))
    plain = reference_map(vectors, labels, method, 0, alpha)
    expected = reference_map(vectors, labels, method, k, alpha)
    assert expected != pytest.approx(plain, abs=1e-3)  # the re-ranking changes the figure: a no-op cannot pass
    assert reranked.mean_ap == pytest.approx(expected, abs=1e-6)
    assert reranked.name == f"toy +{method} (k={k}, alpha={alpha:g})"
    assert not (reranked.top == np.arange(len(labels))[:, None]).any()  # never itself, whatever the expansion


def test_k_zero_gives_the_plain_ranking_exactly(store):
    vectors, labels = clustered(seed=1)
    store_vectors(store, "toy", vectors, labels)
    plain = rank_all(store, "toy").order
    for method in ("aqe", "dba", "dba+aqe"):
        assert np.array_equal(rank_all(store, "toy", RankingRequest(stage=Rerank(method, k=0))).order, plain)


def test_rerank_on_the_batch_query_method_is_refused(store):
    vectors, labels = clustered()
    store_vectors(store, "toy", vectors, labels)
    with pytest.raises(ValueError, match="block"):
        rank_all(store, "toy", RankingRequest(method="batch-query", stage=Rerank("aqe")))


def test_duplicates_are_grouped_and_excluded_like_a_numpy_reference(store):
    vectors, labels = clustered(seed=2)
    rng = np.random.default_rng(3)
    copies = {5: 4, 4: 30, 50: 51, 60: 61}  # 4 ~ 5 ~ 30 (a chain), 50 ~ 51, 60 ~ 61 across classes
    for source, target in copies.items():
        nudged = vectors[source] + rng.normal(scale=1e-3, size=vectors.shape[1])
        vectors[target] = nudged / np.linalg.norm(nudged)
    store_vectors(store, "toy", vectors, labels)
    evaluated = leave_one_out(store, "toy", RankingRequest(exclude_duplicates=True))
    cosine = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    pairs = [(i, j) for i in range(len(labels)) for j in range(i + 1, len(labels)) if cosine[i, j] >= 0.995]
    assert evaluated.duplicates.pairs == len(pairs) >= 4
    removed = {30, 5, 51, 61}  # each group keeps its first point in dataset order
    assert set(np.flatnonzero(~evaluated.duplicates.keep)) == removed
    kept = [i for i in range(len(labels)) if i not in removed]
    expected = reference_map(vectors[kept], [labels[i] for i in kept], "aqe", 0, 1.0)
    assert evaluated.deduplicated.mean_ap == pytest.approx(expected, abs=1e-6)
    assert evaluated.to_json()["duplicates"]["map_without_duplicates"] == pytest.approx(expected, abs=1e-6)


def test_find_duplicates_on_a_hand_made_set():
    vectors = np.eye(4, dtype=np.float32)[[0, 1, 0, 2, 1, 0]]
    found = find_duplicates(vectors)
    # pairs: (0,2) (0,5) (2,5) of e0, (1,4) of e1
    assert (found.pairs, found.groups, found.removed) == (4, 2, 3)
    assert found.keep.tolist() == [True, True, False, True, False, False]


def _cli(store, *args: str):
    import cli

    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False, obj=Context(handed=store))


def test_cli_eval_rerank_writes_its_own_rows_and_the_study_side_by_side(store, tmp_path):
    vectors, labels = clustered(seed=4)
    store_vectors(store, "paris_clip", vectors, labels, dataset="paris", encoder="clip")
    shuffled = np.random.default_rng(5).permutation(vectors)  # the same points with another encoder's vectors
    store_vectors(store, "paris_dinov2", shuffled, labels, dataset="paris", encoder="dinov2")
    reports = tmp_path / "reports"
    args = ["--reports", str(reports), "eval", "--data-root", str(tmp_path), "--rerank", "aqe", "--rerank-k", "3"]
    result = _cli(store, *args, "--alpha", "2")
    assert result.exit_code == 0, result.output
    assert "paris_clip +aqe" in result.output and "not comparable with the study" in result.output
    plain = json.loads((reports / "paris_clip" / "runs" / "full.json").read_text())
    reranked = json.loads((reports / "paris_clip" / "runs" / "aqe-k3-alpha2.json").read_text())
    assert plain["rerank"] is None and plain["collection"] == "paris_clip"
    assert reranked["rerank"]["method"] == "aqe" and (reranked["rerank"]["k"], reranked["rerank"]["alpha"]) == (3, 2)
    assert reranked["collection"] == "paris_clip" and reranked["study"] is None
    assert reranked["name"] == "paris_clip +aqe (k=3, alpha=2)" and reranked["variant"]["slug"] == "aqe-k3-alpha2"
    assert reranked["map"] == pytest.approx(reference_map(vectors, labels, "aqe", 3, 2.0), abs=1e-6)
    # the study's Paris figure for CLIP (docs/design.md) beside ours, and the difference
    assert plain["study"]["map"] == 0.3068
    assert plain["study"]["difference"] == pytest.approx(plain["map"] - 0.3068, abs=1e-6)
    assert "study 0.3068" in result.output
    interval = plain["map_interval"]
    assert interval["low"] <= plain["map"] <= interval["high"]
    assert (interval["resamples"], interval["seed"]) == (1000, 0)
    # clustered vectors against the same points with shuffled vectors: a clear, significant lead
    [ranking] = rank_records(read_records(reports))  # computed from the records, as every table does
    assert [row.name.split()[0] for row in ranking.rows[:2]] == ["paris_clip", "paris_clip"]
    second = ranking.rows[1]
    assert second.next.startswith("paris_dinov2")
    assert second.difference.significant and second.difference.difference > 0.2
    assert second.difference.difference == pytest.approx(second.mean_ap - ranking.rows[2].mean_ap, abs=1e-12)
    assert [row.mean_ap for row in ranking.rows] == sorted((row.mean_ap for row in ranking.rows), reverse=True)
    assert ranking.rows[-1].next is None and len(ranking.rows) == 4
    page = (reports / "index.html").read_text()
    assert "not comparable with the study" in page and "Paired comparisons per dataset" in page
    assert "dinov2 +aqe" in page


def test_two_collections_of_the_same_points_and_vectors_compare_as_equal(store):
    vectors, labels = clustered(seed=6)
    store_vectors(store, "same_a", vectors, labels, encoder="a")
    store_vectors(store, "same_b", vectors, labels, encoder="b")
    records = [RunRecord.parse(leave_one_out(store, name).to_json(), name) for name in ("same_b", "same_a")]
    [ranking] = rank_records(records)
    first, last = ranking.rows
    assert (first.name, first.next, last.next) == ("same_a", "same_b", None)  # equal mAP: by name
    assert first.difference.difference == 0 and first.difference.p_value == 1
    assert first.difference.significant is False


def test_a_rerank_shows_the_plain_row_and_the_gain_when_the_plain_one_was_recorded_before(store, tmp_path):
    vectors, labels = clustered(seed=4)
    store_vectors(store, "paris_clip", vectors, labels, dataset="paris", encoder="clip")
    reports = tmp_path / "reports"
    assert _cli(store, "--reports", str(reports), "eval", "-c", "paris_clip").exit_code == 0
    plain = json.loads((reports / "paris_clip" / "runs" / "full.json").read_text())["map"]
    args = ["--reports", str(reports), "eval", "-c", "paris_clip", "--rerank", "aqe", "--rerank-k", "3"]
    result = _cli(store, *args, "--alpha", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row["map"] for row in json.loads(result.stdout)}
    assert rows["paris_clip"] == plain and rows["paris_clip +aqe (k=3, alpha=2)"] != plain  # the plain row too
    reranked = rows["paris_clip +aqe (k=3, alpha=2)"]
    table = _cli(store, *args, "--alpha", "2")
    line = next(line for line in table.output.splitlines() if "plain," in line)
    gain = f"({reranked - plain:+.4f})"
    assert line == f"paris_clip +aqe (k=3, alpha=2): mAP {figure(plain)} plain, {figure(reranked)} re-ranked {gain}"
