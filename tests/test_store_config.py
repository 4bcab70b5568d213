"""Server options reach Qdrant's collection configuration; bulk loads, retries and ANN
recall take the server's path; server failures are one line.

No server is needed: requests are captured on the wire (an httpx mock transport
under the real client), from the gRPC conversion, or by a recording in-memory
client standing in for a server.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient, models
from qdrant_client.conversions.conversion import RestToGrpc
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from commands.context import Context
from errors import StoreError
from store import PAYLOAD_SCHEMA, ImagePayload, IndexSettings, VectorStore, open_store
from store.client import server as server_module
from store.client.embedded import EmbeddedStore
from store.client.server import BULK_BATCH, ServerStore
from tune.ann_recall import ann_recall

# the in-memory stand-in for a server takes the server's path, payload index included
pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")

REPO = Path(__file__).resolve().parents[1]
FAKE_KEY = "FAKE-KEY-7f3c9e1a-do-not-print"
SERVER_SETTINGS = IndexSettings(
    shards=3, replicas=2, on_disk=True, hnsw_m=32, hnsw_ef_construct=200, quantization="int8"
)


class Recorder:
    """A real in-memory client that notes the writes a server would receive."""

    RECORDED = ("create_collection", "update_collection", "upsert")

    def __init__(self) -> None:
        self.client = QdrantClient(":memory:")
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str):
        method = getattr(self.client, name)
        if name not in self.RECORDED:
            return method

        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return method(*args, **kwargs)

        return record

    def named(self, name: str) -> list[tuple[tuple, dict]]:
        return [(args, kwargs) for called, args, kwargs in self.calls if called == name]


def server_standin() -> tuple[VectorStore, Recorder]:
    """A store that takes the server's code paths (batching, deferred HNSW) in memory, and its recorder."""
    recorder = Recorder()
    return ServerStore(recorder, "recorder"), recorder


def reply(result) -> httpx.Response:
    return httpx.Response(200, json={"result": result, "status": "ok", "time": 0.0})


def _created(settings: IndexSettings, dim: int) -> dict:
    """The keyword arguments `create_collection` received for a new collection with `settings`."""
    store, recorder = server_standin()
    store.ensure_collection("c", dim, settings=settings)
    [(args, kwargs)] = recorder.named("create_collection")
    assert args == ("c",)
    return kwargs


def test_default_settings_leave_qdrant_its_defaults():
    config = _created(IndexSettings(), 384)
    assert config["vectors_config"] == models.VectorParams(size=384, distance=models.Distance.COSINE)
    assert config["shard_number"] is None and config["replication_factor"] is None
    assert config["hnsw_config"] is None and config["quantization_config"] is None
    assert config["metadata"] == {"payload_schema": PAYLOAD_SCHEMA}


@pytest.mark.parametrize("quantization", ["int8", "binary"])
def test_every_server_option_becomes_a_request_model(quantization):
    config = _created(IndexSettings(3, 2, True, 32, 200, quantization), 512)
    assert config["vectors_config"] == models.VectorParams(size=512, distance=models.Distance.COSINE, on_disk=True)
    assert (config["shard_number"], config["replication_factor"]) == (3, 2)
    assert config["hnsw_config"] == models.HnswConfigDiff(m=32, ef_construct=200)
    quantized = config["quantization_config"]
    if quantization == "int8":
        assert isinstance(quantized, models.ScalarQuantization)
        assert quantized.scalar.type == models.ScalarType.INT8 and quantized.scalar.always_ram
    else:
        assert isinstance(quantized, models.BinaryQuantization) and quantized.binary.always_ram


def test_server_options_are_in_the_rest_request_with_the_api_key():
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/exists"):
            return reply({"exists": False})
        if request.url.path == "/aliases":  # a name that is no collection may be an alias
            return reply({"aliases": []})
        if request.url.path.endswith("/index"):
            return reply({"operation_id": 1, "status": "completed"})
        return reply(True)

    client = QdrantClient(
        url="https://qdrant:6333", api_key=FAKE_KEY, check_compatibility=False, transport=httpx.MockTransport(server)
    )
    assert ServerStore(client, "mock").ensure_collection("paris_clip", 512, settings=SERVER_SETTINGS)
    create = next(r for r in seen if r.method == "PUT" and r.url.path == "/collections/paris_clip")
    assert json.loads(create.content) == {
        "vectors": {"size": 512, "distance": "Cosine", "on_disk": True},
        "shard_number": 3,
        "replication_factor": 2,
        "hnsw_config": {"m": 32, "ef_construct": 200},
        "quantization_config": {"scalar": {"type": "int8", "always_ram": True}},
        "metadata": {"payload_schema": PAYLOAD_SCHEMA},
    }
    index = next(r for r in seen if r.url.path == "/collections/paris_clip/index")
    assert json.loads(index.content) == {"field_name": "label", "field_schema": "keyword"}
    assert all(r.headers["api-key"] == FAKE_KEY for r in seen)


