"""A hostile user's third round (issue 23), rebuilds and imports through the CLI: a failed --recreate keeps
the old collection, a killed import is flagged and resumed, vectors that cannot be stored are refused
before anything is touched, and a list line with extra columns is named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CLI_ENV, run_cli, write_list_dataset
from tests.hostile import ingest, one_line_error, skipped, stored_paths

LABELS = [label for label in ("cat", "dog", "owl") for _ in range(5)]


def write_vectors(folder: Path, vectors: np.ndarray, labels: list[str] = LABELS) -> tuple[Path, Path]:
    """A list of images (absent from this machine) and a .npy file, row i for line i."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / "list_of_images.txt"
    listing.write_text("".join(f"{label}/{i:05d}.jpg\t{label}\n" for i, label in enumerate(labels)))
    np.save(folder / "vectors.npy", vectors)
    return folder / "vectors.npy", listing


def import_cli(cwd: Path, vectors: Path, listing: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(
        "--storage", "q", "import", "--vectors", str(vectors), "--list", str(listing), "-d", "pets", "-e", "ext",
        *extra, cwd=cwd,
    )  # fmt: skip


def stored_vectors(cwd: Path, collection: str) -> dict[str, list[float]]:
    """path -> stored vector, read through the store as a new opener (the command before closed it)."""
    from store import open_store

    store = open_store(path=cwd / "q")
    try:
        points = store.points(collection, with_vectors=True)
        return {p: v.tolist() for p, v in zip(points.paths, points.vectors, strict=True)}
    finally:
        store.close()


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# 1. a failed --recreate keeps the old collection


def test_a_recreate_with_the_images_gone_keeps_the_old_collection(tmp_path):
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    ingest(tmp_path)
    before = stored_vectors(tmp_path, "shapes_colorhist")
    shutil.rmtree(tmp_path / "data" / "shapes" / "images")  # the drive is not mounted
    (tmp_path / "data" / "shapes" / "images").mkdir()

    failed = run_cli(
        "--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0", "--recreate",
        cwd=tmp_path,
    )  # fmt: skip

    assert failed.returncode == 2 and "could be stored" in failed.stderr
    assert "kept as it was" in failed.stderr
    assert stored_vectors(tmp_path, "shapes_colorhist") == before
    listed = run_cli("--storage", "q", "collections", "--format", "json", cwd=tmp_path)
    assert [info["name"] for info in json.loads(listed.stdout)] == ["shapes_colorhist"]  # no staging left
    evaluated = run_cli("--storage", "q", "--reports", "reports", "eval", "-c", "shapes_colorhist", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr


def test_a_recreate_that_succeeds_replaces_the_collection(tmp_path):
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    ingest(tmp_path)
    (tmp_path / "data" / "shapes" / "list_of_images.txt").write_text("red/00.jpg\tred\nblue/01.jpg\tblue\n")
    ingest(tmp_path, "--recreate")
    assert sorted(stored_paths(tmp_path, "shapes_colorhist")) == ["blue/01.jpg", "red/00.jpg"]
    listed = run_cli("--storage", "q", "collections", "--format", "json", cwd=tmp_path)
    assert [info["name"] for info in json.loads(listed.stdout)] == ["shapes_colorhist"]


def test_an_import_recreate_of_vectors_that_cannot_be_stored_keeps_the_old_collection(tmp_path):
    rng = np.random.default_rng(0)
    good = rng.normal(size=(15, 8))
    vectors, listing = write_vectors(tmp_path / "good", good)
    assert import_cli(tmp_path, vectors, listing).returncode == 0
    before = stored_vectors(tmp_path, "pets_ext")

    wide, wide_list = write_vectors(tmp_path / "wide", rng.normal(size=(15, 70_000)).astype(np.float32))
    assert "70000-d vectors" in one_line_error(import_cli(tmp_path, wide, wide_list, "--recreate"))
    huge = good.copy()
    huge[4] = 1e300  # float64 that overflows float32
    big, big_list = write_vectors(tmp_path / "huge", huge)
    assert "row 4 (0-based)" in one_line_error(import_cli(tmp_path, big, big_list, "--recreate"))

    assert stored_vectors(tmp_path, "pets_ext") == before


# 2. a killed import is flagged, refused by eval and search, and a rerun completes it

KILL_AFTER_ONE_WRITE = """
import os, signal, sys
sys.argv = ["cli.py", *sys.argv[1:]]
import store.edge.engine
from store.edge import EdgeStore
store.edge.engine.SCROLL_PAGE = 2  # upserts of 2 points, so the kill comes after a first write
original, calls = EdgeStore.upsert, []
def upsert(self, *args, **kwargs):
    if calls:
        os.kill(os.getpid(), signal.SIGKILL)  # killed mid-import, nothing cleaned up
    calls.append(1)
    original(self, *args, **kwargs)
EdgeStore.upsert = upsert
import cli
cli.main()
"""


def test_a_killed_import_is_flagged_and_a_rerun_completes_it(tmp_path):
    labels = [label for label in ("cat", "dog", "owl") for _ in range(400)]
    rng = np.random.default_rng(1)
    vectors, listing = write_vectors(tmp_path / "big", rng.normal(size=(len(labels), 8)), labels)
    args = ["--storage", "q", "import", "--vectors", str(vectors), "--list", str(listing), "-d", "pets", "-e", "ext"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_ONE_WRITE, *args], cwd=tmp_path, capture_output=True, text=True, env=CLI_ENV
    )
    assert killed.returncode == -9
    shown = run_cli("--storage", "q", "collections", "show", "pets_ext", "--format", "json", cwd=tmp_path)
    assert 0 < json.loads(shown.stdout)["points"] < len(labels)

    refused = one_line_error(run_cli("--storage", "q", "--reports", "r", "eval", "-c", "pets_ext", cwd=tmp_path))
    assert "not completely written" in refused and "rerun" in refused and "import" in refused
    searched = run_cli("--storage", "q", "search", "-c", "pets_ext", "--path", "cat/00000.jpg", cwd=tmp_path)
    assert "not completely written" in one_line_error(searched)

    rerun = import_cli(tmp_path, vectors, listing)
    assert rerun.returncode == 0, rerun.stderr
    assert "written to complete it" in rerun.stdout
    stored = stored_vectors(tmp_path, "pets_ext")
    expected = unit(np.load(vectors))
    assert len(stored) == len(labels)
    for i in (0, 600, 1199):
        assert np.allclose(stored[f"{labels[i]}/{i:05d}.jpg"], expected[i], atol=1e-6)
    assert run_cli("--storage", "q", "--reports", "r", "eval", "-c", "pets_ext", cwd=tmp_path).returncode == 0
    again = import_cli(tmp_path, vectors, listing)  # a complete collection is not silently rewritten
    assert "exists; import with --recreate" in one_line_error(again)


def test_a_killed_ingest_is_flagged_until_a_rerun_completes_it(tmp_path):
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    args = ["--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0", "--batch-size", "2"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_ONE_WRITE, *args], cwd=tmp_path, capture_output=True, text=True, env=CLI_ENV
    )
    assert killed.returncode == -9
    refused = one_line_error(
        run_cli("--storage", "q", "--reports", "r", "eval", "-c", "shapes_colorhist", cwd=tmp_path)
    )
    assert "not completely written" in refused and "ingest" in refused
    ingest(tmp_path)
    assert len(stored_paths(tmp_path, "shapes_colorhist")) == 6
    assert run_cli("--storage", "q", "--reports", "r", "eval", "-c", "shapes_colorhist", cwd=tmp_path).returncode == 0


