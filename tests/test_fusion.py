"""Fused encoders: `eval --fuse` on two imported collections whose fused rankings are known by hand (RRF and
the min-max score sum), every query against a plain-Python reference, and `search --fuse` (the store's
prefetch + RRF query) giving the evaluation's fused top-k."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from errors import QueryError
from evaluation import RankingRequest, Rerank, Sample
from evaluation.metrics.comparisons import member_comparisons
from evaluation.protocols.fused_encoders import Fusion, evaluate_fused
from evaluation.ranking.fusion_rules import fuse, member_ranks, min_max
from evaluation.records.run_records import read_records
from store import ImagePayload, open_store, point_id

# Two "encoders" of five images as angles on the unit circle: cosine = cos(angle difference).
ANGLES = {"enca": [0, 10, 30, 60, 100], "encb": [0, 50, 20, 5, 80]}
LABELS = ["a", "a", "b", "b", "a"]
PATHS = [f"img{i}.jpg" for i in range(5)]


def run(tmp_path: Path, *args: str, engine: str | None = None):
    options = ["--storage", str(tmp_path / "q"), "--reports", str(tmp_path / "reports")]
    options += ["--engine", engine] if engine else []
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli.cli, [*options, *args], catch_exceptions=False)


def vectors_of(angles: list[float]) -> np.ndarray:
    radians = np.radians(angles)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


def import_members(
    tmp_path: Path, members: dict[str, np.ndarray], labels: list[str], paths: list[str], engine: str | None = None
) -> None:
    listing = tmp_path / "list_of_images.txt"
    listing.write_text("".join(f"{path}\t{label}\n" for path, label in zip(paths, labels, strict=True)))
    for encoder, vectors in members.items():
        file = tmp_path / f"{encoder}.npy"
        np.save(file, vectors)
        done = run(
            tmp_path,
            "import",
            "--vectors",
            str(file),
            "--list",
            str(listing),
            "-d",
            "toy",
            "-e",
            encoder,
            engine=engine,
        )
        assert done.exit_code == 0, done.output


def reference_ranking(members: list[np.ndarray], q: int, method: str, k: int = 60) -> list[int]:
    """Plain Python: each member's ranking of the other points (ties by position), fused, ties by position."""
    n = len(members[0])
    others = [p for p in range(n) if p != q]
    fused = dict.fromkeys(others, 0.0)
    for vectors in members:
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = {p: float(unit[q] @ unit[p]) for p in others}
        if method == "rrf":
            for rank, p in enumerate(sorted(others, key=lambda p: (-cosine[p], p)), start=1):
                fused[p] += 1 / (k + rank)
        else:
            low, high = min(cosine.values()), max(cosine.values())
            for p in others:
                fused[p] += (cosine[p] - low) / (high - low) if high > low else 0.0
    return sorted(others, key=lambda p: (-fused[p], p))


def ap_of(ranking: list[int], labels: list[str], q: int) -> float:
    relevant = [labels[p] == labels[q] for p in ranking]
    found, total = 0, 0.0
    for rank, hit in enumerate(relevant, start=1):
        if hit:
            found += 1
            total += found / rank
    return total / found if found else math.nan


def test_the_fusion_rules_on_a_hand_worked_row():
    scores = np.array([[0.9, 0.2, 0.5, 0.7]])  # row of point 0 (itself ranked last)
    np.testing.assert_array_equal(member_ranks(scores, np.array([0])), [[4, 3, 2, 1]])
    np.testing.assert_allclose(min_max(scores, np.array([0]))[:, 1:], [[0.0, 0.6, 1.0]])  # min 0.2, max 0.7
    np.testing.assert_allclose(min_max(np.full((1, 3), 0.4), None), [[0.0, 0.0, 0.0]])  # no spread adds 0
    fused = fuse([scores, scores[:, ::-1]], "rrf", np.array([0]), k=60)
    # points 1, 2, 3: first member ranks 3, 2, 1; second (0.5, 0.2, 0.9 among the others) ranks 2, 3, 1
    assert fused[0, 0] == -np.inf
    np.testing.assert_allclose(fused[0, 1:], [1 / 63 + 1 / 62, 1 / 62 + 1 / 63, 1 / 61 + 1 / 61])


