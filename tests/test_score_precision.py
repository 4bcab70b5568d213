"""The table of cosine score against precision that `eval` records: against numpy over the full similarity
matrix, a hand-worked example, its record, and `search` reading it."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from commands.context import Context
from evaluation import leave_one_out, read_records
from evaluation.metrics.score_precision import TARGETS, ScorePrecision
from evaluation.ranking.bins import rank_rows
from evaluation.ranking.score_tally import bin_edges
from render import Screen
from search import Query
from search.query_records import SearchResult
from store import CollectionInfo, Hit, ImagePayload, VectorStore, point_id


def _collection(store: VectorStore, name: str, label_sets: list[tuple[str, ...]], seed: int = 0) -> None:
    """Unit vectors near their first label's centre, stored with every label in the payload."""
    rng = np.random.default_rng(seed)
    centres = {label: rng.normal(size=8) for labels in label_sets for label in labels}
    vectors = np.array([centres[labels[0]] + rng.normal(scale=1.2, size=8) for labels in label_sets])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    paths = [f"{i:03d}.jpg" for i in range(len(label_sets))]
    store.ensure_collection(name, 8)
    payloads = [
        ImagePayload(labels[0], path, "toy", "toy", i, labels=labels if len(labels) > 1 else ())
        for i, (labels, path) in enumerate(zip(label_sets, paths, strict=True))
    ]
    store.upsert(name, [point_id("toy", p) for p in paths], vectors, payloads=payloads)


def _reference(store: VectorStore, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Every hit's score and whether it shares a label with its query, from the whole similarity matrix."""
    points = store.points(name, with_vectors=True)
    sets = [set(p.labels or (p.label,)) for p in points.payloads]
    similarity = points.vectors @ points.vectors.T
    off = ~np.eye(len(sets), dtype=bool)
    shares = np.array([[bool(a & b) for b in sets] for a in sets])
    return similarity[off], shares[off]


@pytest.mark.parametrize("multi", [False, True])
def test_the_table_equals_numpy_over_the_full_similarity_matrix(store, multi):
    sets = [(c,) for c in "abc" for _ in range(8)]
    if multi:
        sets = [(s[0], "abc"[(i + 1) % 3]) if i % 4 == 0 else s for i, s in enumerate(sets)]
    _collection(store, "toy", sets)
    table = leave_one_out(store, "toy").score_precision
    scores, shares = _reference(store, "toy")
    assert table.hits == len(scores) and table.relevant == shares.sum()
    for row in table.rows:
        above = scores >= row.score
        assert (row.hits, row.relevant) == (above.sum(), shares[above].sum())
    relevant_scores = np.sort(scores[shares])
    for q in (0.0, 0.25, 0.5, 0.95):  # each quantile's row keeps at least the rest of the relevant hits
        kept = [row for row in table.rows if row.relevant >= (1 - q) * len(relevant_scores)]
        assert kept and kept[0].score <= relevant_scores[int(np.ceil(q * len(relevant_scores)))]
    edges = bin_edges()
    precision = np.array([shares[scores >= e].mean() if (scores >= e).any() else 0 for e in edges])
    for target in TARGETS:
        reached = edges[precision >= target]
        assert table.targets[target] == (reached.min() if len(reached) else None)


def test_a_hand_worked_four_point_table():
    # a, a, b, b: each same-label pair at 0.75, the other pairs at 0.5 and 0.25
    scores = np.array(
        [
            [-np.inf, 0.75, 0.5, 0.25],
            [0.75, -np.inf, 0.25, 0.5],
            [0.5, 0.25, -np.inf, 0.75],
            [0.25, 0.5, 0.75, -np.inf],
        ],
        np.float32,
    )
    relevant = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], bool)
    table = ScorePrecision.from_tally(rank_rows(scores, relevant, 1, tally=True).tally)
    rows = {row.score: (row.hits, row.relevant) for row in table.rows}
    # 12 hits: 4 at 0.75 (all relevant), 4 at 0.5, 4 at 0.25. Just above 0.5 (the next bin edge) only the
    # relevant ones remain: precision 1; just above 0.25, 8 hits, 4 relevant: 0.5; at 0.25, 4 of 12
    step = 1 / 1024
    assert rows == {0.75: (4, 4), 0.5 + step: (4, 4), 0.25 + step: (8, 4)}
    assert (table.hits, table.relevant) == (12, 4)
    assert table.targets == {0.5: 0.25 + step, 0.8: 0.5 + step, 0.9: 0.5 + step, 0.95: 0.5 + step}
    assert table.precision_at(0.6) == 1.0 and table.precision_at(0.5) == 0.5 and table.precision_at(0.25) is None


