"""The exploration's map through FastAPI's test client (tests/explore_fixtures.py's site): the PCA preview at once,
UMAP from the worker and its failures, the layout cache and its content key, `collections map`, the map page."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from encoders import build_encoder
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import open_store
from tests.conftest import write_list_dataset
from tests.explore_fixtures import built_fixture  # noqa: F401 (pytest finds `built` here)
from web.layout import GRID, UMAP_MAX_POINTS, choose_method, umap_available


def grid_of(coordinates: np.ndarray) -> np.ndarray:
    """Coordinates scaled as the layout scales them: both axes from 0, one span, in 0..GRID."""
    low = coordinates.min(axis=0)
    return (coordinates - low) / (coordinates.max(axis=0) - low).max() * GRID


def same_up_to_sign(layout: dict, stored) -> bool:
    """The layout's positions are the vectors' first two principal components (numpy's SVD), either axis flipped."""
    order = [stored.ids.index(i) for i in layout["ids"]]
    centred = stored.vectors.astype(np.float64)[order]
    centred -= centred.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    got = np.column_stack([layout["x"], layout["y"]]).astype(float)
    signs = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    return any(np.allclose(got, grid_of(u[:, :2] * s[:2] * sign), atol=1.5) for sign in signs)


def test_the_map_answers_at_once_with_a_pca_preview_then_umap_from_the_worker(client, opened):
    stored = opened.points("shapes_colorhist", with_vectors=True)
    first = client.get("/c/shapes_colorhist/map.json").json()
    assert first["method"] == "pca" and sorted(first["ids"]) == sorted(stored.ids)
    assert [first["classes"][c] for c in first["c"]] == [stored.labels[stored.ids.index(i)] for i in first["ids"]]
    assert same_up_to_sign(first, stored)
    if not umap_available():
        assert first["note"] == "PCA: umap-learn is not installed" and first["pending"] is False
        return
    assert first["note"].startswith("PCA preview; the UMAP layout is being computed") and first["pending"] is True
    client.app.state.explorer.umap.wait("shapes_colorhist", timeout=600)
    ready = client.get("/c/shapes_colorhist/map.json").json()
    assert ready["method"] == "umap" and ready["pending"] is False and ready["note"].startswith("UMAP layout")
    assert ready["key"] == first["key"] and sorted(ready["ids"]) == sorted(stored.ids)
    xy = np.column_stack([ready["x"], ready["y"]]).astype(float)
    labels = np.array(ready["c"])
    nearest = [np.argsort(np.linalg.norm(xy - xy[i], axis=1))[1] for i in range(len(xy))]
    assert np.mean(labels[nearest] == labels) >= 0.75  # colour histograms separate the three colours


def test_a_failed_umap_leaves_the_map_on_pca_with_one_line_saying_why(client, monkeypatch):
    if not umap_available():
        pytest.skip("umap-learn is not installed: nothing is started to fail")

    def failing(vectors, method):
        raise MemoryError("out of memory in the test\nsecond line")

    monkeypatch.setattr("web.map_worker.project_in_child", failing)
    assert client.get("/c/shapes_noisy/map.json").json()["pending"] is True
    client.app.state.explorer.umap.wait("shapes_noisy", timeout=60)
    after = client.get("/c/shapes_noisy/map.json").json()
    assert after["method"] == "pca" and after["pending"] is False
    assert after["note"] == "PCA layout; UMAP failed: MemoryError: out of memory in the test"


def stored_part(answer: dict) -> dict:
    """The layout as its cache file holds it: the answer less the note and pending flag the endpoint adds."""
    return {key: value for key, value in answer.items() if key not in ("note", "pending")}


def test_pca_as_asked_is_read_back_from_its_cache(client, built):
    layout = client.get("/c/shapes_colorhist/map.json", params={"method": "pca"}).json()
    assert layout["note"] == "PCA, as asked" and layout["pending"] is False
    cached = list((built / "reports" / ".maps").rglob(f"{layout['key']}-pca.json"))
    assert len(cached) == 1
    cached[0].write_text(json.dumps({**stored_part(layout), "x": layout["y"], "y": layout["x"]}))
    again = client.get("/c/shapes_colorhist/map.json", params={"method": "pca"}).json()
    assert (again["x"], again["y"]) == (layout["y"], layout["x"])


def test_the_map_key_is_the_content_collections_map_computes_it_ahead_a_no_op_ingest_keeps_it(tmp_path):
    from click.testing import CliRunner
    from fastapi.testclient import TestClient

    import cli
    from commands.context import Context
    from web import create_app
    from web.backend import Options

    write_list_dataset(tmp_path / "data" / "Shapes")
    store = open_store(path=tmp_path / "qdrant")

    def ingest() -> None:
        dataset = read_dataset(discover(tmp_path / "data")["shapes"], "shapes")
        ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))

    ingest()
    earlier = replace(store.provenance("shapes_colorhist"), updated="2026-01-01T00:00:00+00:00")
    store.set_provenance("shapes_colorhist", earlier)  # so that the no-op ingest below moves the update time
    ahead = ["collections", "map", "shapes_colorhist", "--method", "pca", "--reports", str(tmp_path / "reports")]
    made = CliRunner().invoke(cli.cli, ahead, obj=Context(handed=store))
    assert made.exit_code == 0 and "map of shapes_colorhist: PCA, as asked; computed in" in made.output
    assert made.output.count("PCA") == 1  # the method named once
    client = TestClient(create_app(lambda: store, Options(tmp_path / "data", tmp_path / "reports", "cpu")))
    try:
        first = client.get("/c/shapes_colorhist/map.json", params={"method": "pca"}).json()
        assert f"{first['key']}-pca.json" in made.output  # the web app reads what `collections map` computed
        again = CliRunner().invoke(cli.cli, ahead, obj=Context(handed=store)).output
        assert "already computed for this content" in again
        (cached,) = (tmp_path / "reports" / ".maps").rglob("*-pca.json")
        cached.write_text(json.dumps({**stored_part(first), "note_of_the_test": "kept"}))
        ingest()  # nothing new: the update time moves, the content does not
        assert store.info("shapes_colorhist").provenance.updated != earlier.updated
        kept = client.get("/c/shapes_colorhist/map.json", params={"method": "pca"}).json()
        assert kept["key"] == first["key"] and kept.get("note_of_the_test") == "kept"
        write_list_dataset(tmp_path / "data" / "Shapes", per_class=5)  # one more image per class
        ingest()
        grown = client.get("/c/shapes_colorhist/map.json", params={"method": "pca"}).json()
        assert grown["key"] != first["key"] and len(grown["ids"]) == 15 and "note_of_the_test" not in grown
        assert [p.name for p in cached.parent.glob("*.json")] == [f"{grown['key']}-pca.json"]
    finally:
        client.close()
        store.close()