def test_server_options_survive_the_grpc_conversion():
    config = _created(SERVER_SETTINGS, 512)
    vectors = RestToGrpc.convert_vectors_config(config["vectors_config"]).params
    assert (vectors.size, vectors.on_disk) == (512, True)
    hnsw = RestToGrpc.convert_hnsw_config_diff(config["hnsw_config"])
    assert (hnsw.m, hnsw.ef_construct) == (32, 200)
    assert RestToGrpc.convert_quantization_config(config["quantization_config"]).HasField("scalar")


def test_cli_ingest_options_reach_the_new_collection(data_root, tmp_path):
    import cli

    standin, recorder = server_standin()
    result = CliRunner().invoke(
        cli.cli,
        [
            "--qdrant-url",
            "http://qdrant:6333",
            "--reports",
            str(tmp_path / "reports"),
            "ingest",
            "--data-root",
            str(data_root),
            "-e",
            "colorhist",
            "--batch-size",
            "5",
            "--workers",
            "0",
            "--shards",
            "3",
            "--replicas",
            "2",
            "--on-disk",
            "--hnsw-m",
            "32",
            "--hnsw-ef-construct",
            "200",
            "--quantization",
            "int8",
        ],
        obj=Context(handed=standin),
    )
    assert result.exit_code == 0, result.output
    [(args, kwargs)] = recorder.named("create_collection")
    assert args == ("shapes_colorhist",)
    assert kwargs["vectors_config"] == models.VectorParams(size=128, distance=models.Distance.COSINE, on_disk=True)
    assert (kwargs["shard_number"], kwargs["replication_factor"]) == (3, 2)
    assert kwargs["hnsw_config"] == models.HnswConfigDiff(m=32, ef_construct=200)
    assert kwargs["quantization_config"].scalar.type == models.ScalarType.INT8
    updates = recorder.named("update_collection")
    hnsw_updates = [kwargs["hnsw_config"].m for _, kwargs in updates if "hnsw_config" in kwargs]
    assert hnsw_updates == [0, 32]  # no graph while loading, the asked-for graph after
    assert [len(kwargs["points"].ids) for _, kwargs in recorder.named("upsert")] == [12]


def _load(store: VectorStore, adds: int, rows: int = 100) -> None:
    store.ensure_collection("bulk", 4)
    vectors = np.eye(4, dtype=np.float32)[np.arange(adds * rows) % 4]
    with store.bulk_load("bulk") as loader:
        for a in range(adds):
            part = range(a * rows, (a + 1) * rows)
            payloads = [ImagePayload("x", str(i), "d", "e", i) for i in part]
            loader.add([str(uuid.UUID(int=i)) for i in part], vectors[a * rows : (a + 1) * rows], payloads)


def test_server_loads_are_sent_in_bulk_batches_with_the_graph_built_after():
    store, recorder = server_standin()
    _load(store, adds=6)
    sizes = [len(kwargs["points"].ids) for _, kwargs in recorder.named("upsert")]
    assert sizes == [BULK_BATCH, BULK_BATCH, 600 - 2 * BULK_BATCH]
    assert [kwargs["hnsw_config"].m for _, kwargs in recorder.named("update_collection")] == [0, 16]
    assert store.count("bulk") == 600


def test_the_embedded_store_writes_each_batch_as_it_comes():
    recorder = Recorder()
    embedded = EmbeddedStore(recorder, "embedded:recorder")
    _load(embedded, adds=3)
    assert [len(kwargs["points"].ids) for _, kwargs in recorder.named("upsert")] == [100, 100, 100]
    assert recorder.named("update_collection") == []


def test_a_load_into_a_filled_collection_leaves_its_index_alone():
    store, recorder = server_standin()
    _load(store, adds=1)
    recorder.calls.clear()
    _load(store, adds=1)
    assert recorder.named("update_collection") == []


