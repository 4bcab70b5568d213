"""One contract, every engine (tests/store_contract_fixtures.py): collections, points, queries, payloads,
provenance, the payload schema, capabilities, fused queries and the serialized wrapper. Each test runs on all
four engines; the congruence test checks that the same calls give the same records on every engine, and the
rankings are checked against exact numpy."""

from __future__ import annotations

import threading
import uuid
import warnings
from dataclasses import replace

import numpy as np
import pytest

from errors import CollectionNotFoundError, StoreError
from store import PAYLOAD_SCHEMA, Provenance, VectorStore, WeightsIdentity, open_store
from store.base import SCROLL_PAGE
from store.serialized import SerializedStore
from tests.store_contract_fixtures import (
    DIM,
    ENGINES,
    N,
    clear_winners,
    engine_store_fixture,  # noqa: F401 (pytest finds `engine_store` here)
    filled,
    open_engine,
)


def test_a_collection_is_created_once_and_a_wrong_size_refused(engine_store):
    assert engine_store.ensure_collection("c", DIM) is True
    assert engine_store.ensure_collection("c", DIM) is False
    with pytest.raises(StoreError, match="holds 8-d .* this encoder gives 4-d"):
        engine_store.ensure_collection("c", 4)
    assert engine_store.collection_names() == ["c"] and engine_store.exists("c")


def test_an_unknown_collection_is_named_with_those_that_exist(engine_store):
    engine_store.ensure_collection("known", DIM)
    with pytest.raises(CollectionNotFoundError, match=r"'nope' does not exist .*collections: known"):
        engine_store.count("nope")


def test_points_come_back_in_dataset_order_with_their_payloads_and_unit_vectors(engine_store):
    ids, vectors, payloads = filled(engine_store)
    read = engine_store.points("toy_enc", with_vectors=True)
    assert read.ids == ids
    assert read.payloads == payloads  # integer mtimes, multi-labels and all, exactly
    np.testing.assert_allclose(read.vectors, vectors, atol=1e-6)
    assert engine_store.count("toy_enc") == N and engine_store.point_ids("toy_enc") == set(ids)


def test_scroll_pages_every_point_once_in_pages_of_bounded_size(engine_store):
    ids, vectors, payloads = filled(engine_store, n=SCROLL_PAGE + 5)
    pages = list(engine_store.scroll("toy_enc", with_vectors=True))
    assert len(pages) >= 2 and all(0 < len(page.ids) <= SCROLL_PAGE for page in pages)
    read = {
        point: (payload, vector)
        for page in pages
        for point, payload, vector in zip(page.ids, page.payloads, page.vectors, strict=True)
    }
    assert sorted(read) == sorted(ids) and sum(len(page.ids) for page in pages) == len(ids)
    for row in (0, 5, SCROLL_PAGE + 4):
        assert read[ids[row]][0] == payloads[row]
        np.testing.assert_allclose(read[ids[row]][1], vectors[row], atol=1e-6)
    assert all(page.vectors is None for page in engine_store.scroll("toy_enc"))


def test_vector_and_stored_point_queries_agree_with_exact_numpy(engine_store):
    ids, vectors, _ = filled(engine_store)
    for row in (3, 17, 42):
        hits = engine_store.query("toy_enc", vectors[row], 5, exact=True)
        assert {h.id for h in hits} >= {ids[i] for i in clear_winners(vectors, vectors[row], 5)}
        stored = engine_store.query("toy_enc", ids[row], 5, exact=True)
        assert ids[row] not in {h.id for h in stored}  # a stored point never finds itself
        assert {h.id for h in stored} >= {ids[i] for i in clear_winners(vectors, vectors[row], 5, leave_out=row)}
        scores = [h.score for h in stored]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, np.sort(vectors @ vectors[row])[::-1][1:6], atol=1e-5)


def test_a_duplicate_is_found_by_its_twin_with_score_one(engine_store):
    ids, _, _ = filled(engine_store)
    hit = engine_store.query("toy_enc", ids[0], 1, exact=True)[0]
    assert hit.id == ids[1] and hit.score == pytest.approx(1.0, abs=1e-5)


def test_the_label_filter_keeps_the_points_carrying_that_label(engine_store):
    ids, vectors, _ = filled(engine_store)
    hits = engine_store.query("toy_enc", vectors[0], 50, label="b", exact=True)
    assert all("b" in h.label_set for h in hits)
    assert {h.id for h in hits} == {ids[i] for i in range(N) if i % 3 == 1} | {ids[5]}


