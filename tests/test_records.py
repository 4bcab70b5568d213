"""Evaluation records: one per variant, never overwriting another, atomically replaced, read by one reader,
labelled in every table (terminal, JSON, index.html, web app), compared from their per-query APs."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from commands.context import Context
from evaluation import Variant, read_records
from evaluation.records.study_grid import percent_text
from media.files import write_text_atomic
from store import ImagePayload, point_id
from tests.test_rerank import clustered, store_vectors

VARIANTS = {  # the eval options of each variant, its slug and the label every table prints
    "full": ([], "full"),
    "sample6-seed1": (["--sample", "6", "--seed", "1"], "sample 6 seed 1"),
    "at3": (["--k", "3"], "@3"),
    "aqe-k2-alpha3": (["--rerank", "aqe"], "+aqe (k=2, alpha=3)"),
}


def _cli(store, *args: str):
    import cli

    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False, obj=Context(handed=store))


def _index_rows(page: str) -> dict[str, str]:
    """The study table of index.html: row label -> the text of its first cell."""
    table = re.search(r'<table id="study">(.*?)</table>', page, re.S).group(1)
    return {
        m.group(1): re.sub(r"<[^>]+>", "", m.group(2))
        for m in re.finditer(r"<tr><th>([^<]+)</th><td>(.*?)</td>", table, re.S)
    }


def test_sampled_cut_and_reranked_evals_leave_the_full_record_and_each_is_labelled_everywhere(
    store, data_root, tmp_path
):
    reports = tmp_path / "reports"
    base = ["--reports", str(reports)]
    ingest = _cli(store, *base, "ingest", "--data-root", str(data_root), "-e", "colorhist", "--workers", "0")
    assert ingest.exit_code == 0, ingest.output
    eval_args = [*base, "eval", "-c", "shapes_colorhist", "--data-root", str(data_root)]
    assert _cli(store, *eval_args).exit_code == 0
    full_file = reports / "shapes_colorhist" / "runs" / "full.json"
    full_bytes = full_file.read_bytes()
    for slug, (options, label) in VARIANTS.items():
        if slug == "full":
            continue
        table = _cli(store, *eval_args, *options)
        assert table.exit_code == 0, table.output
        assert label in table.output  # the terminal names the variant
        as_json = json.loads(_cli(store, *eval_args, *options, "--format", "json").stdout)
        records = as_json if isinstance(as_json, list) else [as_json]
        assert label in [record["variant"]["label"] for record in records]
        assert full_file.read_bytes() == full_bytes  # the full record is untouched
    recorded = {record.variant.slug: record for record in read_records(reports)}
    assert set(recorded) == set(VARIANTS)
    assert recorded["sample6-seed1"].queries == 6 and len(recorded["sample6-seed1"].ap_per_query) == 6
    assert recorded["at3"].metric == "mAP@3" and recorded["full"].metric == "mAP"
    rows = _index_rows((reports / "index.html").read_text())
    assert rows["colorhist"].startswith(f"{recorded['full'].map:.4f} [")  # the main row: the full run only
    assert rows["colorhist sample 6 seed 1"].startswith(f"{recorded['sample6-seed1'].map:.4f} (6 of 12 queries) [")
    assert rows["colorhist @3"].startswith(f"mAP@3 {recorded['at3'].map:.4f}")
    assert rows["colorhist +aqe (k=2, alpha=3)"].startswith(f"{recorded['aqe-k2-alpha3'].map:.4f}")

    from web import create_app
    from web.backend import Options

    client = TestClient(create_app(lambda: store, Options(data_root, reports, "cpu")), raise_server_exceptions=False)
    overview = client.get("/eval").text
    for slug, (_, label) in VARIANTS.items():
        row = "colorhist" if slug == "full" else f"colorhist {label}"
        assert f"<th>{row}</th>" in overview.replace("&#43;", "+")
        href = "/eval/shapes_colorhist" + ("" if slug == "full" else f"/v/{slug}")
        assert href in overview
        page = client.get(href)
        assert page.status_code == 200 and "does not exist" not in page.text
        assert f"<strong>{label}</strong>" in page.text.replace("&#43;", "+")
        thumbs = re.findall(r'src="([^"]*/thumb/[^"]+)"', page.text)
        drills = re.findall(r'class="drill" href="([^"]+)"', page.text)
        assert thumbs and drills and all(client.get(t).status_code == 200 for t in thumbs[:8])
        drill = client.get(drills[0])
        assert drill.status_code == 200 and "does not exist" not in drill.text
        recorded_ap = re.search(r"\(recorded evaluation, [^:]+: A[^ ]+ (\d\.\d{4})\)", drill.text)
        shown_ap = re.search(r'id="drill-ap">AP (\d\.\d{4})', drill.text).group(1)
        assert recorded_ap and recorded_ap.group(1) == shown_ap  # the drill-down ranks as the variant did
    older_link = client.get("/eval/shapes_colorhist +aqe")  # how an older release linked a re-ranked row
    assert older_link.status_code == 200 and "<strong>+aqe (k=2, alpha=3)</strong>" in older_link.text.replace(
        "&#43;", "+"
    )


def _two_encoders(store) -> None:
    vectors, labels = clustered(seed=4)
    store_vectors(store, "paris_clip", vectors, labels, dataset="paris", encoder="clip")
    noisy = vectors + np.random.default_rng(2).normal(scale=0.8, size=vectors.shape).astype(np.float32)
    store_vectors(
        store, "paris_dinov2", noisy / np.linalg.norm(noisy, axis=1, keepdims=True), labels, "paris", "dinov2"
    )
    store_vectors(store, "paris_resnet18", np.random.default_rng(3).permutation(vectors), labels, "paris", "resnet18")


def _comparisons(page: str) -> str:
    return re.search(r'<h2 id="comparisons">.*?(?=<h2 )', page, re.S).group(0)


def test_one_at_a_time_and_all_at_once_give_the_same_orderings_and_differences(store, tmp_path):
    _two_encoders(store)
    names = ["paris_resnet18", "paris_clip", "paris_dinov2"]
    apart, together = tmp_path / "apart", tmp_path / "together"
    for name in names:
        assert _cli(store, "--reports", str(apart), "eval", "-c", name).exit_code == 0
    assert _cli(store, "--reports", str(together), "eval").exit_code == 0
    one, all_ = (_comparisons((folder / "index.html").read_text()) for folder in (apart, together))
    assert one == all_
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d\.\d{4})</td><td>([^<]+)</td><td>([^<]+)</td>", one)
    assert len(rows) == 3 and [float(r[1]) for r in rows] == sorted((float(r[1]) for r in rows), reverse=True)
    maps = {row[0]: float(row[1]) for row in rows}
    for name, _, after, difference in rows[:-1]:
        assert float(difference) == pytest.approx(maps[name] - maps[after], abs=1.5e-4)  # both rounded to 4 places


def test_a_pair_measured_on_other_queries_says_why_instead_of_a_number(store, tmp_path):
    _two_encoders(store)
    reports = tmp_path / "reports"
    assert _cli(store, "--reports", str(reports), "eval", "-c", "paris_clip").exit_code == 0
    store.delete("paris_dinov2", [point_id("paris", "c0/000.jpg")])  # one point fewer: other queries
    assert _cli(store, "--reports", str(reports), "eval", "-c", "paris_dinov2").exit_code == 0
    page = _comparisons((reports / "index.html").read_text())
    assert "not compared: different queries (79 shared of 80 and 79)" in page


def test_a_write_cut_short_never_hides_a_record(store, tmp_path, monkeypatch):
    _two_encoders(store)
    reports = tmp_path / "reports"
    assert _cli(store, "--reports", str(reports), "eval", "-c", "paris_clip").exit_code == 0
    record = reports / "paris_clip" / "runs" / "full.json"
    before = record.read_bytes()
    (record.parent / ".full.json.killed.part").write_text(before.decode()[:100])  # a writer killed mid-file

    def killed(source, target):  # the rename never happens: the process died after writing the temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(record, "{ truncated")
    monkeypatch.undo()
    assert record.read_bytes() == before
    [found] = read_records(reports)
    assert found.collection == "paris_clip" and found.variant.is_full
    assert sorted(p.name for p in record.parent.iterdir()) == [".full.json.killed.part", "full.json"]


def test_older_metrics_json_records_stay_readable_until_a_newer_record_of_their_variant(store, tmp_path):
    reports = tmp_path / "reports"
    old = {"collection": "x_colorhist", "dataset": "x", "encoder": "colorhist", "store": "s", "map": 0.5, "k": None}
    (reports / "x_colorhist" / "at5").mkdir(parents=True)
    (reports / "x_colorhist" / "metrics.json").write_text(json.dumps({**old, "ap_per_query": {"a": 0.5}}))
    (reports / "x_colorhist" / "at5" / "metrics.json").write_text(json.dumps({**old, "k": 5, "metric": "mAP@5"}))
    rerank = {"method": "aqe", "k": 2, "alpha": 3.0, "comparable_with_study": False}
    (reports / "x_colorhist+aqe").mkdir()
    renamed = {**old, "collection": "x_colorhist +aqe", "source_collection": "x_colorhist", "rerank": rerank}
    (reports / "x_colorhist+aqe" / "metrics.json").write_text(json.dumps(renamed))
    found = {r.variant.slug: r for r in read_records(reports)}
    assert set(found) == {"full", "at5", "aqe-k2-alpha3"} and all(r.legacy for r in found.values())
    assert found["aqe-k2-alpha3"].collection == "x_colorhist" and found["aqe-k2-alpha3"].folder == "x_colorhist+aqe"
    write_text_atomic(reports / "x_colorhist" / "runs" / "full.json", json.dumps({**old, "map": 0.75, "variant": {}}))
    found = {r.variant.slug: r for r in read_records(reports)}
    assert found["full"].map == 0.75 and not found["full"].legacy and found["at5"].legacy


def test_variants_name_their_files_and_labels_apart():
    from evaluation import Rerank, Sample

    variants = [
        Variant(),
        Variant(k=10),
        Variant(sample=Sample(100, 0)),
        Variant.of(None, None, Rerank("dba+aqe")),
        Variant.of(10, Sample(100, 0), Rerank("aqe", 3, 2.0), duplicates_excluded=True),
    ]
    slugs = [v.slug for v in variants]
    assert slugs == [
        "full",
        "at10",
        "sample100-seed0",
        "dba+aqe-k2-alpha3",
        "aqe-k3-alpha2_at10_sample100-seed0_no-duplicates",
    ]
    assert [Variant.from_json(v.to_json()) for v in variants] == variants
    assert variants[4].label == "+aqe (k=3, alpha=2), @10, sample 100 seed 0, duplicates excluded"
    assert variants[3].comparable == variants[0].comparable != variants[1].comparable


def test_a_multi_label_drill_down_gives_every_query_the_evaluation_ap(store):
    from evaluation import leave_one_out, rank_query

    sets = [("dog",), ("cat", "dog"), ("cat",), ("bird", "cat"), ("bird",), ("dog", "bird"), ("fish",), ("fish", "dog")]
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(sets), 6)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    paths = [f"img/{i}.jpg" for i in range(len(sets))]
    payloads = [
        ImagePayload(labels[0], path, "multi", "toy", i, labels=labels if len(labels) > 1 else None)
        for i, (labels, path) in enumerate(zip(sets, paths, strict=True))
    ]
    ids = [point_id("multi", path) for path in paths]
    store.ensure_collection("multi_toy", 6)
    store.upsert("multi_toy", ids, vectors, payloads=payloads)
    evaluation = leave_one_out(store, "multi_toy")
    differs_from_first_label = 0
    for q, pid in enumerate(ids):
        ranking = rank_query(store, "multi_toy", pid)
        assert ranking.ap == pytest.approx(evaluation.figures.ap[q], abs=1e-12)
        assert ranking.relevant == [bool(set(sets[q]) & set(hit.labels)) for hit in ranking.hits]
        differs_from_first_label += ranking.relevant != [hit.label == sets[q][0] for hit in ranking.hits]
    assert differs_from_first_label > 0  # the first-label rule would disagree: this set tests the shared-label one


def test_hits_carry_every_label_and_relevance_is_a_shared_label():
    from store import Hit, share_label

    hit = Hit.of("a", 0.5, ImagePayload("cat", "a.jpg", "d", "e", 0, labels=("cat", "dog")))
    assert hit.labels == ("cat", "dog") and hit.relevant_to(("dog",)) and not hit.relevant_to(("bird",))
    assert share_label(["x"], ["x"]) and not share_label(["x"], ["y"]) and not share_label([], ["x"])


def test_the_label_filter_matches_any_of_a_points_labels_ignoring_case(store):
    from search import Query, Searcher

    sets = [("dog",), ("cat", "dog"), ("cat",), ("bird", "Dog"), ("bird",)]
    vectors = np.eye(len(sets), 4, dtype=np.float32) + 0.1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    payloads = [
        ImagePayload(labels[0], f"{i}.jpg", "pets", "toy", i, labels=labels if len(labels) > 1 else None)
        for i, labels in enumerate(sets)
    ]
    store.ensure_collection("pets_toy", 4)
    store.upsert("pets_toy", [point_id("pets", f"{i}.jpg") for i in range(len(sets))], vectors, payloads=payloads)
    result = Searcher(lambda: store).search(Query("pets_toy", path="4.jpg", limit=10, label="DOG"))
    assert sorted(hit.path for hit in result.hits) == ["0.jpg", "1.jpg", "3.jpg"]  # first label or not, any case
    assert [hit.score for hit in result.hits] == sorted((hit.score for hit in result.hits), reverse=True)


@pytest.mark.parametrize("variant", [{"k": 5}, {"stage": "dba+aqe"}, {"duplicates_excluded": True}])
def test_a_variant_drill_down_gives_every_query_the_ap_of_its_record(store, variant):
    from evaluation import RERANKERS, RankingRequest, leave_one_out, rank_query

    vectors, labels = clustered(n_per_class=6, classes=3, seed=9)
    vectors = np.concatenate([vectors, vectors[:3]])  # three exact duplicates: a group each
    store_vectors(store, "dup_toy", vectors, labels + labels[:3])
    stage = RERANKERS[variant["stage"]].stage() if "stage" in variant else None
    dedup = variant.get("duplicates_excluded", False)
    evaluation = leave_one_out(
        store, "dup_toy", RankingRequest(k=variant.get("k"), stage=stage, exclude_duplicates=dedup)
    )
    if dedup:
        evaluation = evaluation.without_duplicates()
        assert len(evaluation.query_ids) == len(vectors) - 3
    for q, pid in enumerate(evaluation.query_ids):
        ranking = rank_query(
            store, "dup_toy", pid, request=RankingRequest(k=variant.get("k"), stage=stage, exclude_duplicates=dedup)
        )
        expected = evaluation.figures.ap[q]
        assert (ranking.ap is None and np.isnan(expected)) or ranking.ap == pytest.approx(expected, abs=1e-12)


def test_a_percentage_is_one_decimal_and_none_or_nan_is_n_a_on_the_terminal_and_in_the_report():
    assert [percent_text(v) for v in (0.4644, None, float("nan"))] == ["46.4", "n/a", "n/a"]
