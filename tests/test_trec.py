"""TREC run and qrels files: `eval --trec` writes them, ranx (the field's reference) scores them as the records do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from commands.context import Context
from errors import EvaluationError
from evaluation import rank_all
from evaluation.formats.qrels import read_qrels
from evaluation.formats.trec_run import RunRows, read_run, run_lines, strictly_decreasing
from evaluation.metrics.named_metrics import NamedMetric
from evaluation.metrics.per_query import evaluate_rankings
from tests.test_evaluation import LABELS, add_collection
from tests.test_voc import write_voc

NAMED = ("ndcg@10", "recall@5", "mrr")
SHARED = {"map": "map", "precision@1": "P@1", "precision@5": "P@5", "precision@10": "P@10", "r-precision": "R-prec"}


def _eval(store, tmp_path: Path, *args: str):
    import cli

    base = ["--reports", str(tmp_path / "reports"), "eval", "--trec", str(tmp_path / "trec")]
    metrics = [part for name in NAMED for part in ("--metric", name)]
    result = CliRunner().invoke(cli.cli, [*base, *metrics, *args], obj=Context(handed=store))
    assert result.exit_code == 0, result.output
    return result


def _ranx_figures(run: Path, qrels: Path) -> dict[str, float]:
    """ranx's figures of the written files, over the queries the qrels judge (a query with no other member of its
    class has none, and no AP in the record either)."""
    ranx = pytest.importorskip("ranx")
    judged = ranx.Qrels.from_file(str(qrels), kind="trec")
    ranked = ranx.Run.from_file(str(run), kind="trec").to_dict()
    kept = ranx.Run.from_dict({q: docs for q, docs in ranked.items() if q in judged.qrels})
    return ranx.evaluate(judged, kept, [*SHARED, *NAMED])


def _assert_ranx_agrees(record: dict, run: Path, qrels: Path) -> None:
    """Every figure the record knows equals ranx's to 1e-9 (one at k past its rankings is n/a in the record: not a
    figure it claims, where ranx counts a miss)."""
    expected = _ranx_figures(run, qrels)
    ours = {
        "map": record["map"],
        "precision@1": record["precision_at"]["1"],
        "precision@5": record["precision_at"]["5"],
        "precision@10": record["precision_at"]["10"],
        "r-precision": record["r_precision"],
        **record["metrics"],
    }
    known = {name: value for name, value in ours.items() if value is not None}
    assert {"map", "r-precision", "mrr"} <= known.keys()
    assert known == pytest.approx({name: float(expected[name]) for name in known}, abs=1e-9)


def test_eval_trec_writes_the_measured_ranking_and_ranx_scores_it_as_the_record(store, tmp_path):
    add_collection(store, "toy", LABELS)  # points 0 and 1 are equal vectors: a tie, ordered by dataset position
    result = _eval(store, tmp_path, "-c", "toy")
    trec = tmp_path / "trec"
    assert sorted(path.name for path in trec.iterdir()) == ["toy.docs", "toy.full.run", "toy.qrels"]
    assert "wrote TREC files" in result.output
    record = json.loads((tmp_path / "reports" / "toy" / "runs" / "full.json").read_text())
    _assert_ranx_agrees(record, trec / "toy.full.run", trec / "toy.qrels")

    lines = [line.split() for line in (trec / "toy.full.run").read_text().splitlines()]
    neighbours = rank_all(store, "toy")
    ids = neighbours.points.ids
    n = len(ids)
    assert len(lines) == n * (n - 1)  # fewer than 1,000 others: every one
    for q in range(n):
        rows = lines[q * (n - 1) : (q + 1) * (n - 1)]
        assert {row[0] for row in rows} == {ids[q]} and {row[5] for row in rows} == {"toy.full"}
        assert [row[2] for row in rows] == [ids[p] for p in neighbours.order[q]]
        assert [int(row[3]) for row in rows] == list(range(1, n))
        scores = [float(row[4]) for row in rows]
        assert all(a > b for a, b in zip(scores, scores[1:], strict=False))  # no tie for either tool to order
    assert read_run(trec / "toy.full.run").rankings == {ids[q]: [ids[p] for p in neighbours.order[q]] for q in range(n)}
    paths = dict(line.split("\t") for line in (trec / "toy.docs").read_text().splitlines())
    assert paths == {pid: path for pid, path in zip(ids, neighbours.points.paths, strict=True)}
    qrels = read_qrels(trec / "toy.qrels")
    assert ids[60] not in qrels  # 'lonely': no other member, no judgment
    assert set(qrels[ids[0]]) == {ids[p] for p in range(1, 15)}


def test_a_cut_record_writes_its_top_k_and_its_precision_agrees(store, tmp_path):
    add_collection(store, "toy", LABELS)
    _eval(store, tmp_path, "-c", "toy", "-k", "10")
    run = tmp_path / "trec" / "toy.at10.run"
    assert all(len(ranking) == 10 for ranking in read_run(run).rankings.values())
    record = json.loads((tmp_path / "reports" / "toy" / "runs" / "at10.json").read_text())
    expected = _ranx_figures(run, tmp_path / "trec" / "toy.qrels")
    assert record["precision_at"]["10"] == pytest.approx(expected["precision@10"], abs=1e-9)
    assert record["metrics"]["ndcg@10"] == pytest.approx(expected["ndcg@10"], abs=1e-9)


def test_a_multi_label_voc_layout_is_judged_by_a_shared_label_and_ranx_agrees(store, tmp_path):
    import cli

    write_voc(tmp_path / "data")
    common = ["--reports", str(tmp_path / "reports")]
    ingest = [*common, "ingest", "--data-root", str(tmp_path / "data"), "-d", "voc2007", "-e", "colorhist"]
    assert CliRunner().invoke(cli.cli, ingest, obj=Context(handed=store)).exit_code == 0
    _eval(store, tmp_path, "-c", "voc2007_colorhist")
    trec = tmp_path / "trec"
    record = json.loads((tmp_path / "reports" / "voc2007_colorhist" / "runs" / "full.json").read_text())
    assert record["multi_label"]
    _assert_ranx_agrees(record, trec / "voc2007_colorhist.full.run", trec / "voc2007_colorhist.qrels")
    points = store.points("voc2007_colorhist")
    sets = {pid: set(p.label_set) for pid, p in zip(points.ids, points.payloads, strict=True)}
    qrels = read_qrels(trec / "voc2007_colorhist.qrels")
    for query, docs in qrels.items():
        assert set(docs) == {pid for pid in sets if pid != query and sets[pid] & sets[query]}


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


def test_corel1k_colorhist_run_scored_by_ranx_equals_the_record(corel, store, tmp_path):
    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset, read_dataset

    ingest_dataset(read_dataset(corel, "corel1k"), build_encoder("colorhist"), store, options=IngestOptions(workers=0))
    _eval(store, tmp_path, "-c", "corel1k_colorhist")
    trec = tmp_path / "trec"
    record = json.loads((tmp_path / "reports" / "corel1k_colorhist" / "runs" / "full.json").read_text())
    _assert_ranx_agrees(record, trec / "corel1k_colorhist.full.run", trec / "corel1k_colorhist.qrels")


def test_ties_are_stepped_down_by_the_least_float64_step_and_keep_their_order():
    scores = np.array([[0.5, 0.5, 0.5, 0.25], [1.0, 0.75, 0.75, np.nan]], dtype=np.float32)
    stepped = strictly_decreasing(scores)
    assert stepped[0, 1] == np.nextafter(0.5, -1) and stepped[0, 2] == np.nextafter(stepped[0, 1], -1)
    assert stepped[0, 3] == 0.25 and stepped[1, 1] == 0.75
    lines = list(run_lines(RunRows(["q"], [["a", "b", "c", "d"]], scores[:1]), "t"))
    assert [float(line.split()[4]) for line in lines] == stepped[0].tolist()  # every digit printed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("q Q0 d 1 0.5\n", "line 1: 5 columns"),
        ("q Q0 d 1 0.5 a\nq Q0 e 2 nan a\n", "line 2: score 'nan'"),
        ("q Q0 d 1 0.5 a\nq Q0 d 2 0.4 a\n", "line 2: document 'd' twice"),
        ("q Q0 d 1 0.5 a\nq Q0 e 2 0.4 b\n", "line 2: tag 'b' after 'a'"),
        ("\n", "holds no ranked document"),
    ],
)
def test_a_malformed_run_is_one_line_naming_the_file_and_line(tmp_path, text, problem):
    path = tmp_path / "bad.run"
    path.write_text(text)
    with pytest.raises(EvaluationError, match=problem) as error:
        read_run(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_a_read_run_is_ordered_by_score_then_document_id_descending_as_trec_eval_orders_it(tmp_path):
    path = tmp_path / "tied.run"
    path.write_text("q Q0 a 1 0.5 t\nq Q0 b 2 0.5 t\nq Q0 c 3 0.9 t\n")
    assert read_run(path).rankings == {"q": ["c", "b", "a"]}


def _write_external(path: Path, rankings: dict[str, list[str]], tag: str = "faiss-flat") -> Path:
    """A run as another system writes one: its own scores, ties included, lines in no particular order."""
    lines = [
        f"{q} Q0 {doc} {rank} {1 - rank / 100:.2f} {tag}"
        for q, docs in rankings.items()
        for rank, doc in enumerate(docs, start=1)
    ]
    path.write_text("\n".join(reversed(lines)) + "\n")
    return path


def test_eval_run_scores_an_external_run_as_a_row_beside_the_collections_records(store, tmp_path):
    add_collection(store, "toy", LABELS)
    neighbours = rank_all(store, "toy")
    ids = neighbours.points.ids
    rng = np.random.default_rng(3)
    rankings = {}
    for q, pid in enumerate(ids):  # the query itself first (a self-match), then a shuffled top 20
        order = neighbours.order[q][:20].copy()
        rng.shuffle(order)
        rankings[pid] = [pid, *(ids[p] for p in order)]
    run = _write_external(tmp_path / "faiss.run", rankings)
    result = _eval(store, tmp_path, "-c", "toy", "--run", str(run))
    assert "run faiss-flat" in result.output  # its row, labelled by its kind and tag
    record = json.loads((tmp_path / "reports" / "toy" / "runs" / "run-faiss-flat.json").read_text())
    assert record["variant"]["kind"] == "run" and record["variant"]["run_tag"] == "faiss-flat"
    # the same figures as the file scored by ranx against the collection's qrels, the self-match removed
    stripped = tmp_path / "stripped.run"
    lines = [line for line in run.read_text().splitlines() if line.split()[0] != line.split()[2]]
    stripped.write_text("\n".join(lines) + "\n")
    _assert_ranx_agrees(record, stripped, tmp_path / "trec" / "toy.qrels")
    full = json.loads((tmp_path / "reports" / "toy" / "runs" / "full.json").read_text())
    assert record["map"] < full["map"]  # a top 20 shuffled: fewer relevant points, ranked worse
    assert "toy run faiss-flat" in result.output.split("by mAP, each against the next")[1]  # compared, paired


def test_a_run_naming_unknown_ids_is_one_line_naming_them(store, tmp_path):
    import cli

    add_collection(store, "toy", LABELS)
    ids = store.points("toy").ids
    run = _write_external(tmp_path / "bad.run", {ids[0]: [ids[1], "ghost-1", "ghost-2"], "nobody": [ids[2]]})
    args = ["--reports", str(tmp_path / "reports"), "eval", "-c", "toy", "--run", str(run)]
    result = CliRunner().invoke(cli.cli, args, obj=Context(handed=store))
    assert isinstance(result.exception, EvaluationError)  # cli.main prints it as one line
    line = str(result.exception)
    assert "\n" not in line and str(run) in line
    assert "1 query id(s) not in collection 'toy' (nobody)" in line
    assert "2 document id(s) not in collection 'toy' (ghost-1, ghost-2)" in line
    assert not (tmp_path / "reports" / "toy").exists()  # refused before any ranking
    two = CliRunner().invoke(cli.cli, [*args[:3], "--run", str(run)], obj=Context(handed=store))
    assert two.exit_code == 2 and "name it with -c" in two.output
    depth = CliRunner().invoke(cli.cli, [*args[:5], "--trec-depth", "5"], obj=Context(handed=store))
    assert depth.exit_code == 2 and "--trec-depth needs --trec DIR" in depth.output


def test_round_trip_a_written_run_read_back_scores_as_its_record(store, tmp_path):
    """README's round trip: `eval --trec` writes, ranx scores the files, `eval --run` reads the run back."""
    add_collection(store, "toy", LABELS)
    _eval(store, tmp_path, "-c", "toy")
    written = tmp_path / "trec" / "toy.full.run"
    _eval(store, tmp_path, "-c", "toy", "--run", str(written))
    runs = tmp_path / "reports" / "toy" / "runs"
    full, back = (json.loads((runs / name).read_text()) for name in ("full.json", "run-toy.full.json"))
    assert back["ap_per_query"] == pytest.approx(full["ap_per_query"], abs=1e-12)
    for name in ("map", "r_precision", "metrics", "precision_at"):
        assert back[name] == pytest.approx(full[name], abs=1e-12)
    _assert_ranx_agrees(back, written, tmp_path / "trec" / "toy.qrels")


