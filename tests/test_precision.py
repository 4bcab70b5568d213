"""bf16: offered where the hardware has it, recorded by the collection, used by its queries, never mixed.

Autocast to bfloat16 also runs (emulated, slowly) on a CPU without bf16
instructions, so these tests set the CPU's flags they need and run anywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

import encoders.precision as precision_module
from encoders import build_encoder
from errors import QueryError, RetrievalError, StoreError
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from search import Query, Searcher
from store import Provenance

COLLECTION = "shapes_dinov2"


@pytest.fixture
def bf16_cpu(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))


@pytest.fixture
def plain_cpu(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"sse4_2", "avx2", "avx512f"}))


def _ingest(data_root, store, precision: str):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    encoder = build_encoder("dinov2", "cpu", init="random-tiny", precision=precision)
    return ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0))


def test_bf16_is_offered_only_on_a_cpu_with_bfloat16_instructions(monkeypatch):
    from encoders.precision import precision_problem

    assert precision_problem("fp32", "cpu") is None
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    assert precision_problem("bf16", "cpu") is None
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"avx512f", "avx512_vnni"}))
    assert "no bfloat16 instructions" in precision_problem("bf16", "cpu")
    assert "unknown precision" in precision_problem("fp16", "cpu")


def test_bf16_is_refused_in_one_line_where_it_cannot_run(plain_cpu):
    with pytest.raises(RetrievalError, match=r"^--precision bf16: this CPU has no bfloat16 instructions"):
        build_encoder("dinov2", "cpu", init="random-tiny", precision="bf16")


def test_bf16_vectors_are_unit_float32_close_to_fp32_but_not_the_same(bf16_cpu, data_root):
    from media.images import load_rgb

    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    images = [load_rgb(dataset.image_root / item.path) for item in dataset.items]
    fp32 = build_encoder("dinov2", "cpu", init="random-tiny").embed_pil(images)
    bf16 = build_encoder("dinov2", "cpu", init="random-tiny", precision="bf16").embed_pil(images)
    assert bf16.dtype == np.float32 and np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(fp32, bf16)  # autocast took effect
    assert np.min(np.sum(fp32 * bf16, axis=1)) > 0.99


def test_the_colour_histogram_stays_fp32_whatever_is_asked(bf16_cpu):
    assert build_encoder("colorhist", "cpu", precision="bf16").precision == "fp32"


def test_a_collection_records_its_precision_and_refuses_another(bf16_cpu, data_root, store):
    _ingest(data_root, store, "bf16")
    assert store.provenance(COLLECTION).precision == "bf16"
    before = store.points(COLLECTION, with_vectors=True).vectors
    with pytest.raises(StoreError, match="computed in bf16, but this run uses fp32"):
        _ingest(data_root, store, "fp32")
    assert np.array_equal(store.points(COLLECTION, with_vectors=True).vectors, before)


def test_a_collection_from_before_precisions_reads_as_fp32():
    record = {"dataset": "d", "image_root": "/x", "encoder": "e", "model_id": "m", "weights": {}}
    assert Provenance.read({"provenance": {**record, "preprocessing": None, "dim": 4}}).precision == "fp32"


def test_a_query_is_embedded_in_the_collections_precision(bf16_cpu, data_root, store, monkeypatch):
    import search.searcher

    built = []

    def recording(name, device, weights, init, precision="fp32"):
        built.append((name, precision))
        return build_encoder(name, device, weights=weights, init=init, precision=precision)

    monkeypatch.setattr(search.searcher, "build_encoder", recording)
    _ingest(data_root, store, "bf16")
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    path = dataset.image_root / dataset.items[5].path
    result = Searcher(lambda: store, device="cpu", init="random-tiny").search(Query(COLLECTION, image=path, limit=1))
    assert built == [("dinov2", "bf16")]
    assert result.hits[0].path == dataset.items[5].path and result.hits[0].score > 1 - 1e-6


def test_a_bf16_collection_is_not_queried_where_bf16_cannot_run(bf16_cpu, data_root, store, monkeypatch):
    _ingest(data_root, store, "bf16")
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset())
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    query = Query(COLLECTION, image=dataset.image_root / dataset.items[0].path)
    with pytest.raises(QueryError, match=f"^collection '{COLLECTION}' was computed in bf16, and so must its queries"):
        Searcher(lambda: store, device="cpu", init="random-tiny").search(query)