# 9. rows that would become zero vectors, and headers that claim huge shapes


def test_float32_rows_of_large_values_are_normalised_not_zeroed(tmp_path):
    rows = np.random.default_rng(2).normal(size=(15, 8)).astype(np.float32)
    rows[3] = 1e20  # its norm overflows float32
    rows[5] = np.float32(3e-39)  # its squares underflow float32
    vectors, listing = write_vectors(tmp_path / "set", rows)
    done = import_cli(tmp_path, vectors, listing)
    assert done.returncode == 0, done.stderr
    stored = stored_vectors(tmp_path, "pets_ext")
    assert np.allclose(stored["cat/00003.jpg"], np.full(8, 8**-0.5), atol=1e-6)
    assert np.allclose(stored["dog/00005.jpg"], np.full(8, 8**-0.5), atol=1e-6)


def test_rows_that_are_zero_in_float32_are_refused(tmp_path):
    rows = np.random.default_rng(3).normal(size=(15, 8))
    rows[6] = 1e-50  # not zero in float64, all zeros in float32
    vectors, listing = write_vectors(tmp_path / "set", rows)
    assert "row 6 (0-based) is all zeros" in one_line_error(import_cli(tmp_path, vectors, listing))


def test_a_header_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    vectors, listing = write_vectors(tmp_path / "set", np.ones((15, 8)))
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9, 500_000)}
    with vectors.open("wb") as out:
        np.lib.format.write_array_header_1_0(out, header)
        out.write(np.ones((15, 8)).tobytes())
    error = one_line_error(import_cli(tmp_path, vectors, listing))
    assert "claims" in error and "MemoryError" not in error
    npz = tmp_path / "set" / "vectors.npz"
    with zipfile.ZipFile(npz, "w") as zipped:
        zipped.writestr("embeddings.npy", vectors.read_bytes())
    error = one_line_error(import_cli(tmp_path, npz, listing))
    assert "claims" in error and "MemoryError" not in error


