"""The exploration's grid and viewer (tests/explore_fixtures.py's site): sorted and filtered grids, uploads at a
GET URL, the viewer, the drill-down's paging, captions, favicon and dashboard link, a port in use."""

from __future__ import annotations

import re

import numpy as np

from errors import RetrievalError
from store import point_id
from tests.explore_fixtures import (
    built_fixture,  # noqa: F401 (pytest finds `built` here)
    recorded_aps,
)
from tests.web_fixtures import error_text, shapes_id
from web.explore import dashboard_url


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
