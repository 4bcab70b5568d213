"""The exploration pages through FastAPI's test client: the map's layout and its cache, class confusion against
numpy, side by side, sorted and filtered grids, uploads at a GET URL, the viewer, paging, favicon and dashboard link.

Two collections of one dataset: shapes_colorhist (ingested, evaluated) and shapes_noisy (the same ids, each
vector with seeded noise added, evaluated), so the same image has the same id in both and the rankings differ."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from encoders import build_encoder
from errors import RetrievalError
from evaluation import EvalOptions, evaluate_collections, read_records
from evaluation.metrics.confusion import confusion
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import open_store, point_id
from tests.conftest import write_list_dataset
from web.explore import dashboard_url
from web.layout import GRID, UMAP_MAX_POINTS, choose_method, umap_available


def add_noisy_copy(store) -> None:
    """shapes_noisy: shapes_colorhist's points, ids and payloads (encoder "noisy") with seeded noise on each vector."""
    stored = store.points("shapes_colorhist", with_vectors=True)
    dim = stored.vectors.shape[1]
    noisy = stored.vectors + 3.0 / np.sqrt(dim) * np.random.default_rng(0).normal(size=stored.vectors.shape)
    noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    payloads = [p.__class__(p.label, p.path, p.dataset, "noisy", p.index) for p in stored.payloads]
    store.ensure_collection("shapes_noisy", dim)
    store.upsert("shapes_noisy", stored.ids, noisy, payloads=payloads)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("explore")
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


def recorded_aps(built: Path, name: str) -> dict[str, float | None]:
    """Each query's AP in the collection's full leave-one-out record, through the one reader of records."""
    return next(r for r in read_records(built / "reports") if r.collection == name and r.variant.is_full).ap_per_query


def shapes_id(path: str) -> str:
    return point_id("shapes", path)


def error_text(response) -> str:
    found = re.search(r'id="error">(.*?)</p>', response.text, re.S)
    assert found, response.text
    return found.group(1)


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


def numpy_confusion(vectors: np.ndarray, labels: list[str], k: int) -> dict[tuple[str, str], float]:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    counts: dict[tuple[str, str], int] = {}
    for i, row in enumerate(scores):
        for j in np.argsort(-row, kind="stable")[:k]:
            counts[labels[i], labels[j]] = counts.get((labels[i], labels[j]), 0) + 1
    totals = {a: sum(v for (b, _), v in counts.items() if b == a) for a in set(labels)}
    return {pair: count / totals[pair[0]] for pair, count in counts.items()}


def test_confusion_shares_are_numpy_top_k_shares_and_a_cell_opens_its_pairs(client, opened, built):
    stored = opened.points("shapes_noisy", with_vectors=True)
    expected = numpy_confusion(stored.vectors, stored.labels, 5)
    page = client.get("/c/shapes_noisy/confusion", params={"k": 5}).text
    cells = re.findall(r'row=(\w+)&amp;column=(\w+)&amp;k=5">([\d.]+)</a>', page)
    assert {(a, b): float(v) for a, b, v in cells} == {pair: round(v, 2) for pair, v in expected.items()}
    label_of = dict(zip(stored.ids, stored.labels, strict=True))
    red = np.mean([ap for pid, ap in recorded_aps(built, "shapes_noisy").items() if label_of[pid] == "red"])
    assert re.findall(r'class="recorded-ap">([\d.]+)<', page)[2] == f"{red:.4f}"  # classes: blue, green, red
    pairs = client.get("/c/shapes_noisy/confusion/pairs", params={"row": "red", "column": "red", "k": 5}).text
    rows = [re.findall(r"/c/shapes_noisy/p/([0-9a-f-]{36})", row) for row in pairs.split('class="pair-row"')[1:]]
    queries = [row[0] for row in rows]  # a grid: each query once, its confused hits beside it
    assert len(set(queries)) == len(queries) and sum(len(row) - 1 for row in rows) == round(expected["red", "red"] * 20)
    assert all(stored.labels[stored.ids.index(pid)] == "red" for row in rows for pid in row)