def _cli(store: VectorStore, reports, *args: str):
    import cli

    result = CliRunner(env={"COLUMNS": "160"}).invoke(
        cli.cli, ["--reports", str(reports), *args], catch_exceptions=False, obj=Context(handed=store)
    )
    assert result.exit_code == 0, result.output
    return result


def test_eval_records_the_table_and_search_and_show_read_it(store, tmp_path):
    reports = tmp_path / "reports"
    _collection(store, "toy", [(c,) for c in "abc" for _ in range(8)])
    query = point_id("toy", "000.jpg")
    before = _cli(store, reports, "search", "-c", "toy", "--id", query, "-k", "3")
    assert "scores only: no evaluation record of toy" in before.output and "precision" not in before.output

    evaluated = _cli(store, reports, "eval", "-c", "toy")
    assert "toy: precision of the hits at or above a score (of 552 hits in all)" in evaluated.output
    record = reports / "toy" / "runs" / "full.json"
    [read] = read_records(reports)
    table = read.score_precision
    assert table == ScorePrecision.from_json(json.loads(record.read_text())["score_precision"])
    assert table.hits == 24 * 23 and table.relevant == 24 * 7

    found = _cli(store, reports, "search", "-c", "toy", "--id", query, "-k", "3", "--format", "json")
    hits = json.loads(found.stdout)
    scores, shares = _reference(store, "toy")
    expected = []
    for hit in hits["hits"]:  # the share of same-label hits at or above the nearest row at or below its score
        edges = [row.score for row in table.rows if row.score <= hit["score"]]
        expected.append(shares[scores >= max(edges)].mean() if edges else None)
    assert hits["score_precision"]["record"] == str(record) and None not in expected
    assert hits["score_precision"]["precision"] == pytest.approx(expected)
    shown = _cli(store, reports, "search", "-c", "toy", "--id", query, "-k", "3")
    assert f"from {record}" in " ".join(shown.output.split())
    filtered = _cli(store, reports, "search", "-c", "toy", "--id", query, "--label", "b", "--format", "json")
    assert json.loads(filtered.stdout)["score_precision"] is None  # the table was measured unfiltered
    filtered = _cli(store, reports, "search", "-c", "toy", "--id", query, "--label", "b").output
    assert "no precision: eval's table was measured without a label filter" in " ".join(filtered.split())
    rows = [line.replace("│", " ").split() for line in shown.output.splitlines() if line.startswith("│")]
    assert [row[2] for row in rows] == [f"{p:.4f}" if p is not None else "-" for p in expected]

    every = json.loads(
        _cli(store, reports, "search", "-c", "toy", "--id", query, "-k", "23", "--format", "json").stdout
    )
    below = [hit["score"] < table.rows[-1].score for hit in every["hits"]]
    assert any(below) and [p is None for p in every["score_precision"]["precision"]] == below
    shown = _cli(store, reports, "search", "-c", "toy", "--id", query, "-k", "23").output
    rows = [line.replace("│", " ").split() for line in shown.splitlines() if line.startswith("│")]
    assert [row[2] == "-" for row in rows] == below

    listed = _cli(store, reports, "collections", "show", "toy")
    for row in table.rows:
        assert f"{row.score:.4f}" in listed.output and str(row.hits) in listed.output

    # a record written before the table existed still reads, and search then shows scores only
    data = json.loads(record.read_text())
    del data["score_precision"]
    record.write_text(json.dumps(data))
    [old] = read_records(reports)
    assert old.score_precision is None and old.map == read.map
    assert "scores only" in _cli(store, reports, "search", "-c", "toy", "--id", query).output
    record.write_text(json.dumps({**data, "score_precision": {"rows": [{"score": "high"}]}}))
    skipped: list[str] = []
    assert read_records(reports, skipped=skipped) == [] and "'score_precision' has a row" in skipped[0]


def test_a_text_querys_scores_are_not_read_by_the_image_to_image_table():
    info = CollectionInfo("toy", 3, 8, "Cosine", "toy", "clip", "embedded")
    hits = [Hit("1", 1, 0.31, "a", "001.jpg")]
    console = Console(file=io.StringIO(), width=160)
    text = SearchResult(Query("toy", text="a red bus"), info, hits)
    Screen(out=console, err=console).hits(text, None)
    assert "no precision: a text query's scores are text-to-image cosines" in " ".join(console.file.getvalue().split())
    assert SearchResult(Query("toy", point_id="0"), info, hits).unmeasured is None