class Flaky:
    """A client whose upserts fail with `errors` first, then succeed; it notes each timeout."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.timeouts: list[int] = []

    def upsert(self, name, points, wait, timeout):
        self.timeouts.append(timeout)
        if self.errors:
            raise self.errors.pop(0)


def _upsert(client: Flaky) -> None:
    ServerStore(client, "flaky", timeout=30).upsert(
        "c", ["a"], np.ones((1, 2)), payloads=[ImagePayload("x", "a", "d", "e", 0)]
    )


def test_transient_write_failures_are_retried_with_a_longer_timeout(monkeypatch):
    monkeypatch.setattr(server_module.time, "sleep", lambda seconds: None)
    lost = ResponseHandlingException(httpx.ConnectError("connection reset"))
    busy = UnexpectedResponse(503, "Service Unavailable", b"", httpx.Headers())
    client = Flaky(lost, busy)
    _upsert(client)
    assert client.timeouts == [30, 60, 120]


def test_a_write_that_keeps_failing_stops_with_one_line(monkeypatch):
    monkeypatch.setattr(server_module.time, "sleep", lambda seconds: None)
    timeout = ResponseHandlingException(httpx.ReadTimeout("timed out"))
    with pytest.raises(StoreError, match=r"^writing to 'c' at flaky failed 3 times .*resume$"):
        _upsert(Flaky(timeout, timeout, timeout))


def test_a_refused_write_is_not_retried():
    client = Flaky(UnexpectedResponse(400, "Bad Request", b"wrong vector size", httpx.Headers()))
    with pytest.raises(UnexpectedResponse):
        _upsert(client)
    assert client.timeouts == [30]


def test_a_refused_api_key_is_one_line_without_the_key(monkeypatch):
    keys: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("api-key"))
        return httpx.Response(401, json={"status": {"error": "Invalid api-key"}, "time": 0.0})

    monkeypatch.setattr(
        server_module,
        "QdrantClient",
        functools.partial(QdrantClient, transport=httpx.MockTransport(server), check_compatibility=False),
    )
    with pytest.raises(StoreError) as refused:
        open_store("http://qdrant:6333", api_key=FAKE_KEY)
    assert keys == [FAKE_KEY]
    message = str(refused.value)
    assert "refused the API key (HTTP 401)" in message and "\n" not in message and FAKE_KEY not in message


def test_a_wrong_url_fails_with_one_clear_line_and_never_shows_the_key(data_root):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QDRANT_API_KEY": FAKE_KEY}
    env.pop("QDRANT_URL", None)
    run = subprocess.run(
        [
            sys.executable,
            "cli.py",
            "--qdrant-url",
            "http://127.0.0.1:9",
            "ingest",
            "--data-root",
            str(data_root),
            "-e",
            "colorhist",
            "--workers",
            "0",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: cannot reach Qdrant at http://127.0.0.1:9 ([Errno 111] Connection refused); is the server "
        "running and the URL right?"
    ]
    assert FAKE_KEY not in run.stdout + run.stderr


def test_ann_recall_is_exact_by_construction_in_local_mode(tmp_path):
    store = open_store(path=tmp_path / "local", engine="local")
    _load(store, adds=1)
    measured = ann_recall(store, "bulk", k=5)
    assert (measured.recall, measured.exact_only, measured.queries, measured.points) == (1.0, True, 0, 100)


def test_ann_recall_is_measured_on_edge_and_exact_below_the_index_threshold(store):
    _load(store, adds=1)
    measured = ann_recall(store, "bulk", k=5)
    assert (measured.recall, measured.exact_only, measured.queries, measured.indexed) == (1.0, False, 100, 0)


class HalfRecall(Recorder):
    """Approximate queries find only the better half of the exact top k."""

    def query_batch_points(self, name, requests):
        responses = self.client.query_batch_points(name, requests)
        if requests[0].params.exact:
            return responses
        return [r.model_copy(update={"points": r.points[: len(r.points) // 2]}) for r in responses]


def test_ann_recall_compares_approximate_with_exact_top_k_on_sampled_points():
    half = ServerStore(HalfRecall(), "half")
    _load(half, adds=1)
    measured = ann_recall(half, "bulk", k=10, sample=40)
    assert (measured.recall, measured.exact_only, measured.queries, measured.points) == (0.5, False, 40, 100)


def test_eval_ann_reports_recall_per_collection(tmp_path):
    import cli

    half = ServerStore(HalfRecall(), "half")
    _load(half, adds=1)
    result = CliRunner().invoke(
        cli.cli,
        [
            "--qdrant-url",
            "http://qdrant:6333",
            "--reports",
            str(tmp_path),
            "eval",
            "-c",
            "bulk",
            "--ann",
            "--format",
            "json",
        ],
        obj=Context(handed=half),
    )
    assert result.exit_code == 0, result.output
    measured = json.loads(result.output)
    assert (measured["collection"], measured["k"], measured["recall"], measured["queries"]) == ("bulk", 10, 0.5, 100)


def test_a_failed_load_reports_its_own_error_and_still_restores_the_graph():
    store, recorder = server_standin()
    store.ensure_collection("bulk", 4)
    with pytest.raises(ValueError, match="encoder broke"), store.bulk_load("bulk"):
        raise ValueError("encoder broke")
    assert [kwargs["hnsw_config"].m for _, kwargs in recorder.named("update_collection")] == [0, 16]