# 11. extra tab-separated columns


def test_a_list_line_with_extra_tab_columns_is_named_not_read_as_a_label(tmp_path):
    listed = write_list_dataset(tmp_path / "data" / "listed", per_class=2)
    with (listed / "list_of_images.txt").open("a") as lines:
        lines.write("red/00.jpg\tbus\tx\n")
    lines = (listed / "list_of_images.txt").read_text().splitlines()
    (listed / "list_of_images.txt").write_text("\n".join([lines[-1], *lines[1:-1]]) + "\n")
    ingest(tmp_path)
    assert "red/00.jpg" not in stored_paths(tmp_path, "listed_colorhist")
    reason = skipped(tmp_path, "listed_colorhist")["list_of_images.txt:1"]
    assert "more than two tab-separated columns" in reason
    shown = run_cli("--storage", "q", "collections", "show", "listed_colorhist", "--format", "json", cwd=tmp_path)
    assert "bus\\tx" not in shown.stdout and "bus\tx" not in shown.stdout
    strict = run_cli(
        "--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--strict", "--recreate", cwd=tmp_path
    )  # fmt: skip
    assert "list_of_images.txt:1: more than two tab-separated columns" in one_line_error(strict)


# 3. a killed --recreate on local mode (an alias switched in one operation) keeps one whole collection

KILL_AT_SWAP_MOMENT = """
import os, signal, sys
moment = sys.argv.pop(1)
sys.argv = ["cli.py", *sys.argv[1:]]
from qdrant_client import QdrantClient
def kill_after(method, when):
    original = getattr(QdrantClient, method)
    def call(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if when(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(QdrantClient, method, call)
aliases = lambda change_aliases_operations: [
    op.create_alias.alias_name for op in change_aliases_operations if getattr(op, "create_alias", None)]
upserts = []
def second_upsert_into_the_collection(name, **kwargs):
    upserts.extend([name] if name == "pets_ext" else [])
    return len(upserts) == 2
when = {
    "copying": ("upsert", second_upsert_into_the_collection),  # what 9bdb959 did: recreate, then copy
    "marked": ("update_collection_aliases", lambda **kw: "pets_ext.swap" in aliases(**kw)),
    "old deleted": ("delete_collection", lambda name, **kw: name == "pets_ext"),
    "switched": ("update_collection_aliases", lambda **kw: "pets_ext" in aliases(**kw)),
    "old generation dropped": ("delete_collection", lambda name, **kw: name.startswith("pets_ext.gen-")),
}[moment]
kill_after(*when)
import store.client.qdrant
store.client.qdrant.SCROLL_PAGE = 64  # a copy of several pages, as a large collection's
import cli
cli.main()
"""