def test_fused_rankings_known_by_hand_and_every_query_against_a_reference(tmp_path):
    members = {name: vectors_of(angles) for name, angles in ANGLES.items()}
    import_members(tmp_path, members, LABELS, PATHS)
    done = run(tmp_path, "eval", "--fuse", "toy_enca,toy_encb", "--format", "json")
    assert done.exit_code == 0, done.output
    records = {r["name"]: r for r in json.loads(done.stdout)}
    rrf, summed = records["toy_enca+toy_encb fused rrf (k=60)"], records["toy_enca+toy_encb fused sum"]
    assert rrf["variant"]["kind"] == summed["variant"]["kind"] == "fused" and rrf["fusion"]["k"] == 60
    assert rrf["members"] == ["toy_enca", "toy_encb"] and "toy_enca" in records and "toy_encb" in records
    first = point_id("toy", "img0.jpg")
    # Query img0, by hand. RRF: img1 (ranks 1, 3) and img3 (3, 1) tie at 1/61 + 1/63 > img2 (2, 2) > img4
    # (4, 4); the tie goes by dataset position: img1, img3, img2, img4; relevant (class a) img1, img4.
    assert rrf["ap_per_query"][first] == pytest.approx((1 / 1 + 2 / 4) / 2)
    # Score sum: min-max cosines enca 1, .8975, .5815, 0 and encb .5704, .9313, 1, 0 for img1..img4:
    # img2 1.829, img3 1.582, img1 1.570, img4 0 -> relevant at ranks 3 and 4.
    assert summed["ap_per_query"][first] == pytest.approx((1 / 3 + 2 / 4) / 2)
    ordered = [members["enca"], members["encb"]]
    reports = tmp_path / "reports"
    for record, method in ((rrf, "rrf"), (summed, "sum")):
        for q in range(5):
            expected = ap_of(reference_ranking(ordered, q, method), LABELS, q)
            assert record["ap_per_query"][point_id("toy", PATHS[q])] == pytest.approx(expected)
        # fused - member, computed from the records by the one reader
        against = {c.member: c for c in member_comparisons(read_records(reports)) if c.fused == record["name"]}
        for name, vectors in (("toy_enca", ordered[0]), ("toy_encb", ordered[1])):
            alone = [ap_of(reference_ranking([vectors], q, "rrf"), LABELS, q) for q in range(5)]
            fused = [ap_of(reference_ranking(ordered, q, method), LABELS, q) for q in range(5)]
            assert against[name].difference.difference == pytest.approx(np.mean(np.subtract(fused, alone)))
    assert reference_ranking(ordered, 0, "rrf") == [1, 3, 2, 4]
    assert reference_ranking(ordered, 0, "sum") == [2, 3, 1, 4]
    index = (reports / "index.html").read_text()
    assert "<th>enca+encb fused rrf (k=60)</th>" in index and "Fused rows against their members" in index
    assert (reports / "toy_enca+toy_encb" / "runs" / "fused-rrf-k60.json").is_file()
    assert (reports / "toy_enca+toy_encb" / "fused-rrf-k60" / "pr.png").is_file()
    cut = run(tmp_path, "eval", "--fuse", "toy_enca,toy_encb", "--fusion", "rrf", "-k", "2", "--format", "json")
    at2 = next(r for r in json.loads(cut.stdout) if r["variant"]["kind"] == "fused")
    assert at2["metric"] == "mAP@2" and at2["ap_per_query"][first] == pytest.approx(1 / 2)  # img1 at 1; min(R, k) = 2
    assert (reports / "toy_enca+toy_encb" / "runs" / "fused-rrf-k60_at2.json").is_file()
    assert (reports / "toy_enca+toy_encb" / "runs" / "fused-rrf-k60.json").is_file()  # the full one kept
    shown, page = web_evaluation_page(tmp_path, "/eval/toy_enca+toy_encb/v/fused-sum")
    for record, label, slug in (
        (rrf, "enca+encb fused rrf (k=60)", "fused-rrf-k60"),
        (summed, "enca+encb fused sum", "fused-sum"),
    ):
        assert re.search(
            rf'<th>{re.escape(label)}</th>\s*<td[^>]*>\s*<a href="[^"]*/v/{slug}"[^>]*>{record["map"]:.4f}</a>', shown
        )
    assert 'id="fused-note"' in shown
    assert page.status_code == 200 and f'<td id="map">{summed["map"]:.4f}</td>' in page.text
    assert "toy_enca</a> + <a" in page.text  # its members, each linked


def web_evaluation_page(tmp_path: Path, other: str):
    """The web app's /eval page over the store and reports of `tmp_path` (its text), and the response to `other`."""
    from fastapi.testclient import TestClient

    from web import create_app
    from web.backend import Options

    store = open_store(path=tmp_path / "q")
    try:
        app = create_app(lambda: store, Options(tmp_path, tmp_path / "reports", "cpu"))
        client = TestClient(app)
        return client.get("/eval").text, client.get(other)
    finally:
        store.close()


