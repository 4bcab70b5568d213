"""What the exploration pages' tests share: the site they serve (built once a session, tests/conftest.py's
`explore_site`) and the APs its evaluation recorded.

Two collections of one dataset: shapes_colorhist (ingested, evaluated) and shapes_noisy (the same ids, each
vector with seeded noise added, evaluated), so the same image has the same id in both and the rankings differ."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from encoders import build_encoder
from evaluation import EvalOptions, evaluate_collections, read_records
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import open_store
from tests.conftest import write_list_dataset


def add_noisy_copy(store) -> None:
    """shapes_noisy: shapes_colorhist's points, ids and payloads (encoder "noisy") with seeded noise on each vector."""
    stored = store.points("shapes_colorhist", with_vectors=True)
    dim = stored.vectors.shape[1]
    noisy = stored.vectors + 3.0 / np.sqrt(dim) * np.random.default_rng(0).normal(size=stored.vectors.shape)
    noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    payloads = [p.__class__(p.label, p.path, p.dataset, "noisy", p.index) for p in stored.payloads]
    store.ensure_collection("shapes_noisy", dim)
    store.upsert("shapes_noisy", stored.ids, noisy, payloads=payloads)


def build_explore_site(tmp: Path) -> Path:
    """data/Shapes with shapes_colorhist and shapes_noisy (random weights, as its provenance says), both evaluated."""
    write_list_dataset(tmp / "data" / "Shapes")
    store = open_store(path=tmp / "qdrant")
    dataset = read_dataset(discover(tmp / "data")["shapes"], "shapes")
    ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))
    add_noisy_copy(store)
    made = store.provenance("shapes_colorhist")  # shapes_noisy: as if embedded with random weights
    store.set_provenance("shapes_noisy", replace(made, encoder="noisy", weights={"kind": "random-tiny", "seed": 0}))
    evaluate_collections(
        store, ["shapes_colorhist", "shapes_noisy"], tmp / "reports", options=EvalOptions(data_root=tmp / "data")
    )
    store.close()
    return tmp


@pytest.fixture(scope="module", name="built")
def built_fixture(explore_site: Path) -> Path:
    """`built`: the session's site, for tests/conftest.py's `opened` and `client` (a test file imports this)."""
    return explore_site


def recorded_aps(built: Path, name: str) -> dict[str, float | None]:
    """Each query's AP in the collection's full leave-one-out record, through the one reader of records."""
    return next(r for r in read_records(built / "reports") if r.collection == name and r.variant.is_full).ap_per_query
