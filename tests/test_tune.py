"""`tune`: the frontier on a hand-made table, recall and mAP@k against numpy's exact ranking of the very
answers the engine gave, query-time settings reaching both engines, the footprint on disk, the refusal of
exact-only engines, the server path (scratch collections dropped, Qdrant's formula), the CLI, and the
scratch copy a killed tune left removed by the next."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient, models

import cli
from errors import EvaluationError
from evaluation.metrics.top_k import top_k_quality
from media.scratch import ScratchFolder
from store import CollectionInfo, ImagePayload, IndexSettings, open_store
from store.client.qdrant import collection_config
from store.client.server import ServerStore
from store.edge import EdgeStore
from store.edge.indexing import FULL_SCAN_KB, edge_config
from store.types import Quantization, SearchSettings
from tests.conftest import CLI_ENV, ROOT
from tune import settings_grid as tune_grid
from tune import tuner as tune_module
from tune.findings import apply_commands
from tune.frontier import pareto, recommend
from tune.settings_grid import Build, TuneSetting
from tune.tuner import TuneOptions, check_tunable, tune_collection

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from eval_scale import Points  # noqa: E402
from tune_synthetic import write_set  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")


# the frontier, by hand


def test_frontier_and_recommendation_on_a_hand_made_table():
    # recall, p50 ms, bytes a point
    table = [
        (0.99, 1.0, 100),  # 0: on the frontier (cheapest memory among the good ones)
        (0.99, 2.0, 100),  # 1: dominated by 0 (same recall and memory, slower)
        (1.00, 3.0, 400),  # 2: on it (best recall)
        (0.90, 0.5, 50),  # 3: on it (fastest and cheapest)
        (0.95, 0.6, 60),  # 4: on it (nothing both as fast and as cheap with recall >= 0.95)
        (0.94, 0.7, 60),  # 5: dominated by 4
        (1.00, 3.0, 400),  # 6: a copy of 2: neither dominates the other, both on it
    ]
    recall, latency, memory = (np.array(column, dtype=float) for column in zip(*table, strict=True))
    assert pareto(recall, latency, memory).tolist() == [True, False, True, True, True, False, True]
    chosen = recommend(recall, latency, memory, tolerance=0.01)
    assert (chosen.index, chosen.best_quality, chosen.eligible) == (0, 1.0, 4)  # rows 0, 1, 2, 6 are within 0.01
    assert recommend(recall, latency, memory, tolerance=0.06).index == 4  # 0.95 now qualifies, and is cheaper
    assert recommend(recall, latency, memory, tolerance=0.2).index == 3


def test_recommendation_breaks_memory_ties_by_latency_then_recall():
    recall, latency, memory = np.array([0.98, 0.99, 0.995]), np.array([2.0, 1.0, 1.0]), np.array([10.0, 10.0, 10.0])
    assert recommend(recall, latency, memory).index == 2
    assert pareto(recall, latency, memory).tolist() == [False, False, True]


# recall and mAP@k against numpy


def labelled_points(n: int, dim: int, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    vectors = (rng.normal(size=(classes, dim))[labels] * 0.6 + rng.normal(size=(n, dim))).astype(np.float32)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))) for i in range(n)]
    payloads = [ImagePayload(f"c{label}", f"c{label}/{i}.jpg", "toy", "net", i) for i, label in enumerate(labels)]
    return ids, vectors, payloads, labels


def fill(store, name: str, n: int = 400, dim: int = 24, classes: int = 4, settings: IndexSettings | None = None):
    ids, vectors, payloads, labels = labelled_points(n, dim, classes)
    store.ensure_collection(name, dim, settings=settings)
    with store.bulk_load(name) as loader:
        loader.add(ids, vectors, payloads)
    return ids, vectors, labels


def numpy_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact cosine top k of each query position among the other points."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit[queries] @ unit.T
    scores[np.arange(len(queries)), queries] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def ap_at_k_by_hand(found: list[int], query: int, labels: np.ndarray, k: int) -> float:
    relevant_total = int((labels == labels[query]).sum()) - 1
    hits, total = 0, 0.0
    for rank, point in enumerate(found[:k], start=1):
        if labels[point] == labels[query]:
            hits += 1
            total += hits / rank
    return total / min(relevant_total, k)


LOW_RECALL = [  # small graphs and beams, so that recall stays below 1 and the comparison means something
    TuneSetting(Build(4, 8), 4),
    TuneSetting(Build(4, 8, "binary"), 4, False),
    TuneSetting(Build(4, 8, "binary"), 4, True, 4),
]


def test_recall_and_map_equal_numpy_on_the_answers_the_engine_gave(tmp_path, monkeypatch):
    store = open_store(path=tmp_path / "q")
    ids, vectors, labels = fill(store, "toy_net")
    asked: list[tuple[str, bool, SearchSettings | None, list[str]]] = []
    original = EdgeStore.query_many

    def recording(self, name, queries, limit, *, exact, search=None):
        answers = original(self, name, queries, limit, exact=exact, search=search)
        asked.extend((name, exact, search, found) for found, _ in answers)
        return answers

    monkeypatch.setattr(EdgeStore, "query_many", recording)
    monkeypatch.setitem(tune_grid.GRIDS, "low", lambda: LOW_RECALL)
    k, sample = 10, 60
    result = tune_collection(
        store, "toy_net", TuneOptions(k=k, sample=sample, seed=3, grid="low", quality=top_k_quality)
    )
    store.close()
    queries = np.sort(np.random.default_rng(3).choice(len(ids), size=sample, replace=False))
    truth = numpy_top_k(vectors, queries, k)
    position = {point: i for i, point in enumerate(ids)}
    assert result.exact.recall == 1.0
    recalls = []
    for row in result.rows:
        answers = [found for name, exact, search, found in asked if not exact and search == row.setting.search]
        answers = answers[:sample]  # those the figures come from (then again for the latency)
        got = [[position[p] for p in found if p != ids[q]][:k] for q, found in zip(queries, answers, strict=True)]
        expected = np.mean([len(set(g) & set(t.tolist())) / k for g, t in zip(got, truth, strict=True)])
        assert row.recall == pytest.approx(expected, abs=1e-12), row.label
        ap = [ap_at_k_by_hand(g, q, labels, k) for g, q in zip(got, queries, strict=True)]
        assert row.map_k == pytest.approx(np.mean(ap), abs=1e-12), row.label
        recalls.append(row.recall)
    assert min(recalls) < 0.95  # the index really was approximate
    exact_ap = [ap_at_k_by_hand(t.tolist(), q, labels, k) for t, q in zip(truth, queries, strict=True)]
    assert result.exact.map_k == pytest.approx(np.mean(exact_ap), abs=1e-12)
    assert result.rows[2].recall > result.rows[1].recall  # rescoring with oversampling finds more


# the store's part


def test_edge_search_settings_change_the_approximate_answer_only(tmp_path):
    store = open_store(path=tmp_path / "q")
    settings = IndexSettings(
        hnsw_m=4,
        hnsw_ef_construct=8,
        quantization="binary",
        hnsw_ef=8,
        index_any_size=True,
        rescore=True,
        oversampling=4.0,
    )
    ids, vectors, _ = fill(store, "toy_net", settings=settings)
    assert store.build_index("toy_net", force=True)
    assert store.index_status("toy_net").indexed == len(ids)
    queries = list(vectors[:50])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    truth = np.argsort(-(unit[:50] @ unit.T), axis=1)[:, :10]  # each query's own point first

    def recall(search: SearchSettings | None, exact: bool = False) -> float:
        found = store.query_many("toy_net", queries, 10, exact=exact, search=search)
        return np.mean([len({ids[i] for i in t} & set(f)) / 10 for (f, _), t in zip(found, truth, strict=True)])

    plain, rescored = recall(SearchSettings(8, False)), recall(SearchSettings(8, True, 4.0))
    assert plain < rescored
    assert recall(None) == rescored  # the collection's recorded settings apply where a query sets none
    assert recall(SearchSettings(8, False), exact=True) == 1.0  # exact search ignores them
    store.close()


def test_edge_footprint_reads_vectors_graph_and_quantized_copy(tmp_path):
    store = open_store(path=tmp_path / "q")
    n, dim = 400, 24
    for quantization in ("none", "int8"):
        name = f"toy_{quantization}"
        fill(store, name, n, dim, settings=IndexSettings(quantization=quantization, index_any_size=True))
        store.build_index(name, force=True)
        footprint = store.footprint(name)
        assert n * dim * 4 <= footprint.vectors < n * dim * 4 + 64 * 1024
        assert footprint.index > 0
        if quantization == "int8":
            assert n * dim <= footprint.quantized < n * dim + 64 * 1024
        else:
            assert footprint.quantized == 0
    store.close()


def test_server_search_params_carry_beam_rescore_and_oversampling():
    seen = []

    class Recording(QdrantClient):
        def query_batch_points(self, collection_name, requests, **kwargs):
            seen.extend(request.params for request in requests)
            return super().query_batch_points(collection_name, requests, **kwargs)

    store = ServerStore(Recording(":memory:"), "recorder")
    fill(store, "toy_net", 30)
    vector = np.ones(24, np.float32)
    store.query_many("toy_net", [vector], 5, exact=False, search=SearchSettings(64, True, 2.5))
    store.query_many("toy_net", [vector], 5, exact=True, search=SearchSettings(64, True, 2.5))
    store.query_many("toy_net", [vector], 5, exact=False)
    assert seen == [
        models.SearchParams(hnsw_ef=64, quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.5)),
        models.SearchParams(exact=True),
        models.SearchParams(exact=False),
    ]


def test_ingest_records_the_query_time_settings_of_an_embedded_collection(tmp_path, data_root):
    arguments = ["--storage", str(tmp_path / "q"), "ingest", "--data-root", str(data_root), "-e", "colorhist"]
    options = ["--quantization", "int8", "--hnsw-ef", "64", "--rescore", "--oversampling", "2.5"]
    done = CliRunner().invoke(cli.cli, [*arguments, "--workers", "0", *options], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    store = open_store(path=tmp_path / "q")
    settings = store.settings("shapes_colorhist")
    assert (settings.quantization, settings.search) == ("int8", SearchSettings(64, True, 2.5))
    assert settings.quantization is Quantization.INT8  # read back as the enum...
    sidecar = json.loads((tmp_path / "q" / "collections" / "shapes_colorhist" / "collection.json").read_text())
    assert sidecar["settings"]["quantization"] == "int8"  # ...and stored as the plain string it always was
    store.close()


def test_engines_without_index_settings_are_refused_with_what_to_do(tmp_path):
    local = open_store(path=tmp_path / "old", engine="local")
    fill(local, "toy_net", 20)
    with pytest.raises(EvaluationError, match="store migrate") as error:
        check_tunable(local, "toy_net")
    assert "\n" not in str(error.value) and "--qdrant-url" in str(error.value)
    local.close()


def test_on_a_server_scratch_collections_are_dropped_and_memory_is_qdrants_formula(monkeypatch):
    store = ServerStore(QdrantClient(":memory:"), "recorder")
    fill(store, "toy_net", 60, 16, 3)
    monkeypatch.setitem(tune_grid.GRIDS, "two", lambda: [TuneSetting(Build(8, 32), 16), *LOW_RECALL[1:2]])
    result = tune_collection(store, "toy_net", TuneOptions(k=5, grid="two", settle_s=0, quality=top_k_quality))
    assert store.collection_names() == ["toy_net"]
    plain, binary = result.rows
    assert (plain.memory.source, plain.memory.vectors, plain.memory.index, plain.memory.ram) == ("formula", 64, 64, 128)
    assert (binary.memory.quantized, binary.memory.ram) == (2, 32 + 2)  # d/8 bytes; originals on disk
    commands = result.commands()
    assert result.recommended is binary  # recall 1 in both (the stand-in searches exactly): the least memory
    reindex = "python cli.py collections reindex toy_net --qdrant-url recorder --hnsw-m 4 --hnsw-ef-construct 8"
    assert commands[0] == f"{reindex} --quantization binary --on-disk", commands
    assert json.loads(json.dumps(result.to_json()))["kind"] == "tune"


# the command line


def test_tune_command_writes_its_record_and_figure(tmp_path):
    vectors, listing = write_set(tmp_path / "set", Points(300, 32, 5))
    base = ["--storage", str(tmp_path / "q"), "--reports", str(tmp_path / "reports")]
    runner = CliRunner(env={"COLUMNS": "200"})
    arguments = ["import", "--vectors", str(vectors), "--list", str(listing), "-d", "syn", "-e", "rand"]
    imported = runner.invoke(cli.cli, [*base, *arguments])
    assert imported.exit_code == 0, imported.output
    done = runner.invoke(cli.cli, [*base, "tune", "-c", "syn_rand", "--sample", "50"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert (
        "recommended:" in done.output
        and f"python cli.py collections reindex syn_rand --storage {tmp_path / 'q'} --hnsw-m" in done.output
    )
    record = json.loads((tmp_path / "reports" / "syn_rand" / "tune.json").read_text())
    assert (record["kind"], record["queries"], record["points"], record["memory_source"]) == ("tune", 50, 300, "disk")
    assert record["timed_queries"] == 50
    assert len(record["settings"]) == len(tune_grid.small_grid())
    assert all(0 <= row["recall"] <= 1 and row["indexed"] == 300 for row in record["settings"])
    assert record["recommended"]["label"] in [row["label"] for row in record["settings"] if row["frontier"]]
    assert (tmp_path / "reports" / "syn_rand" / "tune.png").read_bytes()[:4] == b"\x89PNG"
    assert not any(name.startswith("tune-") for name in open_store(path=tmp_path / "q").collection_names())


def test_tune_command_refuses_a_local_mode_store_in_one_line(tmp_path):
    local = open_store(path=tmp_path / "q", engine="local")
    fill(local, "toy_net", 20)
    local.close()
    done = CliRunner().invoke(cli.cli, ["--storage", str(tmp_path / "q"), "tune", "-c", "toy_net"])
    assert done.exit_code != 0
    assert "store migrate" in str(done.exception)


def test_tune_module_queries_are_seeded_and_sorted():
    drawn = tune_module._queries(1000, TuneOptions(sample=10, seed=5))
    assert drawn.tolist() == sorted(drawn.tolist()) and len(set(drawn.tolist())) == 10
    assert tune_module._queries(1000, TuneOptions(sample=10, seed=5)).tolist() == drawn.tolist()
    assert tune_module._queries(8, TuneOptions(sample=10)).tolist() == list(range(8))


def test_apply_commands_reindex_the_collection_from_its_own_vectors_on_each_engine():
    info = CollectionInfo("pets_net", 10, 8, "Cosine", "pets", "net", "embedded:/tmp/my store")
    rescored = TuneSetting(Build(16, 100, "int8"), 128, True, 2)
    reindex = "python cli.py collections reindex pets_net --storage '/tmp/my store'"
    assert apply_commands(info, rescored, server=False) == [
        f"{reindex} --hnsw-m 16 --hnsw-ef-construct 100 --quantization int8 --on-disk --hnsw-ef 128 --rescore "
        "--oversampling 2"
    ]
    plain = apply_commands(info, TuneSetting(Build(8, 64), 64), server=False)
    assert plain == [f"{reindex} --hnsw-m 8 --hnsw-ef-construct 64 --quantization none --hnsw-ef 64"]
    served = CollectionInfo("pets_net", 10, 8, "Cosine", "pets", "net", "http://qdrant:6333")
    update, params = apply_commands(served, TuneSetting(Build(16, 100, "binary"), 128, False), server=True)
    assert update == (
        "python cli.py collections reindex pets_net --qdrant-url http://qdrant:6333 --hnsw-m 16 "
        "--hnsw-ef-construct 100 --quantization binary --on-disk"
    )
    assert json.loads(params.split('"params": ', 1)[1]) == {
        "hnsw_ef": 128,
        "quantization": {"rescore": False, "oversampling": 1},
    }


def test_grids_are_the_sizes_the_help_states():
    for make, settings, builds in ((tune_grid.small_grid, 8, 6), (tune_grid.full_grid, 36, 9)):
        grid = make()
        assert (len(grid), len({setting.build for setting in grid})) == (settings, builds)
        assert {setting.build.quantization for setting in grid} == set(tune_grid.QUANTIZATIONS)
        assert len({setting.label for setting in grid}) == settings  # every row is told apart


def test_index_any_size_lowers_both_thresholds_on_both_engines():
    server = collection_config(16, IndexSettings(index_any_size=True))
    assert server["hnsw_config"].full_scan_threshold == 10 and server["optimizers_config"].indexing_threshold == 10
    assert collection_config(16, IndexSettings())["optimizers_config"] is None
    assert edge_config(16, IndexSettings(index_any_size=True)).hnsw_config.full_scan_threshold == 10
    assert edge_config(16, IndexSettings()).hnsw_config.full_scan_threshold == FULL_SCAN_KB


def test_unlabelled_points_give_recall_without_map(monkeypatch):
    store = ServerStore(QdrantClient(":memory:"), "recorder")
    ids, vectors, _, _ = labelled_points(40, 8, 2)
    store.ensure_collection("toy_net", 8)
    store.upsert("toy_net", ids, vectors, payloads=[ImagePayload(None, f"{i}.jpg", "toy", "net", i) for i in range(40)])
    monkeypatch.setitem(tune_grid.GRIDS, "one", lambda: LOW_RECALL[:1])
    result = tune_collection(store, "toy_net", TuneOptions(k=5, grid="one", settle_s=0, quality=top_k_quality))
    assert result.exact.map_k is None and result.rows[0].map_k is None
    assert result.rows[0].recall == 1.0  # the stand-in searches exactly
    assert json.loads(json.dumps(result.to_json()))["settings"][0]["map_k"] is None


def test_a_killed_tunes_scratch_copy_is_removed_by_the_next_tune_and_a_live_ones_kept(tmp_path, monkeypatch, caplog):
    vectors, listing = write_set(tmp_path / "set", Points(300, 32, 5))
    base = ["--storage", str(tmp_path / "q"), "--reports", str(tmp_path / "reports")]
    arguments = ["import", "--vectors", str(vectors), "--list", str(listing), "-d", "syn", "-e", "rand"]
    assert CliRunner().invoke(cli.cli, [*base, *arguments]).exit_code == 0
    temp = tmp_path / "tmp"
    temp.mkdir()
    tuning = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *base, "tune", "-c", "syn_rand", "--sample", "50"],
        env={**CLI_ENV, "TMPDIR": str(temp)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(temp.glob("tune-*/store")) and time.monotonic() < deadline:
        time.sleep(0.01)
    tuning.kill()  # SIGKILL once its scratch copy exists
    tuning.wait()
    left = list(temp.glob("tune-*"))
    assert len(left) == 1 and (left[0] / "store").is_dir()  # what the kill left
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setitem(tune_grid.GRIDS, "small", lambda: tune_grid.small_grid()[:1])  # one build is enough here
    with ScratchFolder("tune-") as live:  # another tune, running
        done = CliRunner().invoke(cli.cli, [*base, "tune", "-c", "syn_rand", "--sample", "10"])
        assert done.exit_code == 0, done.output
        assert sorted(temp.glob("tune-*")) == [live.path]
    assert f"removed {left[0]}, a scratch folder left by a killed process" in caplog.text
    assert not list(temp.iterdir())


def test_the_frontier_figures_names_do_not_overlap_where_settings_crowd():
    from types import SimpleNamespace

    from matplotlib.text import Text

    from tune.tune_files import frontier_figure

    def row(i: int) -> SimpleNamespace:  # ten frontier settings a hair apart in latency, memory and recall
        memory = SimpleNamespace(ram=1000 + 3 * i, source="formula")
        return SimpleNamespace(
            label=f"m{i} ef{16 * i} int8", frontier=True, p50_ms=1 + 0.01 * i, recall=0.9 + 0.001 * i, memory=memory
        )

    far = SimpleNamespace(label="m4", frontier=False, p50_ms=0.2, recall=0.5, memory=SimpleNamespace(ram=200))
    rows = [row(i) for i in range(10)] + [far]  # the far setting stretches both axes: the ten crowd together
    exact = SimpleNamespace(p50_ms=5.0, memory=SimpleNamespace(ram=1600, source="formula"))
    result = SimpleNamespace(rows=rows, recommended=rows[3], exact=exact, k=10, collection="crowded", queries=50)
    figure = frontier_figure(result)
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes:
        boxes = [Text.get_window_extent(name, renderer) for name in ax.texts]  # the names' boxes, not their lines
        assert len(boxes) == 10
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
