"""The product on a real Qdrant server: same points, rankings and mAP as the embedded store.

The server is conftest's `server` fixture: the one named by QDRANT_URL (and
QDRANT_API_KEY), else a throwaway container of the pinned image started by
testcontainers with an API key. Without either (no Docker engine, as on the development machine) every
test here skips and says why. `make test-server` runs only these.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from encoders import build_encoder
from errors import StoreError
from evaluation import RankingRequest, leave_one_out, rank_all
from ingest import Dataset, IngestOptions, ingest_dataset, read_dataset
from store import IndexSettings, VectorStore, collection_name, open_store
from tests.conftest import write_list_dataset
from tune.ann_recall import ann_recall

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[1]
PER_CLASS = 100  # 300 points: more than one bulk batch of 256
NEAR_TIE = 1e-6  # float32 scores this close may come back in either order


def _dataset(root: Path, name: str, per_class: int = PER_CLASS) -> Dataset:
    return read_dataset(write_list_dataset(root / name, per_class), name)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    return _dataset(tmp_path_factory.mktemp("data"), "itest")


@dataclass
class Pair:
    remote: VectorStore
    local: VectorStore
    name: str


@pytest.fixture(scope="module", params=["colorhist", "clip"])
def pair(request, server, dataset, tmp_path_factory) -> Iterator[Pair]:
    """One dataset ingested with one encoder into the server and into an embedded store."""
    encoder = build_encoder(request.param, "cpu", init="random-tiny")
    remote = open_store(server.url, server.api_key)
    local = open_store(path=tmp_path_factory.mktemp("embedded"))
    options = IngestOptions(batch_size=32, workers=0, recreate=True)
    for store in (remote, local):
        assert ingest_dataset(dataset, encoder, store, options=options).written == len(dataset.items)
    name = collection_name(dataset.name, encoder.name)
    yield Pair(remote, local, name)
    remote.drop(name)
    remote.close()
    local.close()


def test_server_holds_the_same_points_as_the_embedded_store(pair):
    remote = pair.remote.points(pair.name, with_vectors=True)
    local = pair.local.points(pair.name, with_vectors=True)
    assert remote.ids == local.ids and remote.payloads == local.payloads
    np.testing.assert_allclose(remote.vectors, local.vectors, atol=1e-6)


def test_server_and_embedded_rankings_agree_up_to_near_ties(pair):
    server = rank_all(pair.remote, pair.name, RankingRequest(method="batch-query"))
    embedded = rank_all(pair.local, pair.name, RankingRequest(method="block"))
    vectors = embedded.points.vectors
    similarity = vectors @ vectors.T
    rows = np.arange(len(vectors))[:, None]
    # where the orders differ, the points swapped have scores within NEAR_TIE of each other
    np.testing.assert_allclose(similarity[rows, server.order], similarity[rows, embedded.order], atol=NEAR_TIE)
    np.testing.assert_allclose(server.scores, embedded.scores, atol=NEAR_TIE)
    assert (server.order == embedded.order).mean() > 0.99


@pytest.mark.parametrize("k", [None, 10])
def test_server_and_embedded_give_the_same_map(pair, k):
    server = leave_one_out(pair.remote, pair.name, RankingRequest(k=k, method="batch-query"))
    embedded = leave_one_out(pair.local, pair.name, RankingRequest(k=k, method="block"))
    assert server.figures.mean_ap == pytest.approx(embedded.figures.mean_ap, abs=1e-6)
    assert 0.0 < server.figures.mean_ap <= 1.0


def test_search_by_stored_point_on_the_server(pair):
    points = pair.local.points(pair.name)
    query, label = points.ids[7], points.labels[7]
    remote = pair.remote.query(pair.name, query, limit=5)
    local = pair.local.query(pair.name, query, limit=5)
    assert query not in {hit.id for hit in remote}
    np.testing.assert_allclose([h.score for h in remote], [h.score for h in local], atol=NEAR_TIE)
    filtered = pair.remote.query(pair.name, query, limit=5, label=label)  # through the label index
    assert len(filtered) == 5 and {hit.label for hit in filtered} == {label}


def test_ann_recall_is_measured_on_the_server(pair):
    measured = ann_recall(pair.remote, pair.name, k=10, sample=50)
    assert not measured.exact_only and measured.queries == 50 and measured.points == PER_CLASS * 3
    assert 0.0 < measured.recall <= 1.0


def test_server_collection_takes_the_asked_layout_and_gets_its_graph_after_the_load(server, tmp_path):
    dataset = _dataset(tmp_path, "ilayout", per_class=20)
    settings = IndexSettings(shards=2, on_disk=True, hnsw_m=32, hnsw_ef_construct=128, quantization="int8")
    remote = open_store(server.url, server.api_key)
    name = collection_name(dataset.name, "colorhist")
    try:
        ingest_dataset(
            dataset,
            build_encoder("colorhist"),
            remote,
            options=IngestOptions(workers=0, recreate=True, settings=settings),
        )
        from qdrant_client import QdrantClient

        info = QdrantClient(url=server.url, api_key=server.api_key).get_collection(name)  # Qdrant's own view
        assert info.config.params.shard_number == 2 and info.config.params.vectors.on_disk
        assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == (32, 128)
        assert info.config.quantization_config.scalar.type.value == "int8"
        assert "label" in info.payload_schema
    finally:
        if remote.exists(name):
            remote.drop(name)
        remote.close()


def test_api_key_is_required_and_enforced(server):
    if not server.api_key:
        pytest.skip("the server at QDRANT_URL was given no QDRANT_API_KEY")
    for key in (None, "wrong-" + server.api_key):
        with pytest.raises(StoreError, match="refused the API key") as refused:
            open_store(server.url, key)
        assert server.api_key not in str(refused.value)
    open_store(server.url, server.api_key).close()


def test_cli_ingests_evaluates_and_measures_recall_on_the_server(server, tmp_path):
    write_list_dataset(tmp_path / "data" / "icli", per_class=10)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QDRANT_URL": server.url, "QDRANT_API_KEY": server.api_key or ""}

    def cli(*args: str) -> str:
        run = subprocess.run(
            [sys.executable, "cli.py", "--reports", str(tmp_path / "reports"), *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr
        if server.api_key:
            assert server.api_key not in run.stdout + run.stderr
        return run.stdout

    cli("ingest", "--data-root", str(tmp_path / "data"), "-e", "colorhist", "--workers", "0", "--recreate")
    try:
        summary = json.loads(cli("eval", "-c", "icli_colorhist", "--format", "json"))
        assert summary["points"] == 30 and summary["store"] == server.url and 0 < summary["map"] <= 1
        recall = json.loads(cli("eval", "-c", "icli_colorhist", "--ann", "--format", "json"))
        assert recall["queries"] == 30 and not recall["exact_only"]
    finally:
        remote = open_store(server.url, server.api_key)
        remote.drop("icli_colorhist")
        remote.close()
