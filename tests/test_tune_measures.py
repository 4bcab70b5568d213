"""`tune`'s measurements: recall and mAP@k against numpy's exact ranking of the very answers the engine gave,
query-time settings reaching both engines, the footprint on disk, the server path (scratch collections dropped,
Qdrant's formula for memory), unlabelled points, and the thresholds that let a small collection be indexed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient, models

import cli
from evaluation.metrics.top_k import top_k_quality
from store import ImagePayload, IndexSettings, open_store
from store.client.qdrant import collection_config
from store.client.server import ServerStore
from store.edge import EdgeStore
from store.edge.indexing import FULL_SCAN_KB, edge_config
from store.types import Quantization, SearchSettings
from tests.tune_points import LOW_RECALL, fill, labelled_points
from tune import settings_grid as tune_grid
from tune.settings_grid import Build, TuneSetting
from tune.tuner import TuneOptions, tune_collection

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")


# recall and mAP@k against numpy


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


def test_index_any_size_lowers_both_thresholds_on_both_engines():
    server = collection_config(16, IndexSettings(index_any_size=True))
    assert server["hnsw_config"].full_scan_threshold == 10 and server["optimizers_config"].indexing_threshold == 10
    assert collection_config(16, IndexSettings())["optimizers_config"] is None
    assert edge_config(16, IndexSettings(index_any_size=True)).hnsw_config.full_scan_threshold == 10
    assert edge_config(16, IndexSettings()).hnsw_config.full_scan_threshold == FULL_SCAN_KB
