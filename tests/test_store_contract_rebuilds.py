"""The store contract's whole-collection moves on every engine (tests/store_contract_fixtures.py): an export,
drop and replace, a rebuild that ends, fails or is abandoned, and a reindex with new settings."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from errors import StoreError
from store import IndexSettings, Provenance, WeightsIdentity
from store.client.server import ServerStore
from store.naming import staging_name
from store.transfer import export_collection
from store.types import Quantization
from tests.store_contract_fixtures import (
    DIM,
    N,
    clear_winners,
    engine_store_fixture,  # noqa: F401 (pytest finds `engine_store` here)
    filled,
    toy_points,
)


def test_an_export_writes_what_numpy_save_writes_in_dataset_order(engine_store, tmp_path):
    ids, vectors, payloads = filled(engine_store)
    report = export_collection(engine_store, "toy_enc", vectors_file=tmp_path / "v.npy", list_file=tmp_path / "l.txt")
    stored = engine_store.points("toy_enc", with_vectors=True).vectors
    np.save(tmp_path / "reference.npy", stored)
    assert (tmp_path / "v.npy").read_bytes() == (tmp_path / "reference.npy").read_bytes()
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), vectors, atol=1e-6)
    lines = (tmp_path / "l.txt").read_text().splitlines()
    assert lines == [f"{p.path}\t{','.join(p.label_set)}" for p in payloads] and lines[5] == "5.jpg\tc,b"
    assert (report.points, report.dim) == (N, DIM)


def test_drop_removes_and_replace_swaps_a_staging_collection_in(engine_store):
    filled(engine_store)
    staging = engine_store.fresh_staging("toy_enc")
    ids, _, _ = filled(engine_store, staging, n=12, seed=5)
    engine_store.replace("toy_enc", staging)
    assert engine_store.collection_names() == ["toy_enc"]
    assert engine_store.point_ids("toy_enc") == set(ids)
    engine_store.drop("toy_enc")
    assert engine_store.collection_names() == [] and not engine_store.exists("toy_enc")


def test_a_held_collection_is_replaced_by_its_rebuild_made_with_settings(engine_store):
    filled(engine_store)
    engine_store.hold("toy_enc")  # as ingest holds what it will write before a model loads
    staging = engine_store.fresh_staging("toy_enc")
    settings = IndexSettings(hnsw_m=8, hnsw_ef_construct=50) if engine_store.capabilities.index_settings else None
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 1).to_dict(), None, DIM
    )
    ids, vectors, payloads = toy_points(n=12, seed=5)
    assert engine_store.ensure_collection(staging, DIM, recreate=True, settings=settings, provenance=provenance)
    with engine_store.bulk_load(staging, settings) as loader:
        loader.add(ids, vectors, payloads)
    engine_store.replace("toy_enc", staging, settings)
    assert engine_store.collection_names() == ["toy_enc"]  # the staging collection is not listed apart
    assert engine_store.provenance("toy_enc") == provenance
    if settings is not None and hasattr(engine_store, "settings"):  # an engine that records the layout it made
        assert engine_store.settings("toy_enc") == settings
    stored = engine_store.points("toy_enc", with_vectors=True)
    assert stored.ids == ids and np.allclose(stored.vectors, vectors, atol=1e-6)
    hits = engine_store.query("toy_enc", ids[3], 3, exact=True)
    assert {hit.id for hit in hits} >= {ids[i] for i in clear_winners(vectors, vectors[3], 3, leave_out=3)}


@pytest.mark.parametrize("failure", [KeyboardInterrupt, StoreError, "abandon"])
def test_a_rebuild_that_fails_or_is_abandoned_leaves_the_old_collection_as_it_was(engine_store, failure):
    old_ids, old_vectors, _ = filled(engine_store)
    filled(engine_store, staging_name("toy_enc"), n=3, seed=9)  # what a killed rebuild left
    ids, vectors, payloads = toy_points(n=12, seed=5)
    with contextlib.suppress(KeyboardInterrupt, StoreError):
        with engine_store.rebuilding("toy_enc", DIM) as rebuild:
            assert rebuild.target != "toy_enc" and engine_store.count(rebuild.target) == 0
            leftover = staging_name("toy_enc")  # the killed rebuild's leftover is dropped (or emptied, reused)
            assert rebuild.target == leftover or not engine_store.exists(leftover)
            with engine_store.bulk_load(rebuild.target) as loader:
                loader.add(ids, vectors, payloads)
            assert engine_store.point_ids("toy_enc") == set(old_ids)  # the old one untouched until the swap
            if failure == "abandon":
                rebuild.abandon()
            else:
                raise failure("stopped")
    assert engine_store.collection_names() == ["toy_enc"]
    stored = engine_store.points("toy_enc", with_vectors=True)
    assert stored.ids == old_ids and np.allclose(stored.vectors, old_vectors, atol=1e-6)


def test_a_rebuild_that_ends_replaces_the_collection_with_its_provenance(engine_store):
    filled(engine_store)
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 2).to_dict(), None, DIM
    )
    ids, vectors, payloads = toy_points(n=12, seed=5)
    with engine_store.rebuilding("toy_enc", DIM, provenance=provenance) as rebuild:
        with engine_store.bulk_load(rebuild.target) as loader:
            loader.add(ids, vectors, payloads)
    assert engine_store.collection_names() == ["toy_enc"] and not rebuild.abandoned
    assert engine_store.points("toy_enc").ids == ids and engine_store.provenance("toy_enc") == provenance


def test_reindex_gives_a_collection_new_settings_from_its_own_vectors_or_is_refused(engine_store, monkeypatch):
    ids, vectors, payloads = filled(engine_store)
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 3).to_dict(), None, DIM
    )
    engine_store.set_provenance("toy_enc", provenance)
    settings = IndexSettings(hnsw_m=8, hnsw_ef_construct=50, quantization=Quantization.INT8)
    updates = []  # a server's update of its configuration (qdrant-client's local mode stands in and ignores it)
    if isinstance(engine_store, ServerStore):
        monkeypatch.setattr(engine_store._client, "update_collection", lambda name, **changes: updates.append(changes))
    if not engine_store.capabilities.index_settings:
        with pytest.raises(StoreError, match="store migrate"):
            engine_store.reindex("toy_enc", settings)
    else:
        engine_store.reindex("toy_enc", settings)
    assert engine_store.collection_names() == ["toy_enc"]
    stored = engine_store.points("toy_enc", with_vectors=True)
    assert stored.ids == ids and np.allclose(stored.vectors, vectors, atol=1e-6)
    assert stored.payloads == payloads and engine_store.provenance("toy_enc") == provenance
    if hasattr(engine_store, "settings"):  # an engine that records the layout it made
        assert engine_store.settings("toy_enc") == settings
    if isinstance(engine_store, ServerStore):
        [update] = updates
        assert (update["hnsw_config"].m, update["hnsw_config"].ef_construct) == (8, 50)
        assert update["quantization_config"].scalar.type == "int8"
        with pytest.raises(StoreError, match="with each query"):
            engine_store.reindex("toy_enc", IndexSettings(hnsw_ef=64))