def test_confusion_counts_from_a_hand_worked_ranking():
    from evaluation import Neighbours
    from store import ImagePayload, Points

    payloads = [ImagePayload(label, f"{i}.jpg", "d", "e", i) for i, label in enumerate(["a", "a", "b"])]
    order = np.array([[1, 2], [2, 0], [0, 1]])  # a0 -> a1, b; a1 -> b, a0; b -> a0, a1
    found = confusion(Neighbours(Points(["0", "1", "2"], payloads), order, np.zeros((3, 0))))
    assert found.rows() == [("a", 2, [0.5, 0.5]), ("b", 1, [1.0, 0.0])]
    assert found.pairs("a", "b") == [(0, 2, 2), (1, 2, 1)]


def test_confusion_counts_a_multi_label_point_in_each_of_its_classes():
    from evaluation import Neighbours
    from store import ImagePayload, Points

    labels = [("a", "b"), ("a",), ("b",)]
    payloads = [
        ImagePayload(ls[0], f"{i}.jpg", "d", "e", i, labels=ls if len(ls) > 1 else None) for i, ls in enumerate(labels)
    ]
    order = np.array([[1], [0], [0]])  # ab -> a; a -> ab; b -> ab
    found = confusion(Neighbours(Points(["0", "1", "2"], payloads), order, np.zeros((3, 0))))
    # row a: queries ab and a, their hits a and ab: 2 of 2 hits have a, 1 of 2 has b;
    # row b: queries ab and b, their hits a and ab: the same
    assert found.rows() == [("a", 2, [1.0, 0.5]), ("b", 2, [1.0, 0.5])]
    assert found.pairs("b", "a") == [(0, 1, 1), (2, 0, 1)]


def test_every_page_of_a_random_weight_collection_says_so_in_its_title(client):
    """The README's promise: "random weights" in every title, the grid, map, confusion and side by side included."""
    mark = "(random weights: not a result)"
    pid = shapes_id("green/01.jpg")
    pages = [
        "/c/{name}",
        "/c/{name}/map",
        "/c/{name}/confusion",
        "/c/{name}/confusion/pairs?row=green&column=green",
        "/c/{name}/query",
        "/c/{name}/p/{pid}",
        "/c/{name}/v/{pid}",
        "/c/{name}/compare/{pid}",
        "/eval/{name}",
        "/eval/{name}/q/{pid}",
        "/c/{name}/tune",
    ]
    for url in pages:
        random = client.get(url.format(name="shapes_noisy", pid=pid))
        assert random.status_code == 200, url
        title = re.search(r"<title>(.*?)</title>", random.text).group(1)
        heading = re.search(r"<h1>(.*?)</h1>", random.text, re.S).group(1)
        if "compare" in url:  # its collections are the columns' headings (below)
            heading = re.search(r'<h2><a href="[^"]+">shapes_noisy</a>(.*?)</h2>', random.text).group(1)
        assert mark in title and f'<span class="random">{mark}</span>' in heading, url
        trained = client.get(url.format(name="shapes_colorhist", pid=pid)).text
        assert "random weights" not in re.search(r"<title>(.*?)</title>", trained).group(1), url
    columns = client.get(f"/c/shapes_colorhist/compare/{pid}").text
    marked = re.findall(r'<h2><a href="[^"]+">(\w+)</a>( <span class="random">)?', columns)
    assert marked == [("shapes_colorhist", ""), ("shapes_noisy", ' <span class="random">')]


def test_the_static_report_marks_titles_and_frames_hits_as_the_web_pages_do(client, opened, built):
    """reports/index.html and the web pages render from the same templates: the same random-weights mark after
    the same collections, the same relevance class on the same hits, the same stylesheet for both; and every
    link of the report is relative and finds its file or section (it opens from disk)."""
    from presentation.static_report import write_index

    reports = built / "reports"
    index = write_index(
        reports, opened.location, set(opened.collection_names()), command="pytest", order=()
    ).read_text()
    mark = '<span class="random">(random weights: not a result)</span>'
    for name in ("shapes_colorhist", "shapes_noisy"):
        section = re.search(rf'<section id="{name}"><h2>(.*?)</h2>(.*?)</section>', index, re.S)
        web = client.get(f"/eval/{name}").text
        heading = re.search(r"<h1>(.*?)</h1>", web, re.S).group(1)
        assert (mark in section.group(1)) == (mark in heading) == (name == "shapes_noisy"), name
        record = next(r for r in read_records(reports) if r.collection == name and r.variant.is_full).data
        expected = [
            "same" if hit["relevant"] else "other" for row in record["best"] + record["worst"] for hit in row["hits"]
        ]
        assert re.findall(r'<span class="hit (same|other)"', section.group(2)) == expected, name
        assert re.findall(r'<img class="(same|other)"', web) == expected, name
    marks = (Path(__file__).resolve().parents[1] / "presentation" / "static" / "marks.css").read_text()
    assert marks in index and "/static/marks.css" in client.get("/").text
    links = re.findall(r'(?:href|src)="([^"]*)"', index)
    assert links
    for link in links:
        assert not link.startswith("/") and "://" not in link, link
        if link.startswith("#"):
            assert f'id="{link[1:]}"' in index, link
        else:
            assert (reports / unquote(link)).is_file(), link


