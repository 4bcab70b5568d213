"""One contract, every engine: Qdrant Edge, qdrant-client's local mode, the server engine over
qdrant-client's in-memory client (the server code path, without Docker), and the web app's
serialized wrapper (`store/serialized.py`) of local mode. Each test runs on all four;
the congruence tests check that the same calls give the same records on every engine, and the
rankings are checked against exact numpy."""

from __future__ import annotations

import contextlib
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from qdrant_client import QdrantClient

from errors import CollectionNotFoundError, StoreError
from store import (
    PAYLOAD_SCHEMA,
    ImagePayload,
    IndexSettings,
    Provenance,
    VectorStore,
    WeightsIdentity,
    open_store,
    point_id,
)
from store.base import SCROLL_PAGE
from store.client.server import ServerStore
from store.example_query import Diversity, ExampleQuery, Strategy
from store.naming import staging_name
from store.serialized import SerializedStore
from store.transfer import export_collection
from store.types import Quantization
from tests.recommend_reference import numpy_mmr, recommend_scores

ENGINES = ("edge", "local", "server", "serialized")
DIM = 8
N = 60


def _open(engine: str, tmp_path) -> VectorStore:
    if engine == "server":
        return ServerStore(QdrantClient(":memory:"), "memory")
    if engine == "serialized":  # the web app's wrapper of an engine made for one thread
        return SerializedStore(open_store(path=tmp_path / engine, engine="local"))
    return open_store(path=tmp_path / engine, engine=engine)


@pytest.fixture(params=ENGINES)
def engine_store(request, tmp_path) -> Iterator[VectorStore]:
    opened = _open(request.param, tmp_path)
    yield opened
    opened.close()


