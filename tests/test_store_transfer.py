"""Collections moved between engines and files: a previous release's store migrated, a collection
exported and imported back (an export killed midway leaves an earlier one whole), pushed to a server engine, and a rerun of ingest that writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient

import cli
from errors import StoreError
from store import open_store, point_id
from store.client.server import ServerStore
from store.transfer import copy_collection, same_neighbours
from tests.conftest import CLI_ENV


def run(storage: Path, *args: str):
    options = ["--storage", str(storage), "--reports", str(storage.parent / "reports")]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli.cli, [*options, *args], catch_exceptions=False)
    return result


def ingest(storage: Path, data_root: Path, *args: str):
    done = run(storage, "ingest", "--data-root", str(data_root), "--workers", "0", "-e", "colorhist", *args)
    assert done.exit_code == 0, done.output
    return done


def evaluated_map(storage: Path, name: str) -> float:
    done = run(storage, "eval", "-c", name, "--format", "json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)["map"]


def test_a_previous_release_store_is_migrated_and_lists_evaluates_and_searches(data_root, tmp_path):
    storage = tmp_path / "q"
    ingest(storage, data_root, "--engine", "local")
    assert (storage / "meta.json").is_file()
    before = evaluated_map(storage, "shapes_colorhist")
    found_before = json.loads(
        run(storage, "search", "-c", "shapes_colorhist", "--path", "red/00.jpg", "--format", "json").stdout
    )["hits"]

    migrated = run(storage, "store", "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "shapes_colorhist: 12 points copied" in migrated.stdout
    assert (storage / "store.json").is_file() and (tmp_path / "q.local-mode" / "meta.json").is_file()

    listed = json.loads(run(storage, "collections", "--format", "json").stdout)
    assert [(c["name"], c["points"]) for c in listed] == [("shapes_colorhist", 12)]
    assert evaluated_map(storage, "shapes_colorhist") == pytest.approx(before, abs=1e-9)
    found = json.loads(
        run(storage, "search", "-c", "shapes_colorhist", "--path", "red/00.jpg", "--format", "json").stdout
    )["hits"]
    np.testing.assert_allclose([h["score"] for h in found], [h["score"] for h in found_before], atol=1e-5)
    assert found[0]["id"] == found_before[0]["id"]  # the order of near ties may differ between engines
    with pytest.raises(StoreError, match="holds a store of the edge engine already"):
        run(storage, "store", "migrate")


def test_an_exported_collection_imports_back_to_the_same_vectors_and_figures(data_root, tmp_path):
    storage = tmp_path / "q"
    ingest(storage, data_root)
    exported = run(
        storage, "collections", "export", "shapes_colorhist", "--vectors", str(tmp_path / "v.npy"),
        "--list", str(tmp_path / "list.txt"),
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    lines = (tmp_path / "list.txt").read_text().splitlines()
    assert lines[0] == "red/00.jpg\tred" and len(lines) == 12
    assert "python cli.py import" in exported.stdout
    imported = run(
        storage, "import", "--vectors", str(tmp_path / "v.npy"), "--list", str(tmp_path / "list.txt"),
        "--dataset", "copy", "--encoder", "colorhist",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    store = open_store(path=storage)
    try:
        original = store.points("shapes_colorhist", with_vectors=True)
        copy = store.points("copy_colorhist", with_vectors=True)
    finally:
        store.close()
    np.testing.assert_allclose(copy.vectors, original.vectors, atol=1e-7)
    assert copy.labels == original.labels and copy.paths == original.paths
    assert evaluated_map(storage, "copy_colorhist") == pytest.approx(evaluated_map(storage, "shapes_colorhist"))


KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
from store import open_store
from store.transfer import export_collection
store = open_store(path=sys.argv[1])
scroll = type(store).scroll
def killed_at_the_vectors(self, name, with_vectors=False):
    if with_vectors:  # the .npy header is written: the moment a kill left a 0-byte or zeroed file
        os.kill(os.getpid(), signal.SIGKILL)
    yield from scroll(self, name, with_vectors)
type(store).scroll = killed_at_the_vectors
export_collection(store, "shapes_colorhist", vectors_file=Path(sys.argv[2]), list_file=Path(sys.argv[3]))
"""


def test_an_export_killed_while_overwriting_an_earlier_one_leaves_the_earlier_one_whole(data_root, tmp_path):
    storage = tmp_path / "q"
    ingest(storage, data_root)
    out = tmp_path / "out"
    vectors, listing = out / "v.npy", out / "list.txt"
    arguments = ["collections", "export", "shapes_colorhist", "--vectors", str(vectors), "--list", str(listing)]
    assert run(storage, *arguments).exit_code == 0
    before = vectors.read_bytes(), listing.read_bytes()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_EXPORT, str(storage), str(vectors), str(listing)], env=CLI_ENV, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    assert (vectors.read_bytes(), listing.read_bytes()) == before
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".part")) == ["list.txt", "v.npy"]
    assert run(storage, *arguments).exit_code == 0  # the next export writes over the parts the kill left
    assert (vectors.read_bytes(), listing.read_bytes()) == before


def test_a_collection_pushed_to_a_server_engine_keeps_points_provenance_and_rankings(data_root, tmp_path):
    storage = tmp_path / "q"
    ingest(storage, data_root)
    source = open_store(path=storage)
    server = ServerStore(QdrantClient(":memory:"), "memory")
    try:
        assert copy_collection(source, "shapes_colorhist", server) == 12
        assert server.provenance("shapes_colorhist") == source.provenance("shapes_colorhist")
        assert server.points("shapes_colorhist").payloads == source.points("shapes_colorhist").payloads
        assert same_neighbours(source, server, "shapes_colorhist") == 5
    finally:
        source.close()
        server.close()


def test_a_rerun_of_ingest_on_an_edge_store_writes_nothing(data_root, tmp_path):
    storage = tmp_path / "q"
    ingest(storage, data_root)
    shard = storage / "collections" / "shapes_colorhist" / "shard"
    versions = _point_versions(shard)
    rerun = ingest(storage, data_root, "--format", "json")
    report = json.loads(rerun.stdout)[0]
    assert (report["written"], report["relabelled"], report["changed"], report["already_stored"]) == (0, 0, 0, 12)
    assert _point_versions(shard) == versions  # every write, payload or vector, raises a point's version
    touched = data_root / "Shapes" / "images" / "red" / "00.jpg"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 5_000_000_000))
    ingest(storage, data_root)  # the same content at a new time: only that payload is rewritten
    changed = {point for point, version in _point_versions(shard).items() if version != versions[point]}
    assert changed == {point_id("shapes", "red/00.jpg")}


def _point_versions(shard: Path) -> dict[str, int]:
    """Each point's version, read from the shard with qdrant_edge directly."""
    import qdrant_edge as edge

    opened = edge.EdgeShard.load(str(shard))
    try:
        found = opened.query(edge.QueryRequest(limit=1000, query=edge.Query.Nearest([1.0] * 128)))
    finally:
        opened.close()
    return {str(point.id): point.version for point in found}
