"""Leave-one-out through the store, the report files and `python cli.py eval`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from commands.context import Context
from errors import EvaluationError
from evaluation import RankingRequest, leave_one_out, rank_all, write_collection_report
from evaluation.metrics.per_query import evaluate_rankings
from presentation.static_report import write_index
from store import ImagePayload, VectorStore, open_store, point_id


def add_collection(store: VectorStore, name: str, labels: list[str], dim: int = 16, seed: int = 0) -> np.ndarray:
    """Unit vectors clustered by label, stored with the ingest payload; returns them."""
    rng = np.random.default_rng(seed)
    centres = {label: rng.normal(size=dim) for label in sorted(set(labels))}
    vectors = np.array([centres[label] + rng.normal(scale=1.5, size=dim) for label in labels])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    vectors[1] = vectors[0]  # an exact duplicate: a tie, broken by dataset order
    paths = [f"{label}/{i:03d}.jpg" for i, label in enumerate(labels)]
    store.ensure_collection(name, dim)
    store.upsert(
        name,
        [point_id("synthetic", p) for p in paths],
        vectors,
        payloads=[
            ImagePayload(label, path, "synthetic", "toy", i)
            for i, (label, path) in enumerate(zip(labels, paths, strict=True))
        ],
    )
    return vectors


LABELS = [c for c in "abcd" for _ in range(15)] + ["lonely"]


def test_leave_one_out_matches_a_numpy_reference_that_excludes_the_query(store):
    vectors = add_collection(store, "toy", LABELS)
    evaluation = leave_one_out(store, "toy")
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    reference = np.argsort(-similarity, axis=1, kind="stable")[:, :-1]
    expected = evaluate_rankings(reference, np.array(LABELS))
    assert evaluation.mean_ap == pytest.approx(expected.mean_ap, abs=1e-6)
    assert (evaluation.dataset, evaluation.encoder, evaluation.metric) == ("synthetic", "toy", "mAP")
    assert not (evaluation.top == np.arange(len(LABELS))[:, None]).any()


def test_the_query_never_appears_in_its_own_ranking(store):
    add_collection(store, "toy", LABELS)
    for method in ("block", "batch-query"):
        order = rank_all(store, "toy", RankingRequest(method=method)).order
        n = len(LABELS)
        assert order.shape == (n, n - 1)
        for q, row in enumerate(order):
            assert q not in row and sorted(row) == [j for j in range(n) if j != q]


def test_a_singleton_class_is_counted_and_left_out(store):
    add_collection(store, "toy", LABELS)
    summary = leave_one_out(store, "toy").to_json()
    assert summary["queries"] == 61 and summary["queries_skipped"] == 1
    assert summary["queries_evaluated"] == 60
    assert summary["labels_without_other_member"] == ["lonely"]
    assert summary["per_class_ap"]["lonely"] is None
    assert all(row["label"] != "lonely" for row in summary["best"] + summary["worst"])


def test_k_cuts_the_rankings_and_labels_the_figure_ap_at_k(store):
    add_collection(store, "toy", LABELS)
    evaluation = leave_one_out(store, "toy", RankingRequest(k=5))
    summary = evaluation.to_json()
    assert (summary["metric"], summary["k"], summary["ap_denominator"]) == ("mAP@5", 5, "min(R, k)")
    assert evaluation.top.shape == (61, 5)
    full = leave_one_out(store, "toy").to_json()
    assert summary["precision_at"]["5"] == pytest.approx(full["precision_at"]["5"])


def _assert_same_rankings(first, second) -> None:
    """Identical up to swaps among items whose scores differ by less than 1e-6 (float32 near-ties)."""
    assert np.allclose(first.scores, second.scores, atol=1e-6)
    for q in range(len(first.order)):
        rank_in_second = np.argsort(second.order[q])  # item position -> its rank in second's row
        rank_in_first = np.argsort(first.order[q])
        moved = np.flatnonzero(rank_in_first != rank_in_second)
        gaps = first.scores[q, rank_in_first[moved]] - first.scores[q, rank_in_second[moved]]
        assert np.all(np.abs(gaps) < 1e-6), f"query {q}: items moved past a real score gap"


def test_block_and_batch_query_paths_give_the_same_rankings_and_map(store):
    labels = [c for c in "abcdefg" for _ in range(30)]
    add_collection(store, "toy", labels, dim=24, seed=4)
    block = rank_all(store, "toy", RankingRequest(method="block"))
    batch = rank_all(store, "toy", RankingRequest(method="batch-query"))
    _assert_same_rankings(block, batch)
    block_map = leave_one_out(store, "toy", RankingRequest(method="block")).mean_ap
    assert leave_one_out(store, "toy", RankingRequest(method="batch-query")).mean_ap == pytest.approx(
        block_map, abs=1e-6
    )


@pytest.fixture
def server_store(server):
    """A store on conftest's test server (pinned image, API key)."""
    opened = open_store(server.url, server.api_key)
    yield opened
    opened.close()