def test_side_by_side_shows_one_column_per_collection_each_with_its_recorded_ap(client, built):
    pid = shapes_id("green/01.jpg")
    page = client.get(f"/c/shapes_colorhist/compare/{pid}", params={"with": "shapes_noisy", "k": 4}).text
    columns = re.findall(r'data-collection="(\w+)">.*?class="column-ap">(.*?)</p>', page, re.S)
    assert [name for name, _ in columns] == ["shapes_colorhist", "shapes_noisy"]
    for name, ap in columns:
        assert ap == f'AP {recorded_aps(built, name)[pid]:.4f} <span class="muted">(full record)</span>'
    neighbours = client.get(f"/c/shapes_colorhist/p/{pid}").text
    assert f"/c/shapes_colorhist/compare/{pid}?with=shapes_noisy" in neighbours
    evaluation = client.get("/eval/shapes_colorhist").text
    assert re.search(r"/c/shapes_colorhist/compare/[0-9a-f-]{36}\">compare with", evaluation)
    refused = client.get(f"/c/shapes_colorhist/compare/{pid}", params={"with": "nope"})
    assert refused.status_code == 400 and "not a collection of the same dataset" in error_text(refused)


def grid_ids(page: str) -> list[str]:
    part = page[page.index('id="grid"') :]
    return re.findall(r"/thumb/([0-9a-f-]{36})", part)


def test_the_grid_sorts_by_recorded_ap_worst_first_by_class_and_by_similarity(client, opened, built):
    recorded = recorded_aps(built, "shapes_noisy")
    by_ap = grid_ids(client.get("/c/shapes_noisy", params={"sort": "ap"}).text)
    assert [recorded[pid] for pid in by_ap] == sorted(recorded.values()) and len(set(recorded.values())) > 3
    by_class = grid_ids(client.get("/c/shapes_colorhist", params={"sort": "class"}).text)
    assert by_class[:4] == [shapes_id(f"blue/{i:02d}.jpg") for i in range(4)]
    stored = opened.points("shapes_colorhist", with_vectors=True)
    q = stored.ids.index(shapes_id("red/02.jpg"))
    scores = stored.vectors @ stored.vectors[q]
    scores[q] = np.inf
    similar = grid_ids(client.get("/c/shapes_colorhist", params={"sort": "similar", "to": stored.ids[q]}).text)
    assert similar[:4] == [stored.ids[i] for i in np.argsort(-scores, kind="stable")[:4]]


def test_the_label_filter_ignores_case_and_says_when_nothing_matched(client):
    assert len(grid_ids(client.get("/c/shapes_colorhist", params={"label": "GREEN"}).text)) == 4
    page = client.get("/c/shapes_colorhist", params={"label": "Sunflower"}).text
    assert "No point is labelled “Sunflower” (in any case). The labels are: red, green, blue." in page


def test_the_label_filter_matches_any_label_of_a_multi_label_point(client, opened):
    from store import ImagePayload

    labels = [("red", "round"), ("blue",), ("Round", "green")]
    payloads = [
        ImagePayload(ls[0], f"{i}.jpg", "tags", "colorhist", i, labels=ls if len(ls) > 1 else None)
        for i, ls in enumerate(labels)
    ]
    ids = [point_id("tags", p.path) for p in payloads]
    opened.ensure_collection("tags_colorhist", 2)
    try:
        opened.upsert("tags_colorhist", ids, np.eye(3, 2, dtype=np.float32) + 0.1, payloads=payloads)
        assert grid_ids(client.get("/c/tags_colorhist", params={"label": "ROUND"}).text) == [ids[0], ids[2]]
        assert grid_ids(client.get("/c/tags_colorhist", params={"label": "green"}).text) == [ids[2]]
    finally:
        opened.drop("tags_colorhist")


