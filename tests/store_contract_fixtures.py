"""The engines the store contract runs on, and the toy collection its tests fill: Qdrant Edge, qdrant-client's
local mode, the server engine over qdrant-client's in-memory client (the server code path, without Docker),
and the web app's serialized wrapper (`store/serialized.py`) of local mode."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qdrant_client import QdrantClient

from store import ImagePayload, VectorStore, open_store, point_id
from store.client.server import ServerStore
from store.serialized import SerializedStore

ENGINES = ("edge", "local", "server", "serialized")


DIM = 8


N = 60


def open_engine(engine: str, tmp_path) -> VectorStore:
    """A new store of `engine` under `tmp_path` (the server engine over an in-memory client)."""
    if engine == "server":
        return ServerStore(QdrantClient(":memory:"), "memory")
    if engine == "serialized":  # the web app's wrapper of an engine made for one thread
        return SerializedStore(open_store(path=tmp_path / engine, engine="local"))
    return open_store(path=tmp_path / engine, engine=engine)


@pytest.fixture(params=ENGINES, name="engine_store")
def engine_store_fixture(request, tmp_path) -> Iterator[VectorStore]:
    """`engine_store`: an open store of each engine in turn (a test file imports this to use it)."""
    opened = open_engine(request.param, tmp_path)
    yield opened
    opened.close()


def toy_points(n: int = N, seed: int = 0, ties: bool = True):
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


def filled(store: VectorStore, name: str = "toy_enc", **kwargs) -> tuple[list[str], np.ndarray, list]:
    """`name` made and loaded with `toy_points(**kwargs)`, written out of dataset order."""
    ids, vectors, payloads = toy_points(**kwargs)
    assert store.ensure_collection(name, DIM) is True
    order = np.random.default_rng(1).permutation(len(ids))  # written out of dataset order
    with store.bulk_load(name) as loader:
        loader.add([ids[i] for i in order], vectors[order], [payloads[i] for i in order])
    return ids, vectors, payloads


def clear_winners(vectors: np.ndarray, query: np.ndarray, k: int, leave_out: int | None = None) -> set[int]:
    """The top k where the k-th and (k+1)-th scores differ by more than float32 noise (else fewer)."""
    scores = vectors @ query
    if leave_out is not None:
        scores[leave_out] = -np.inf
    order = np.argsort(-scores, kind="stable")
    while k > 0 and scores[order[k - 1]] - scores[order[k]] < 1e-5:
        k -= 1
    return {int(i) for i in order[:k]}