@pytest.mark.server
def test_server_batch_queries_rank_like_the_embedded_blocks(store, server_store):
    labels = [c for c in "abcde" for _ in range(40)]
    vectors = add_collection(store, "toy", labels, dim=24, seed=5)
    name = "eval_test_toy"
    server_store.ensure_collection(name, 24, recreate=True)
    points = store.points("toy", with_vectors=True)
    assert np.array_equal(points.vectors, vectors)
    server_store.upsert(name, points.ids, points.vectors, payloads=points.payloads)
    try:
        _assert_same_rankings(rank_all(store, "toy", RankingRequest(method="block")), rank_all(server_store, name))
        assert leave_one_out(server_store, name).mean_ap == pytest.approx(leave_one_out(store, "toy").mean_ap, abs=1e-6)
    finally:
        server_store.drop(name)


def test_a_collection_of_one_point_is_refused(store):
    add_collection(store, "tiny", ["a", "a"])
    store.delete("tiny", [point_id("synthetic", "a/001.jpg")])
    with pytest.raises(EvaluationError, match="at least 2"):
        leave_one_out(store, "tiny")


def test_report_files_escape_labels_and_draw_no_galleries_without_images(store, tmp_path):
    add_collection(store, "toy", ["<b>x</b>"] * 4 + ['"y"&'] * 4)
    reports = tmp_path / "reports"
    (reports / "toy").mkdir(parents=True)
    (reports / "toy" / "best.png").write_bytes(b"an earlier gallery")
    files = write_collection_report(leave_one_out(store, "toy"), reports, image_root=None)
    assert [f.name for f in files] == ["full.json", "pr.png"]
    assert all(f.stat().st_size > 0 for f in files)
    assert (reports / "toy" / "best.png").read_bytes() == b"an earlier gallery"  # not replaced by placeholders
    page = write_index(reports, store.location, {"toy"}, command="python cli.py eval", order=()).read_text()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '"y"&' not in page and "&#34;y&#34;&amp;" in page
    assert (reports / "pr_synthetic.png").is_file()


def _cli(store: VectorStore, *args: str):
    """Run the CLI in this process on the already open store (the embedded store allows one opener)."""
    import cli

    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False, obj=Context(handed=store))


def test_cli_eval_writes_every_report_file_and_the_study_table(store, data_root, tmp_path):
    reports = tmp_path / "reports"
    ingest = _cli(
        store, "--reports", str(reports), "ingest", "--data-root", str(data_root), "-e", "colorhist", "--workers", "0"
    )
    assert ingest.exit_code == 0, ingest.output
    result = _cli(store, "--reports", str(reports), "eval", "--data-root", str(data_root))
    assert result.exit_code == 0, result.output
    assert "shapes_colorhist" in result.output and "encoders x datasets" in result.output
    folder = reports / "shapes_colorhist"
    for name in ("runs/full.json", "pr.png", "best.png", "worst.png"):
        assert (folder / name).is_file(), name
    assert (reports / "index.html").is_file() and (reports / "pr_shapes.png").is_file()
    metrics = json.loads((folder / "runs" / "full.json").read_text())
    assert metrics["map"] > 0.9 and metrics["queries"] == 12 and metrics["encoder"] == "colorhist"
    as_json = _cli(
        store,
        "--reports",
        str(reports),
        "eval",
        "-c",
        "shapes_colorhist",
        "--k",
        "3",
        "--format",
        "json",
        "--data-root",
        str(data_root),
    )
    cut = json.loads(as_json.stdout)
    assert cut["metric"] == "mAP@3"
    # rankings cut at 3 say nothing of ranks 5 and 10; R = 3 (4 images per class) is within the cut
    assert cut["precision_at"]["5"] is None and cut["precision_at"]["10"] is None
    assert cut["precision_at"]["1"] is not None and cut["r_precision"] is not None
    assert json.loads((folder / "runs" / "at3.json").read_text())["precision_at"]["10"] is None
    full = json.loads((folder / "runs" / "full.json").read_text())  # the full ranking's figures stay beside the cut's
    assert full["metric"] == "mAP" and full["map"] == metrics["map"] and full["precision_at"]["10"] is not None
    table = _cli(
        store, "--reports", str(reports), "eval", "-c", "shapes_colorhist", "--k", "2", "--data-root", str(data_root)
    )
    lines = table.stdout.splitlines()
    header = next(line for line in lines if line.strip().startswith("collection"))
    row = dict(
        zip(
            header.split(),
            next(line for line in lines if line.strip().startswith("shapes_colorhist")).split(),
            strict=True,
        )
    )
    assert row["variant"] == "@2"  # the variant, named in its own column
    assert [row["P@5"], row["P@10"], row["R-prec"]] == ["n/a", "n/a", "n/a"]  # R = 3 > 2