def test_umap_up_to_the_limit_and_pca_beyond():
    if umap_available():
        assert choose_method("auto", 1000)[0] == "umap"
    assert choose_method("auto", UMAP_MAX_POINTS + 1)[0] == "pca"
    assert choose_method("pca", 100)[0] == "pca"
    with pytest.raises(ValueError, match="unknown projection"):
        choose_method("tsne", 100)


def test_the_map_page_names_its_projection_and_loads_its_script(client):
    page = client.get("/c/shapes_colorhist/map").text
    assert 'id="map"' in page and "/static/map.js" in page and "<script>" not in page
    assert client.get("/c/shapes_colorhist/map", params={"method": "tsne"}).status_code == 400


def test_a_busy_collection_is_no_umap_failure_and_only_the_latest_failure_is_kept(tmp_path):
    from errors import CollectionBusyError
    from web.layout import LayoutCache
    from web.map_worker import UmapJob, UmapWorkers

    workers = UmapWorkers(LayoutCache(tmp_path))
    reads: list[str] = []

    def busy():
        reads.append("busy")
        raise CollectionBusyError("collection 'c' is in use by process 7, which waits for it", collection="c")

    def broken():
        reads.append("broken")
        raise OSError("disk gone")

    for job in (UmapJob("c", "k1", busy, lambda: "k1"), UmapJob("c", "k1", busy, lambda: "k1")):
        workers.start(job)
        workers.wait("c", timeout=10)
    assert reads == ["busy", "busy"] and workers.failure("c", "k1") is None  # retried, not kept as a failure
    for key in ("k1", "k2"):
        workers.start(UmapJob("c", key, broken, lambda key=key: key))
        workers.wait("c", timeout=10)
    assert workers.failure("c", "k2") == "OSError: disk gone"
    assert workers.failure("c", "k1") is None and len(workers._failed) == 1  # the older content's failure is gone


def test_a_layout_of_new_content_written_meanwhile_never_breaks_a_map_answer_in_flight(client, monkeypatch):
    from web.layout import MapLayout

    explorer = client.app.state.explorer
    answer = explorer.map_answer
    newer = MapLayout("pca", "PCA (numpy)", "0-newer", 0.0, [], [], [], [], [])

    def then_new_content(name: str, asked: str = "auto"):  # another request writes the next content's layout
        found = answer(name, asked)
        explorer.layouts.write(name, newer)  # which removes the layouts of this content
        return found

    monkeypatch.setattr(explorer, "map_answer", then_new_content)
    try:
        got = client.get("/c/shapes_colorhist/map.json", params={"method": "pca"})
    finally:
        explorer.layouts.path("shapes_colorhist", newer.key, "pca").unlink(missing_ok=True)
    assert got.status_code == 200 and got.json()["method"] == "pca" and len(got.json()["ids"]) == 12
