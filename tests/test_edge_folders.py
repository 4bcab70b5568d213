"""The embedded store's folders: a swap a kill cut short is settled on the next open, no other hidden folder
is touched, and a store folder that cannot be written is one line."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from errors import StoreError
from store import ImagePayload, open_store


def _edge_with_rebuild(folder: Path) -> None:
    """An Edge store holding 'toy' (4 points) and its finished rebuild 'toy.rebuild' (2 points)."""
    store = open_store(path=folder)
    try:
        for name, n in (("toy", 4), ("toy.rebuild", 2)):
            store.ensure_collection(name, 2)
            payloads = [ImagePayload("a", f"{i}.jpg", "toy", "e", i) for i in range(n)]
            store.upsert(name, [str(uuid.uuid4()) for _ in range(n)], np.ones((n, 2)), payloads=payloads)
    finally:
        store.close()


@pytest.mark.parametrize("killed_after", ["set aside", "swapped in"])
def test_an_edge_swap_killed_midway_leaves_one_whole_collection_on_the_next_open(tmp_path, killed_after):
    """The renames of `StoreFolder.swap_in` (and the removal after), stopped after the first or the second as a kill would."""
    _edge_with_rebuild(tmp_path / "q")
    collections = tmp_path / "q" / "collections"
    (collections / "toy").rename(collections / ".aside-toy")
    if killed_after == "swapped in":
        (collections / "toy.rebuild").rename(collections / "toy")
    store = open_store(path=tmp_path / "q", create=False)
    try:
        expected = {"set aside": (["toy"], 4), "swapped in": (["toy"], 2)}[killed_after]  # a staging one unlisted
        assert (store.collection_names(), store.count("toy")) == expected
        assert not (collections / ".aside-toy").exists()
    finally:
        store.close()


def test_an_edge_swap_leaves_no_folder_aside_and_a_set_aside_folder_is_never_listed(tmp_path):
    _edge_with_rebuild(tmp_path / "q")
    store = open_store(path=tmp_path / "q")
    try:
        store.replace("toy", "toy.rebuild")
        assert store.collection_names() == ["toy"] and store.count("toy") == 2
        assert sorted(p.name for p in (tmp_path / "q" / "collections").iterdir()) == ["toy"]
        (tmp_path / "q" / "collections" / "toy").rename(tmp_path / "q" / "collections" / ".aside-toy")
        assert store.collection_names() == []
    finally:
        store.close()


def test_opening_an_edge_store_leaves_other_hidden_folders_alone(tmp_path):
    _edge_with_rebuild(tmp_path / "q")
    collections = tmp_path / "q" / "collections"
    for hidden in (".ipynb_checkpoints", ".toy", ".aside-gone"):  # no sidecar: not a swap's leftover
        (collections / hidden).mkdir()
        (collections / hidden / "notes.txt").write_text("mine")
    open_store(path=tmp_path / "q", create=False).close()
    for hidden in (".ipynb_checkpoints", ".toy", ".aside-gone"):
        assert sorted(p.name for p in (collections / hidden).iterdir()) == ["notes.txt"]


def test_an_edge_store_that_cannot_be_written_says_pass_another_storage(tmp_path):
    (tmp_path / "q" / "store.json").mkdir(parents=True)  # the format file cannot be written (root writes anywhere)
    with pytest.raises(StoreError) as refused:
        open_store(path=tmp_path / "q", engine="edge")
    assert str(refused.value).startswith(f"cannot create the embedded store in '{tmp_path / 'q'}': cannot write")
    assert str(refused.value).endswith("; pass --storage with a folder you can write to")