def test_corel1k_colorhist_reaches_the_measured_map(corel, store, tmp_path):
    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset, read_dataset

    ingest_dataset(read_dataset(corel, "corel1k"), build_encoder("colorhist"), store, options=IngestOptions(workers=0))
    reports = tmp_path / "reports"
    result = _cli(
        store,
        "--reports",
        str(reports),
        "eval",
        "-c",
        "corel1k_colorhist",
        "--format",
        "json",
        "--data-root",
        str(corel.parent),
    )
    summary = json.loads(result.stdout)
    assert summary["map"] == pytest.approx(0.511, abs=0.005)
    assert summary["queries"] == 1000 and summary["queries_skipped"] == 0
    for name in ("best.png", "worst.png"):
        assert (reports / "corel1k_colorhist" / name).stat().st_size > 100_000  # real photos, not placeholders


def test_cli_eval_of_every_collection_skips_one_that_cannot_be_evaluated(store, tmp_path):
    add_collection(store, "toy", LABELS)
    add_collection(store, "tiny", ["a", "a"])
    store.delete("tiny", [point_id("synthetic", "a/001.jpg")])
    reports = tmp_path / "reports"
    result = _cli(store, "--reports", str(reports), "eval", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "skipped: collection 'tiny' has 1 point(s)" in result.stderr
    assert (reports / "toy" / "runs" / "full.json").is_file() and not (reports / "tiny").exists()
    with pytest.raises(EvaluationError):
        _cli(store, "--reports", str(reports), "eval", "-c", "tiny")


def test_a_collection_where_no_class_has_two_members_reports_no_map(store, tmp_path):
    add_collection(store, "toy", ["a", "b", "c"])
    evaluation = leave_one_out(store, "toy")
    summary = evaluation.to_json()
    assert summary["map"] is None and summary["queries_skipped"] == 3 and summary["best"] == []
    files = write_collection_report(evaluation, tmp_path / "reports", image_root=None)
    assert all(f.is_file() for f in files)
    assert (
        "n/a"
        in write_index(
            tmp_path / "reports", store.location, {"toy"}, command="python cli.py eval", order=()
        ).read_text()
    )


def test_cli_eval_sample_measures_the_drawn_queries_against_every_point(store, data_root, tmp_path):
    reports = tmp_path / "reports"
    args = ("--reports", str(reports))
    ingest = _cli(store, *args, "ingest", "--data-root", str(data_root), "-e", "colorhist", "--workers", "0")
    assert ingest.exit_code == 0, ingest.output
    full = json.loads(_cli(store, *args, "eval", "-c", "shapes_colorhist", "--format", "json").stdout)
    result = _cli(store, *args, "eval", "-c", "shapes_colorhist", "--format", "json", "--sample", "5", "--seed", "7")
    sampled = json.loads(result.stdout)
    drawn = np.sort(np.random.default_rng(7).choice(12, 5, replace=False))
    ids = list(full["ap_per_query"])
    assert list(sampled["ap_per_query"]) == [ids[q] for q in drawn]
    assert sampled["ap_per_query"] == {ids[q]: full["ap_per_query"][ids[q]] for q in drawn}
    assert sampled["queries"] == 5 and sampled["points"] == 12 and sampled["sample"]["seed"] == 7
    expected = np.mean([full["ap_per_query"][ids[q]] for q in drawn])
    assert sampled["map"] == pytest.approx(expected, abs=1e-12)
    assert sampled["map_interval"]["low"] <= sampled["map"] <= sampled["map_interval"]["high"]


def test_the_estimate_says_nothing_for_a_quick_run_and_suggests_k_or_sample_for_a_long_one():
    from evaluation.ranking.cost import estimate

    assert estimate(5_000, 384) is None  # 2.5 x 10^7 pairs
    big = estimate(1_000_000, 384)
    assert big.long and "--k 100" in big.text() and "--sample 10000" in big.text()
    assert big.memory_gb == pytest.approx((1_000_000 * 384 * 4 + 16 * 1_000_000 * 8) / 1e9)  # vectors + 16-row block
    assert "--k" not in estimate(1_000_000, 384, k=100).text()