def test_an_upload_redirects_to_a_get_url_that_reloads(client, built):
    data = (built / "data" / "Shapes" / "images" / "green" / "02.jpg").read_bytes()
    posted = client.post(
        "/c/shapes_colorhist/upload", files={"file": ("a.jpg", data)}, data={"k": "3"}, follow_redirects=False
    )
    assert posted.status_code == 303
    url = posted.headers["location"]
    assert re.search(r"/c/shapes_colorhist/upload/[0-9a-f]{64}\?k=3&file=a.jpg$", url)
    for _ in range(2):  # reloaded
        page = client.get(url).text
        assert re.findall(r"/thumb/([0-9a-f-]{36})", page.split('id="hits"')[1])[0] == shapes_id("green/02.jpg")
    preview = client.get(url.split("?")[0] + "/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    gone = client.get("/c/shapes_colorhist/upload/" + "0" * 64)
    assert gone.status_code == 400 and "upload it again" in error_text(gone)


def test_a_bad_upload_reads_as_a_sentence(client):
    response = client.post("/c/shapes_colorhist/upload", files={"file": ("notes.txt", b"plain words")})
    assert response.status_code == 400
    assert error_text(response) == (
        "the upload is not an image this app can read: its content is not in an image format it reads "
        "(JPEG, PNG, GIF, BMP, TIFF, WebP)"
    )


def test_the_viewer_shows_the_full_image_and_its_facts(client, built):
    pid = shapes_id("blue/01.jpg")
    page = client.get(f"/c/shapes_colorhist/v/{pid}").text
    size = (built / "data" / "Shapes" / "images" / "blue" / "01.jpg").stat().st_size
    assert "blue/01.jpg" in page and "96 × 72 pixels" in page and f"{size:,} bytes" in page
    assert "AP 0." in page or "AP 1." in page
    assert f'rel="next" href="/c/shapes_colorhist/v/{shapes_id("blue/02.jpg")}"' in page  # relative: no Host reflected
    image = client.get(f"/c/shapes_colorhist/image/{pid}")
    assert image.content == (built / "data" / "Shapes" / "images" / "blue" / "01.jpg").read_bytes()


def test_the_drill_down_pages_through_the_whole_ranking(client, monkeypatch):
    monkeypatch.setattr("web.evaluation_pages.DRILL_HITS", 5)
    url = f"/eval/shapes_colorhist/q/{shapes_id('red/00.jpg')}"
    first, last = client.get(url).text, client.get(url, params={"page": 3}).text
    assert "ranks 1 to 5 of 11 · page 1 of 3" in first and "ranks 11 to 11 of 11 · page 3 of 3" in last
    assert len(re.findall(r'<figure class="tile', last)) == 1


def test_captions_carry_the_whole_path_as_a_tooltip(client):
    page = client.get("/c/shapes_colorhist").text
    assert '<figcaption title="red/00.jpg">red · red/00.jpg</figcaption>' in page


def test_favicon_and_dashboard_link(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    assert dashboard_url("http://localhost:6333/", "a_b") == "http://localhost:6333/dashboard#/collections/a_b"
    assert dashboard_url("/var/qdrant", "a_b") is None
    assert "Qdrant dashboard" not in client.get("/c/shapes_colorhist").text  # an embedded store has none


def test_serve_on_a_port_in_use_says_so_in_one_line_before_serving(monkeypatch, opened):
    import socket

    from click.testing import CliRunner

    import cli
    from commands.context import Context

    served = []
    monkeypatch.setattr("web.app.serve", lambda app, host, port, **_: served.append(port))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli.cli, ["serve", "--port", str(port)], obj=Context(handed=opened))
    assert served == [] and "serving" not in result.output
    assert isinstance(result.exception, RetrievalError) and result.exception.exit_code == 2  # cli.main prints it
    assert str(result.exception) == (
        f"cannot listen on 127.0.0.1:{port} (Address already in use): another program uses it; choose one with --port"
    )


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