def test_query_many_gives_each_query_its_own_ranking(engine_store):
    ids, vectors, _ = filled(engine_store)
    answers = engine_store.query_many("toy_enc", [ids[4], vectors[9]], 4, exact=True)
    assert ids[4] not in answers[0][0]
    assert set(answers[0][0]) >= {ids[i] for i in clear_winners(vectors, vectors[4], 4, leave_out=4)}
    assert set(answers[1][0]) >= {ids[i] for i in clear_winners(vectors, vectors[9], 4)}
    assert answers[1][1].dtype == np.float32 and len(answers[1][1]) == 4


def test_paths_payloads_overwrites_and_deletes(engine_store):
    ids, _, payloads = filled(engine_store)
    assert engine_store.find_by_path("toy_enc", "7.jpg") == ids[7]
    assert engine_store.find_by_path("toy_enc", "missing.jpg") is None
    assert engine_store.payload("toy_enc", ids[7]) == payloads[7]
    assert engine_store.payload("toy_enc", str(uuid.uuid4())) is None
    engine_store.overwrite_payloads("toy_enc", {ids[7]: replace(payloads[7], label="z")})
    assert engine_store.payload("toy_enc", ids[7]).label == "z"
    engine_store.delete("toy_enc", ids[:10])
    assert engine_store.count("toy_enc") == N - 10 and ids[0] not in engine_store.point_ids("toy_enc")


def test_provenance_is_kept_and_read_back(engine_store):
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 0).to_dict(), None, DIM
    )
    engine_store.ensure_collection("toy_enc", DIM, provenance=provenance)
    assert engine_store.provenance("toy_enc") == provenance
    engine_store.set_provenance("toy_enc", provenance.touched(stale=3))
    assert engine_store.provenance("toy_enc").stale == 3
    info = engine_store.info("toy_enc")
    assert (info.points, info.dim, info.distance, info.dataset, info.encoder) == (0, DIM, "Cosine", "toy", "enc")


def test_a_collection_of_a_newer_payload_schema_is_refused_and_older_ones_read(engine_store):
    ids, vectors, payloads = filled(engine_store)
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 0).to_dict(), None, DIM
    )
    engine_store.set_provenance("toy_enc", replace(provenance, schema=PAYLOAD_SCHEMA - 1))
    assert engine_store.points("toy_enc").payloads == payloads  # an older schema reads
    engine_store.set_provenance("toy_enc", replace(provenance, schema=PAYLOAD_SCHEMA + 1))
    refused = rf"collection 'toy_enc' was written with payload schema {PAYLOAD_SCHEMA + 1}, newer .* upgrade"
    reads = (
        lambda: engine_store.points("toy_enc"),
        lambda: list(engine_store.scroll("toy_enc", with_vectors=True)),
        lambda: engine_store.query("toy_enc", vectors[0], 3, exact=True),
        lambda: engine_store.query_many("toy_enc", [ids[0]], 3, exact=True),
        lambda: engine_store.payload("toy_enc", ids[0]),
        lambda: engine_store.find_by_path("toy_enc", "0.jpg"),
    )
    for read in reads:
        with pytest.raises(StoreError, match=refused):
            read()
    assert engine_store.info("toy_enc").points == N  # still listed, and can be dropped
    engine_store.drop("toy_enc")


def test_the_payload_schema_is_read_once_per_collection_and_again_after_a_replace(engine_store, monkeypatch):
    ids, vectors, _ = filled(engine_store)
    engine = getattr(engine_store, "_store", engine_store)  # the serialized wrapper's engine does the reading
    reads = []
    read_metadata = engine.metadata
    monkeypatch.setattr(engine, "metadata", lambda name: reads.append(name) or read_metadata(name))
    for _ in range(3):
        engine_store.query("toy_enc", vectors[0], 3, exact=True)
        engine_store.query_many("toy_enc", [ids[0]], 3, exact=True)
        engine_store.payload("toy_enc", ids[0])
    assert reads == ["toy_enc"]
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 0).to_dict(), None, DIM
    )
    filled(engine_store, "staging", n=12, seed=5)
    engine_store.set_provenance("staging", replace(provenance, schema=PAYLOAD_SCHEMA + 1))
    with pytest.raises(StoreError, match=rf"payload schema {PAYLOAD_SCHEMA + 1}, newer"):
        engine_store.replace("toy_enc", "staging")  # a copying replace reads the staging points and refuses
        engine_store.query("toy_enc", vectors[0], 3, exact=True)  # a swap reads nothing: the query refuses