def test_a_revisited_layout_writes_each_setup_with_its_junk_removed_and_ranx_agrees(store, tmp_path):
    import cli
    from media.groundtruth import read_ground_truth
    from tests.test_revisited_layout import write_revisited

    folder = write_revisited(tmp_path / "data")
    common = ["--reports", str(tmp_path / "reports")]
    ingest = [*common, "ingest", "--data-root", str(tmp_path / "data"), "-e", "colorhist"]
    assert CliRunner().invoke(cli.cli, ingest, obj=Context(handed=store)).exit_code == 0
    trec = tmp_path / "trec"
    args = [*common, "eval", "-c", "roxford5k_colorhist", "--trec", str(trec)]
    result = CliRunner().invoke(cli.cli, args, obj=Context(handed=store))
    assert result.exit_code == 0, result.output
    assert "wrote TREC files" in result.output
    metrics = json.loads((tmp_path / "reports" / "roxford5k_colorhist" / "metrics.json").read_text())
    truth = read_ground_truth(folder / "gnd_roxford5k.pkl", "roxford5k")
    points = store.points("roxford5k_colorhist")
    pid = {path: point for point, path in zip(points.ids, points.paths, strict=True)}
    database = [pid[f"{name}.jpg"] for name in truth.database]
    ranx = pytest.importorskip("ranx")
    lists = {"easy": (("easy",), ("junk", "hard")), "medium": (("easy", "hard"), ("junk",))}
    lists["hard"] = (("hard",), ("junk", "easy"))
    for setup, (ok, ignored) in lists.items():
        run, qrels = (
            read_run(trec / f"roxford5k_colorhist.{setup}.run"),
            read_qrels(trec / f"roxford5k_colorhist.{setup}.qrels"),
        )
        judged = [q for q in truth.queries if any(getattr(q, name) for name in ok)]
        assert list(run.rankings) == list(qrels) == [q.name for q in judged]  # the blue query has no hard positive
        for query in judged:
            junk = {database[i] for name in ignored for i in getattr(query, name)}
            assert not junk & set(run.rankings[query.name])  # junk is ignored: not in the ranking
            assert len(run.rankings[query.name]) == len(database) - len(junk)
            assert set(qrels[query.name]) == {database[i] for name in ok for i in getattr(query, name)}
        expected = ranx.evaluate(
            ranx.Qrels.from_file(str(trec / f"roxford5k_colorhist.{setup}.qrels"), kind="trec"),
            ranx.Run.from_file(str(trec / f"roxford5k_colorhist.{setup}.run"), kind="trec"),
            ["map", "precision@1", "precision@5", "precision@10"],
        )
        ours = metrics["setups"][setup]["trec_eval"]
        assert ours["map"] == pytest.approx(expected["map"], abs=1e-9)
        for k in (1, 5, 10):
            assert ours["p_at"][str(k)] == pytest.approx(expected[f"precision@{k}"], abs=1e-9)