def test_search_fuse_gives_the_evaluations_fused_top_k(tmp_path):
    rng = np.random.default_rng(7)
    labels = [label for label in "abcd" for _ in range(10)]
    paths = [f"{label}/{i:02d}.jpg" for i, label in enumerate(labels)]
    members = {"encx": rng.normal(size=(40, 6)), "ency": rng.normal(size=(40, 4))}
    import_members(tmp_path, members, labels, paths, engine="local")  # local mode has a fusion query
    store = open_store(path=tmp_path / "q")
    try:
        fused = evaluate_fused(store, ["toy_encx", "toy_ency"], Fusion("rrf"))
    finally:
        store.close()
    evaluation = fused.evaluation
    ordered = [members["encx"], members["ency"]]
    for q in range(40):
        assert evaluation.top[q].tolist() == reference_ranking(ordered, q, "rrf")[:5]
        searched = run(
            tmp_path, "search", "--fuse", "toy_encx,toy_ency", "--id", evaluation.ids[q], "-k", "5", "--format", "json"
        )
        hits = json.loads(searched.stdout)["hits"]
        assert [hit["index"] for hit in hits] == evaluation.top[q].tolist()
        np.testing.assert_allclose([hit["score"] for hit in hits], evaluation.top_scores[q], rtol=1e-6)
    shown = run(tmp_path, "search", "--fuse", "toy_encx,toy_ency", "--path", paths[0], "-k", "3")
    assert shown.exit_code == 0 and "rrf (k 60, depth 39)" in shown.stdout
    with pytest.raises(QueryError, match="--fuse needs two or more different collections"):
        run(tmp_path, "search", "--fuse", "toy_encx,toy_encx", "--id", evaluation.ids[0])


def test_search_fuse_on_a_store_without_a_fusion_query_says_so_in_one_line(tmp_path):
    """Qdrant Edge (the default embedded store) holds one vector per collection and answers no fusion query."""
    members = {name: vectors_of(angles) for name, angles in ANGLES.items()}
    import_members(tmp_path, members, LABELS, PATHS)
    with pytest.raises(QueryError) as refused:
        run(tmp_path, "search", "--fuse", "toy_enca,toy_encb", "--path", PATHS[0])
    message = str(refused.value)
    assert "\n" not in message and "has no fusion query" in message and "eval --fuse toy_enca,toy_encb" in message
    done = run(tmp_path, "eval", "--fuse", "toy_enca,toy_encb", "--fusion", "rrf")  # the evaluation works there
    assert done.exit_code == 0 and "toy_enca+toy_encb fused rrf (k=60)" in done.stdout


def test_search_fuse_on_a_server_gives_the_evaluations_fused_top_k(server, tmp_path):
    """The same check where the members live on a Qdrant server (skips without one)."""
    from search.fused import FusedQuery, fused_search

    rng = np.random.default_rng(11)
    dataset = f"fuse{rng.integers(1 << 30)}"
    store = open_store(server.url, server.api_key)
    members = [f"{dataset}_enc{i}" for i in range(2)]
    try:
        for name, dim in zip(members, (5, 3), strict=True):
            vectors = rng.normal(size=(30, dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            payloads = [ImagePayload("ab"[i % 2], f"{i:02d}.jpg", dataset, name, i) for i in range(30)]
            store.ensure_collection(name, dim)
            store.upsert(name, [point_id(dataset, p.path) for p in payloads], vectors, payloads=payloads)
        evaluation = evaluate_fused(store, members, Fusion("rrf")).evaluation
        for q in range(30):
            hits = fused_search(store, FusedQuery(tuple(members), evaluation.ids[q], limit=5)).hits
            assert [hit.index for hit in hits] == evaluation.top[q].tolist()
    finally:
        for name in members:
            if store.exists(name):
                store.drop(name)
        store.close()


@pytest.mark.parametrize(
    ("request_", "refusal"),
    [
        (RankingRequest(method="batch-query"), "use the block method"),
        (RankingRequest(stage=Rerank("aqe")), "leave out the stage"),
        (RankingRequest(sample=Sample(5, 0)), "leave out the sample"),
        (RankingRequest(exclude_duplicates=True), "leave out duplicates excluded"),
    ],
)
def test_a_fused_ranking_refuses_what_it_cannot_honour_in_one_line(store, request_, refusal):
    with pytest.raises(ValueError, match=refusal) as refused:
        evaluate_fused(store, ["toy_encx", "toy_ency"], Fusion("rrf"), request=request_)
    assert "\n" not in str(refused.value)


def test_eval_fuse_with_the_batch_query_method_is_refused_before_any_ranking(tmp_path):
    import_members(tmp_path, {name: vectors_of(angles) for name, angles in ANGLES.items()}, LABELS, PATHS)
    refused = run(tmp_path, "eval", "-c", "toy_enca", "--fuse", "toy_enca,toy_encb", "--method", "batch-query")
    assert refused.exit_code == 2 and "leave out --method batch-query" in refused.output
    assert read_records(tmp_path / "reports") == []  # toy_enca's leave-one-out never ran


def test_eval_fuse_beside_duplicates_excluded_keeps_every_point_in_the_fused_figures(tmp_path):
    members = {name: vectors_of(angles) for name, angles in ANGLES.items()}
    import_members(tmp_path, members, LABELS, PATHS)
    done = run(tmp_path, "eval", "--fuse", "toy_enca,toy_encb", "--fusion", "rrf", "--exclude-duplicates")
    assert done.exit_code == 0 and "toy_enca+toy_encb fused rrf (k=60)" in done.stdout
    [fused] = [r for r in read_records(tmp_path / "reports") if r.variant.kind == "fused"]
    assert fused.points == len(PATHS) and not fused.variant.duplicates_excluded