def test_capabilities_say_what_the_engine_is(engine_store):
    capabilities = engine_store.capabilities
    assert capabilities.exact_only == (not capabilities.index_settings)
    assert isinstance(capabilities.local_vectors, bool) and isinstance(capabilities.threads, bool)


def test_a_fused_query_is_answered_by_rrf_where_the_engine_says_so_and_refused_elsewhere(engine_store):
    ids, first, _ = filled(engine_store, "toy_one", ties=False)
    _, second, _ = filled(engine_store, "toy_two", seed=5, ties=False)
    q, k, limit = 7, 60, 10
    if not engine_store.capabilities.fused_query:
        with pytest.raises(StoreError, match="no fusion query"):
            engine_store.fused_query(["toy_one", "toy_two"], ids[q], limit, rank_constant=k, depth=N - 1)
        return
    with warnings.catch_warnings():
        if engine_store.capabilities.exact_only:  # local mode warns where a query passes parameters it ignores
            warnings.simplefilter("error")  # (the server engine here runs on an in-memory client, so it may)
        hits = engine_store.fused_query(["toy_one", "toy_two"], ids[q], limit, rank_constant=k, depth=N - 1)
    fused = np.zeros(N)
    for vectors in (first, second):  # numpy: each member's 1-based rank of the other points, 1 / (k + rank)
        cosine = vectors @ vectors[q]
        cosine[q] = -np.inf
        ranks = np.empty(N)
        ranks[np.argsort(-cosine, kind="stable")] = np.arange(1, N + 1)
        fused += 1 / (k + ranks)
    fused[q] = -np.inf
    assert ids[q] not in [hit.id for hit in hits]
    np.testing.assert_allclose([hit.score for hit in hits], np.sort(fused)[::-1][:limit], rtol=1e-6)
    for hit in hits:
        assert hit.score == pytest.approx(fused[ids.index(hit.id)], rel=1e-6)


def test_the_serialized_store_calls_its_engine_under_its_lock_and_reports_its_capabilities(tmp_path):
    engine = open_store(path=tmp_path / "local", engine="local")
    wrapped = SerializedStore(engine)
    try:
        ids, vectors, _ = filled(wrapped)
        assert wrapped.capabilities == engine.capabilities and wrapped.location == engine.location
        free = []

        def other_thread_can_take_the_lock() -> None:
            taken = wrapped._lock.acquire(blocking=False)
            free.append(taken)
            if taken:
                wrapped._lock.release()

        def watched(call):
            def run(*args, **kwargs):
                thread = threading.Thread(target=other_thread_can_take_the_lock)
                thread.start()
                thread.join()
                return call(*args, **kwargs)

            return run

        for method in ("count", "query", "scroll", "info"):
            setattr(engine, method, watched(getattr(engine, method)))
        assert wrapped.count("toy_enc") == N
        assert wrapped.query("toy_enc", vectors[0], 3, exact=True)[0].id in ids[:2]
        assert sum(len(page.ids) for page in wrapped.scroll("toy_enc")) == N
        assert free == [False, False, False]
        other_thread_can_take_the_lock()
        assert free[-1] is True  # and free between calls
    finally:
        wrapped.close()


# congruence: the same calls, the same records on every engine


def _results(store: VectorStore) -> dict:
    ids, vectors, _ = filled(store)
    return {
        "points": store.points("toy_enc", with_vectors=False),
        "info": replace(store.info("toy_enc"), location=""),
        "by_id": [(h.id, h.index, h.label, h.path) for h in store.query("toy_enc", ids[11], 6, exact=True)],
        "by_label": [h.id for h in store.query("toy_enc", vectors[2], 5, label="c", exact=True)],
        "path": store.find_by_path("toy_enc", "30.jpg"),
    }


def test_every_engine_gives_the_same_records(tmp_path):
    results = {}
    for engine in ENGINES:
        opened = open_engine(engine, tmp_path)
        try:
            results[engine] = _results(opened)
        finally:
            opened.close()
    assert results["edge"] == results["local"] == results["server"] == results["serialized"]