def _points(n: int = N, seed: int = 0, ties: bool = True):
    """n points in 3 classes, unit vectors; with `ties`, points 0 and 1 are the same vector (equal scores)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    if ties:
        vectors[1] = vectors[0]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [point_id("toy", f"{i}.jpg") for i in range(n)]
    payloads = [
        ImagePayload(
            "abc"[i % 3],
            f"{i}.jpg",
            "toy",
            "enc",
            i,
            size=1000 + i,
            mtime_ns=1_700_000_000_123_456_789 + i,
            sha256=f"{i:064x}",
            labels=("c", "b") if i == 5 else None,  # a multi-label point: class c first, b too
        )
        for i in range(n)
    ]
    return ids, vectors, payloads


def _filled(store: VectorStore, name: str = "toy_enc", **kwargs) -> tuple[list[str], np.ndarray, list]:
    ids, vectors, payloads = _points(**kwargs)
    assert store.ensure_collection(name, DIM) is True
    order = np.random.default_rng(1).permutation(len(ids))  # written out of dataset order
    with store.bulk_load(name) as loader:
        loader.add([ids[i] for i in order], vectors[order], [payloads[i] for i in order])
    return ids, vectors, payloads


def _exact(vectors: np.ndarray, query: np.ndarray, k: int, leave_out: int | None = None) -> list[int]:
    scores = vectors @ query
    if leave_out is not None:
        scores[leave_out] = -np.inf
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]


def _clear_winners(vectors: np.ndarray, query: np.ndarray, k: int, leave_out: int | None = None) -> set[int]:
    """The top k where the k-th and (k+1)-th scores differ by more than float32 noise (else fewer)."""
    scores = vectors @ query
    if leave_out is not None:
        scores[leave_out] = -np.inf
    order = np.argsort(-scores, kind="stable")
    while k > 0 and scores[order[k - 1]] - scores[order[k]] < 1e-5:
        k -= 1
    return {int(i) for i in order[:k]}


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
    ids, vectors, payloads = _filled(engine_store)
    read = engine_store.points("toy_enc", with_vectors=True)
    assert read.ids == ids
    assert read.payloads == payloads  # integer mtimes, multi-labels and all, exactly
    np.testing.assert_allclose(read.vectors, vectors, atol=1e-6)
    assert engine_store.count("toy_enc") == N and engine_store.point_ids("toy_enc") == set(ids)


def test_scroll_pages_every_point_once_in_pages_of_bounded_size(engine_store):
    ids, vectors, payloads = _filled(engine_store, n=SCROLL_PAGE + 5)
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


def test_an_export_writes_what_numpy_save_writes_in_dataset_order(engine_store, tmp_path):
    ids, vectors, payloads = _filled(engine_store)
    report = export_collection(engine_store, "toy_enc", vectors_file=tmp_path / "v.npy", list_file=tmp_path / "l.txt")
    stored = engine_store.points("toy_enc", with_vectors=True).vectors
    np.save(tmp_path / "reference.npy", stored)
    assert (tmp_path / "v.npy").read_bytes() == (tmp_path / "reference.npy").read_bytes()
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), vectors, atol=1e-6)
    lines = (tmp_path / "l.txt").read_text().splitlines()
    assert lines == [f"{p.path}\t{','.join(p.label_set)}" for p in payloads] and lines[5] == "5.jpg\tc,b"
    assert (report.points, report.dim) == (N, DIM)


def test_vector_and_stored_point_queries_agree_with_exact_numpy(engine_store):
    ids, vectors, _ = _filled(engine_store)
    for row in (3, 17, 42):
        hits = engine_store.query("toy_enc", vectors[row], 5, exact=True)
        assert {h.id for h in hits} >= {ids[i] for i in _clear_winners(vectors, vectors[row], 5)}
        stored = engine_store.query("toy_enc", ids[row], 5, exact=True)
        assert ids[row] not in {h.id for h in stored}  # a stored point never finds itself
        assert {h.id for h in stored} >= {ids[i] for i in _clear_winners(vectors, vectors[row], 5, leave_out=row)}
        scores = [h.score for h in stored]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, np.sort(vectors @ vectors[row])[::-1][1:6], atol=1e-5)


def test_a_duplicate_is_found_by_its_twin_with_score_one(engine_store):
    ids, _, _ = _filled(engine_store)
    hit = engine_store.query("toy_enc", ids[0], 1, exact=True)[0]
    assert hit.id == ids[1] and hit.score == pytest.approx(1.0, abs=1e-5)


def test_the_label_filter_keeps_the_points_carrying_that_label(engine_store):
    ids, vectors, _ = _filled(engine_store)
    hits = engine_store.query("toy_enc", vectors[0], 50, label="b", exact=True)
    assert all("b" in h.label_set for h in hits)
    assert {h.id for h in hits} == {ids[i] for i in range(N) if i % 3 == 1} | {ids[5]}


def test_query_many_gives_each_query_its_own_ranking(engine_store):
    ids, vectors, _ = _filled(engine_store)
    answers = engine_store.query_many("toy_enc", [ids[4], vectors[9]], 4, exact=True)
    assert ids[4] not in answers[0][0]
    assert set(answers[0][0]) >= {ids[i] for i in _clear_winners(vectors, vectors[4], 4, leave_out=4)}
    assert set(answers[1][0]) >= {ids[i] for i in _clear_winners(vectors, vectors[9], 4)}
    assert answers[1][1].dtype == np.float32 and len(answers[1][1]) == 4


def test_paths_payloads_overwrites_and_deletes(engine_store):
    ids, _, payloads = _filled(engine_store)
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
    ids, vectors, payloads = _filled(engine_store)
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
    ids, vectors, _ = _filled(engine_store)
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
    _filled(engine_store, "staging", n=12, seed=5)
    engine_store.set_provenance("staging", replace(provenance, schema=PAYLOAD_SCHEMA + 1))
    with pytest.raises(StoreError, match=rf"payload schema {PAYLOAD_SCHEMA + 1}, newer"):
        engine_store.replace("toy_enc", "staging")  # a copying replace reads the staging points and refuses
        engine_store.query("toy_enc", vectors[0], 3, exact=True)  # a swap reads nothing: the query refuses


def test_drop_removes_and_replace_swaps_a_staging_collection_in(engine_store):
    _filled(engine_store)
    staging = engine_store.fresh_staging("toy_enc")
    ids, _, _ = _filled(engine_store, staging, n=12, seed=5)
    engine_store.replace("toy_enc", staging)
    assert engine_store.collection_names() == ["toy_enc"]
    assert engine_store.point_ids("toy_enc") == set(ids)
    engine_store.drop("toy_enc")
    assert engine_store.collection_names() == [] and not engine_store.exists("toy_enc")


def test_a_held_collection_is_replaced_by_its_rebuild_made_with_settings(engine_store):
    _filled(engine_store)
    engine_store.hold("toy_enc")  # as ingest holds what it will write before a model loads
    staging = engine_store.fresh_staging("toy_enc")
    settings = IndexSettings(hnsw_m=8, hnsw_ef_construct=50) if engine_store.capabilities.index_settings else None
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 1).to_dict(), None, DIM
    )
    ids, vectors, payloads = _points(n=12, seed=5)
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
    assert {hit.id for hit in hits} >= {ids[i] for i in _clear_winners(vectors, vectors[3], 3, leave_out=3)}


@pytest.mark.parametrize("failure", [KeyboardInterrupt, StoreError, "abandon"])
def test_a_rebuild_that_fails_or_is_abandoned_leaves_the_old_collection_as_it_was(engine_store, failure):
    old_ids, old_vectors, _ = _filled(engine_store)
    _filled(engine_store, staging_name("toy_enc"), n=3, seed=9)  # what a killed rebuild left
    ids, vectors, payloads = _points(n=12, seed=5)
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
    _filled(engine_store)
    provenance = Provenance(
        "toy", "/data/toy", "enc", "model/x", WeightsIdentity("random", None, 2).to_dict(), None, DIM
    )
    ids, vectors, payloads = _points(n=12, seed=5)
    with engine_store.rebuilding("toy_enc", DIM, provenance=provenance) as rebuild:
        with engine_store.bulk_load(rebuild.target) as loader:
            loader.add(ids, vectors, payloads)
    assert engine_store.collection_names() == ["toy_enc"] and not rebuild.abandoned
    assert engine_store.points("toy_enc").ids == ids and engine_store.provenance("toy_enc") == provenance


def test_capabilities_say_what_the_engine_is(engine_store):
    capabilities = engine_store.capabilities
    assert capabilities.exact_only == (not capabilities.index_settings)
    assert isinstance(capabilities.local_vectors, bool) and isinstance(capabilities.threads, bool)


def test_a_fused_query_is_answered_by_rrf_where_the_engine_says_so_and_refused_elsewhere(engine_store):
    ids, first, _ = _filled(engine_store, "toy_one", ties=False)
    _, second, _ = _filled(engine_store, "toy_two", seed=5, ties=False)
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
        ids, vectors, _ = _filled(wrapped)
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


# queries by examples: each engine's own recommend, MMR and score threshold, checked against numpy


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_recommend_query_ranks_as_qdrants_formula_on_the_stored_vectors(engine_store, strategy):
    ids, vectors, _ = _filled(engine_store, ties=False)
    scores = recommend_scores(vectors, [3, 17], [42], strategy)
    scores[[3, 42]] = -np.inf  # the stored examples (17 is given as a vector: it may be a hit)
    expected = [int(i) for i in np.argsort(-scores, kind="stable")[:8]]
    asked = ExampleQuery((ids[3], vectors[17]), (ids[42],), limit=8, strategy=strategy)
    hits = engine_store.query_examples("toy_enc", asked)
    assert [ids.index(h.id) for h in hits] == expected
    np.testing.assert_allclose([h.score for h in hits], scores[expected], atol=1e-4)
    threshold = float(scores[expected[4]] - 1e-4)  # the score threshold keeps the first five
    kept = engine_store.query_examples("toy_enc", replace(asked, min_score=threshold))
    assert [h.id for h in kept] == [ids[i] for i in expected[:5]]


def test_mmr_and_the_score_threshold_of_a_nearest_query_agree_with_numpy(engine_store):
    ids, vectors, _ = _filled(engine_store, ties=False)
    for diversity in (0.3, 0.7):
        asked = ExampleQuery((ids[11],), limit=6, mmr=Diversity(diversity, candidates=20))
        hits = engine_store.query_examples("toy_enc", asked)
        assert [ids.index(h.id) for h in hits] == numpy_mmr(vectors, 11, 1 - diversity, 20, 6)
        np.testing.assert_allclose(
            [h.score for h in hits], vectors[[ids.index(h.id) for h in hits]] @ vectors[11], atol=1e-5
        )
    cosines = vectors @ vectors[11]
    cosines[11] = -np.inf
    hits = engine_store.query_examples("toy_enc", ExampleQuery((ids[11],), limit=N, min_score=0.3))
    assert {h.id for h in hits} == {ids[i] for i in np.flatnonzero(cosines >= 0.3)}
    plain = engine_store.query_examples("toy_enc", ExampleQuery((vectors[11],), limit=3))
    assert [h.id for h in plain] == [h.id for h in engine_store.query("toy_enc", vectors[11], 3, exact=True)]
    with pytest.raises(StoreError, match="no point with id"):
        engine_store.query_examples("toy_enc", ExampleQuery((ids[1],), (str(uuid.uuid4()),)))


# congruence: the same calls, the same records on every engine


def _results(store: VectorStore) -> dict:
    ids, vectors, _ = _filled(store)
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
        opened = _open(engine, tmp_path)
        try:
            results[engine] = _results(opened)
        finally:
            opened.close()
    assert results["edge"] == results["local"] == results["server"] == results["serialized"]


def test_reindex_gives_a_collection_new_settings_from_its_own_vectors_or_is_refused(engine_store, monkeypatch):
    ids, vectors, payloads = _filled(engine_store)
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
