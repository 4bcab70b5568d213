"""Issue 33's unclear one-liners, each made one line naming the thing and what to do: a removed
vector_storage, a sidecar of the wrong types, a garbage store.json, an incomplete collection marked in
the listings, a leftover staging collection never listed, a device as --vectors, an empty --text."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from errors import StoreError
from store import ImagePayload, Provenance, open_store, point_id
from tests.conftest import run_cli
from tests.hostile import one_line_error


def _toy(folder: Path, name: str = "toy_enc", *, complete: bool = True) -> None:
    """An Edge store in `folder` with collection `name`: 6 points of 2 labels, 4-d."""
    store = open_store(path=folder)
    try:
        provenance = Provenance("toy", str(folder), "enc", "x", {"kind": "none"}, None, 4, complete=complete)
        store.ensure_collection(name, 4, provenance=provenance)
        vectors = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
        payloads = [ImagePayload(str(i % 2), f"{i}.jpg", "toy", "enc", i) for i in range(6)]
        store.upsert(name, [point_id("toy", f"{i}.jpg") for i in range(6)], vectors, payloads=payloads)
    finally:
        store.close()


def test_a_removed_vector_storage_says_the_vectors_are_missing_and_what_to_do(tmp_path):
    _toy(tmp_path / "q")
    for storage in (tmp_path / "q" / "collections" / "toy_enc" / "shard").glob("segments/*/vector_storage"):
        shutil.rmtree(storage)
    asked = run_cli("--storage", "q", "search", "-c", "toy_enc", "--id", point_id("toy", "1.jpg"), cwd=tmp_path)
    line = one_line_error(asked)
    assert "collection 'toy_enc' has points without their vectors" in line and "ingest it again" in line


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("dim", "4x", "'dim' is '4x', not a whole number; move the"),
        ("provenance.stale", "x", "provenance 'stale' is 'x', which does not parse; move the"),
        ("provenance.versions", 3, "provenance 'versions' is 3, which does not parse; move the"),
    ],
)
def test_a_sidecar_of_the_wrong_types_names_the_file_and_the_field(tmp_path, field, value, expected):
    _toy(tmp_path / "q")
    sidecar = tmp_path / "q" / "collections" / "toy_enc" / "collection.json"
    record = json.loads(sidecar.read_text())
    if field.startswith("provenance."):
        record["metadata"]["provenance"][field.split(".")[1]] = value
    else:
        record[field] = value
    sidecar.write_text(json.dumps(record))
    store = open_store(path=tmp_path / "q")
    try:
        with pytest.raises(StoreError, match=f"^{re.escape(f'{sidecar}: {expected}')}"):
            store.info("toy_enc")
    finally:
        store.close()


def test_a_garbage_store_json_says_how_to_mark_the_folder_again_and_that_advice_works(tmp_path):
    _toy(tmp_path / "q")
    (tmp_path / "q" / "store.json").write_text("garbage")
    line = one_line_error(run_cli("--storage", "q", "collections", cwd=tmp_path))
    assert "q/store.json cannot be read" in line and "collection's folder" not in line
    assert 'write {"format": "qdrant-edge"} into it' in line
    (tmp_path / "q" / "store.json").write_text('{"format": "qdrant-edge"}')  # as the line says
    assert "toy_enc" in run_cli("--storage", "q", "collections", cwd=tmp_path).stdout


def test_an_incomplete_collection_is_marked_in_collections_and_collections_show(tmp_path):
    _toy(tmp_path / "q", complete=False)
    listed = run_cli("--storage", "q", "collections", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "6 incomplete" in listed.stdout and "'toy_enc' was not completely written" in listed.stderr
    shown = run_cli("--storage", "q", "collections", "show", "toy_enc", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "'toy_enc' was not completely written" in shown.stdout


def test_a_staging_collection_a_killed_rebuild_left_is_never_listed_and_the_next_rebuild_drops_it(tmp_path):
    _toy(tmp_path / "q")
    _toy(tmp_path / "q", "toy_enc.rebuild", complete=False)  # what a rebuild killed before its swap leaves
    listed = run_cli("--storage", "q", "collections", cwd=tmp_path)
    assert "toy_enc" in listed.stdout and ".rebuild" not in listed.stdout + listed.stderr
    evaluated = run_cli("--storage", "q", "eval", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert ".rebuild" not in evaluated.stdout + evaluated.stderr
    store = open_store(path=tmp_path / "q")
    try:
        assert store.collection_names() == ["toy_enc"] and store.exists("toy_enc.rebuild")
        with store.rebuilding("toy_enc", 4) as rebuild:
            rebuild.abandon()
        assert not store.exists("toy_enc.rebuild")
    finally:
        store.close()


def test_import_refuses_a_device_as_vectors_instead_of_reading_it_forever(tmp_path):
    (tmp_path / "list.txt").write_text("a.jpg\tx\n")
    imported = run_cli(
        "--storage", "q", "import", "--vectors", "/dev/zero", "--list", "list.txt", "-d", "d", "-e", "e", cwd=tmp_path
    )
    assert "--vectors '/dev/zero' is not a regular file" in one_line_error(imported)


def test_an_empty_text_query_is_refused_as_the_web_app_refuses_it(tmp_path):
    _toy(tmp_path / "q")
    asked = run_cli("--storage", "q", "search", "-c", "toy_enc", "--text", "  ", cwd=tmp_path)
    assert "the text to search for is empty" in one_line_error(asked)