@pytest.mark.parametrize(
    ("moment", "first_rebuilt"),
    [("copying", False), ("marked", False), ("old deleted", False), ("switched", False), ("switched", True),
     ("old generation dropped", True)],
)  # fmt: skip
def test_a_local_mode_recreate_killed_at_any_moment_leaves_the_old_or_the_new_collection_whole(
    tmp_path, moment, first_rebuilt
):
    labels = [label for label in ("cat", "dog", "owl") for _ in range(100)]
    rng = np.random.default_rng(3)
    old, old_list = write_vectors(tmp_path / "old", rng.normal(size=(len(labels), 8)), labels)
    new, new_list = write_vectors(tmp_path / "new", rng.normal(size=(len(labels), 8)), labels)
    assert run_cli("--engine", "local", "--storage", "q", "import", "--vectors", str(old), "--list", str(old_list),
                   "-d", "pets", "-e", "ext", cwd=tmp_path).returncode == 0  # fmt: skip
    if first_rebuilt:  # the collection is an alias already: the swap is one alias operation
        assert import_cli(tmp_path, old, old_list, "--recreate").returncode == 0
    before = stored_vectors(tmp_path, "pets_ext")
    args = ["--storage", "q", "import", "--vectors", str(new), "--list", str(new_list), "-d", "pets", "-e", "ext"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_SWAP_MOMENT, moment, *args, "--recreate"],
        cwd=tmp_path, capture_output=True, text=True, env=CLI_ENV,
    )  # fmt: skip
    assert killed.returncode == (0 if moment == "copying" else -9), killed.stderr  # no copy is made any more
    after = stored_vectors(tmp_path, "pets_ext")
    assert same(after, before) or same(after, stored_vectors_of(new, labels))
    if moment != "copying":  # past the marker the new collection is whole and is the one kept
        assert same(after, stored_vectors_of(new, labels))
    listed = run_cli("--storage", "q", "collections", "--format", "json", cwd=tmp_path)
    assert [c["name"] for c in json.loads(listed.stdout)] == ["pets_ext"]
    again = import_cli(tmp_path, old, old_list, "--recreate")  # a later rebuild drops what the kill left
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "q" / "collection").iterdir())) == 1  # one collection's folder, no leftover


def stored_vectors_of(vectors: Path, labels: list[str]) -> dict[str, list[float]]:
    """What an import of `vectors` stores: path -> unit row."""
    rows = unit(np.load(vectors))
    return {f"{label}/{i:05d}.jpg": rows[i].tolist() for i, label in enumerate(labels)}


def same(stored: dict[str, list[float]], expected: dict[str, list[float]]) -> bool:
    """The same paths with the same vectors (to float32 precision)."""
    return stored.keys() == expected.keys() and all(np.allclose(stored[p], expected[p], atol=1e-6) for p in stored)


def test_a_server_swap_cut_after_its_marker_is_finished_when_the_store_is_checked():
    """The server engine (over qdrant-client's in-memory mode, as in the contract suite): killed after the old
    collection was deleted, the marker alias names the whole new generation and the next open switches to it."""
    from qdrant_client import QdrantClient, models

    from store import ImagePayload, point_id
    from store.client.server import ServerStore

    store = ServerStore(QdrantClient(":memory:"), "memory")
    rows = np.eye(3, 4, dtype=np.float32)
    store.ensure_collection("toy", 4)
    store.upsert("toy", [point_id("t", "a")], rows[:1], payloads=[ImagePayload("x", "a", "t", "e", 0)])
    staging = store.fresh_staging("toy")
    store.ensure_collection(staging, 4)
    paths = ["a", "b", "c"]
    ids = [point_id("t", p) for p in paths]
    store.upsert(staging, ids, rows, payloads=[ImagePayload("x", p, "t", "e", i) for i, p in enumerate(paths)])
    client = store._client  # the two steps `replace` takes before the kill
    create = models.CreateAlias(collection_name=staging, alias_name="toy.swap")
    client.update_collection_aliases(change_aliases_operations=[models.CreateAliasOperation(create_alias=create)])
    client.delete_collection("toy")
    assert not store.exists("toy")

    store._check()  # what ServerStore.open does
    assert store.collection_names() == ["toy"] and store.point_ids("toy") == set(ids)
    store.close()
