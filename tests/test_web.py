"""The web app's handlers through FastAPI's test client: every page, every error as a page, escaping, no escape
from the image root. Expected rankings come from numpy and scikit-learn on the stored vectors."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from sklearn.metrics import average_precision_score

from commands.context import Context
from encoders import build_encoder
from evaluation import EvalOptions, evaluate_collections
from evaluation.metrics import comparisons
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from presentation.environment import environment
from store import ImagePayload, open_store, point_id
from tests.conftest import ROOT, make_image, write_list_dataset
from web.templating import templates

HOSTILE = "<script>alert('x')</script>&\""
ESCAPE_PATHS = ["../secret.jpg", "/ABSOLUTE", "red/link.jpg"]  # /ABSOLUTE is replaced by the secret's absolute path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """data/Shapes with shapes_colorhist (evaluated), a secret JPEG outside the image root with a symlink to it
    inside, and hostile_colorhist: three good points, one with a hostile label and path, three leaving the root."""
    tmp = tmp_path_factory.mktemp("web")
    write_list_dataset(tmp / "data" / "Shapes")
    make_image((10, 10, 10), seed=9).save(tmp / "data" / "secret.jpg")
    (tmp / "data" / "Shapes" / "images" / "red" / "link.jpg").symlink_to(tmp / "data" / "secret.jpg")
    store = open_store(path=tmp / "qdrant")
    dataset = read_dataset(discover(tmp / "data")["shapes"], "shapes")
    ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))
    evaluate_collections(store, ["shapes_colorhist"], tmp / "reports", options=EvalOptions(data_root=tmp / "data"))
    paths = ["red/00.jpg", "red/01.jpg", "green/00.jpg", f"{HOSTILE}.jpg", *ESCAPE_PATHS]
    paths = [str(tmp / "data" / "secret.jpg") if p == "/ABSOLUTE" else p for p in paths]
    labels = ["red", "red", "green", HOSTILE, "red", "red", "red"]
    vectors = np.eye(len(paths), 8, dtype=np.float32)
    payloads = [
        ImagePayload(label, path, "shapes", "colorhist", i)
        for i, (label, path) in enumerate(zip(labels, paths, strict=True))
    ]
    store.ensure_collection("hostile_colorhist", 8)
    store.upsert("hostile_colorhist", [point_id("hostile", p) for p in paths], vectors, payloads=payloads)
    store.close()
    return tmp


def shapes_id(path: str) -> str:
    return point_id("shapes", path)


def error_text(response) -> str:
    """The message of an error page; fails when the answer is not one."""
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    found = re.search(r'id="error">(.*?)</p>', response.text, re.S)
    assert found, response.text
    return html.unescape(found.group(1))


def tile_ids(page: str, section: str) -> list[tuple[str, str]]:
    """(point id, frame class) of each tile inside the element with id `section`."""
    part = page[page.index(f'id="{section}"') :]
    return re.findall(r'<figure class="tile (\w+)".*?/thumb/([0-9a-f-]{36})', part, re.S)


def test_collections_page_lists_every_collection_with_its_facts_and_last_evaluation(client, built):
    page = client.get("/")
    assert page.status_code == 200
    for name in ("shapes_colorhist", "hostile_colorhist"):
        assert f">{name}</a>" in page.text
    recorded = json.loads((built / "reports" / "shapes_colorhist" / "runs" / "full.json").read_text())
    assert f"mAP {recorded['map']:.4f}" in page.text
    assert "<td>12</td>" in page.text and "<td>3</td>" in page.text  # points and classes of shapes_colorhist


def test_collection_page_counts_classes_pages_and_filters_by_label(client, built):
    page = client.get("/c/shapes_colorhist").text
    for label in ("red", "green", "blue"):
        assert f'?label={label}">{label} (4)</a>' in page
    assert len(tile_ids(page, "grid")) == 12
    only_green = client.get("/c/shapes_colorhist", params={"label": "green"}).text
    ids = [pid for _, pid in tile_ids(only_green, "grid")]
    assert ids == [shapes_id(f"green/{i:02d}.jpg") for i in range(4)]  # dataset order


def test_neighbours_are_the_numpy_top_k_framed_by_class_with_the_recorded_ap(client, opened, built):
    stored = opened.points("shapes_colorhist", with_vectors=True)
    q = stored.paths.index("blue/02.jpg")
    scores = stored.vectors @ stored.vectors[q]
    scores[q] = -np.inf
    best = np.argsort(-scores, kind="stable")[:7]
    page = client.get(f"/c/shapes_colorhist/p/{stored.ids[q]}", params={"k": 7}).text
    expected = [("same" if stored.labels[i] == "blue" else "other", stored.ids[i]) for i in best]
    shown = tile_ids(page, "hits")
    assert shown[:3] == expected[:3]  # the other blue points; past them, scores tie at 0 (disjoint histograms)
    assert [frame for frame, _ in shown] == [frame for frame, _ in expected] == ["same"] * 3 + ["other"] * 4
    relevant = np.array(stored.labels) == "blue"
    keep = np.arange(len(scores)) != q
    ap = average_precision_score(relevant[keep], (stored.vectors @ stored.vectors[q])[keep])
    assert f"AP of this query: <strong>{ap:.4f}</strong>" in page


def test_drill_down_ranks_every_other_point_with_its_ap_and_pr_curve(client, opened):
    stored = opened.points("shapes_colorhist", with_vectors=True)
    q = stored.paths.index("red/03.jpg")
    scores = stored.vectors @ stored.vectors[q]
    keep = np.arange(len(scores)) != q
    ap = average_precision_score((np.array(stored.labels) == "red")[keep], scores[keep])
    page = client.get(f"/eval/shapes_colorhist/q/{stored.ids[q]}").text
    assert f"AP {ap:.4f} over 11 ranked points, 3 relevant" in page
    tiles = tile_ids(page, "ranking")
    assert len(tiles) == 11
    assert [frame for frame, _ in tiles] == [
        "same" if stored.labels[stored.ids.index(pid)] == "red" else "other" for _, pid in tiles
    ]
    assert "<polyline" in page


def test_evaluation_pages_show_the_table_study_figures_heatmap_and_best_worst(client, built, tmp_path):
    overview = client.get("/eval").text
    recorded = json.loads((built / "reports" / "shapes_colorhist" / "runs" / "full.json").read_text())
    assert f"{recorded['map']:.4f}</a>" in overview
    for label, ap in recorded["per_class_ap"].items():
        assert re.search(rf"<th>{label}</th><td style=\"background: hsl\(\d+, 70%, 78%\)\">{ap:.4f}</td>", overview)
    one = client.get("/eval/shapes_colorhist").text
    for row in recorded["best"] + recorded["worst"]:
        assert f"/eval/shapes_colorhist/q/{row['id']}" in one


def test_the_evaluation_page_computes_no_member_comparisons_it_does_not_show(client, monkeypatch):
    def refused(records):
        raise AssertionError("member comparisons computed for a page that does not show them")

    monkeypatch.setattr(comparisons, "member_comparisons", refused)
    assert client.get("/eval").status_code == 200


def test_evaluation_links_are_paths_whatever_the_host_header(client):
    """/eval and a record's page link by path only: a hostile Host header is in no link (README: relative URLs)."""
    for url in ("/eval", "/eval/shapes_colorhist", f"/eval/shapes_colorhist/q/{shapes_id('red/00.jpg')}"):
        page = client.get(url, headers={"host": "evil.example"}).text
        links = re.findall(r'(?:href|src)="([^"]*)"', page)
        assert links and "evil.example" not in page, url
        assert all(link.startswith(("/", "#", "?")) and not link.startswith("//") for link in links), url
    assert 'href="/eval/shapes_colorhist"' in client.get("/eval").text


def border_colours(css: str, selector: str) -> list[str]:
    """The border colour each rule of `css` naming `selector` leaves, in order: a `border` shorthand without a
    colour resets it to the text colour ("currentcolor")."""
    colours = []
    for rule in re.sub(r"/\*.*?\*/", "", css, flags=re.S).split("}"):
        if "{" not in rule:
            continue
        selectors, body = rule.split("{", 1)
        if selector not in [s.strip() for s in selectors.split(",")]:
            continue
        for declaration in filter(None, (d.strip() for d in body.split(";"))):
            name, value = (part.strip() for part in declaration.split(":", 1))
            if name == "border-color":
                colours.append(value)
            elif name == "border":
                found = re.search(r"rgb\([^)]*\)|#\w+", value)
                colours.append(found.group(0) if found else "currentcolor")
    return colours


def test_a_hit_frame_is_coloured_by_relevance_on_the_evaluation_pages_like_the_drill_down(client):
    """The stylesheet's last word on the small frames of /eval/<collection> is green or red, as on the tiles."""
    static = Path(__file__).resolve().parents[1] / "presentation" / "static"
    css = "".join((static / name).read_text() for name in ("style.css", "marks.css"))  # as base.html links them
    assert re.findall(r'static/(\w+\.css)"', client.get("/").text) == ["style.css", "marks.css"]
    for selector, colour in (("img.same", "rgb(40, 160, 70)"), ("img.other", "rgb(200, 60, 50)")):
        assert border_colours(css, selector)[-1] == colour, selector
        assert border_colours(css, f".tile.{selector[4:]} img")[-1] == colour, selector


def test_the_study_figure_stands_beside_a_study_pair(client, built):
    record = json.loads((built / "reports" / "shapes_colorhist" / "runs" / "full.json").read_text())
    folder = built / "reports" / "simple1k_clip"  # a record of this store's collection, relabelled as a study pair
    (folder / "runs").mkdir(parents=True)
    relabelled = {**record, "dataset": "simple1k", "encoder": "clip", "map": 0.5}
    (folder / "runs" / "full.json").write_text(json.dumps(relabelled))
    try:
        assert re.search(r"0\.5000</a>\s*<span class=\"study\">\[0\.7692\]</span>", client.get("/eval").text)
    finally:
        (folder / "runs" / "full.json").unlink()
        (folder / "runs").rmdir()
        folder.rmdir()


def test_an_uploaded_stored_image_finds_itself_first(client, built):
    data = (built / "data" / "Shapes" / "images" / "green" / "02.jpg").read_bytes()
    page = client.post("/c/shapes_colorhist/upload", files={"file": ("mine.jpg", data, "image/jpeg")}, data={"k": "4"})
    assert page.status_code == 200
    tiles = tile_ids(page.text, "hits")
    assert len(tiles) == 4 and tiles[0][1] == shapes_id("green/02.jpg")
    assert re.search(r'<img src="[^"]+/upload/[0-9a-f]{64}/preview" alt="uploaded image">', page.text)  # no data: URI


def test_query_page_offers_text_only_with_a_text_tower(client):
    page = client.get("/c/shapes_colorhist/query").text
    assert 'id="upload-form"' in page and 'id="text-form"' not in page
    assert "has no text tower" in page


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "request_args, status, message",
    [
        (("get", "/c/nope"), 404, "collection 'nope' does not exist"),
        (("get", "/c/nope/p/" + point_id("x", "y")), 404, "collection 'nope' does not exist"),
        (("get", "/c/shapes_colorhist/p/" + point_id("shapes", "missing.jpg")), 400, "no point in 'shapes_colorhist'"),
        (("get", "/c/shapes_colorhist/p/not-an-id"), 400, "'not-an-id' is not a point id"),
        (("get", "/eval/nope"), 400, "'nope' has no evaluation yet"),
        (("get", "/eval/shapes_colorhist/q/" + point_id("shapes", "missing.jpg")), 400, "no point in"),
        (("get", "/c/shapes_colorhist/text?q=a+red+bus"), 400, "has no text tower"),
        (("get", "/c/shapes_colorhist/p/" + point_id("shapes", "red/00.jpg") + "?k=0"), 400, "bad request"),
        (("get", "/no/such/page"), 404, "Not Found"),
    ],
)
def test_errors_are_pages_naming_the_problem(client, request_args, status, message):
    method, url = request_args
    response = client.request(method, url)
    assert response.status_code == status
    assert message in error_text(response)


@pytest.mark.parametrize(
    "file, message",
    [
        (("notes.txt", b"not an image at all", "text/plain"), "not an image this app can read"),
        (("empty.jpg", b"", "image/jpeg"), "choose an image file"),
        (("big.png", png((30, 30)), "image/png"), "exceeds the limit of 500 pixels"),
    ],
)
def test_bad_uploads_are_refused_in_the_page(client, monkeypatch, file, message):
    monkeypatch.setattr("web.backend.MAX_UPLOAD_PIXELS", 500)
    response = client.post("/c/shapes_colorhist/upload", files={"file": file})
    assert response.status_code == 400
    text = error_text(response)
    assert message in text and "/tmp" not in text


def test_an_upload_over_the_size_limit_is_refused(client, monkeypatch):
    monkeypatch.setattr("web.backend.MAX_UPLOAD_BYTES", 100)
    response = client.post("/c/shapes_colorhist/upload", files={"file": ("big.png", png((64, 64)), "image/png")})
    assert response.status_code == 400
    assert "larger than" in error_text(response)


def test_an_unexpected_failure_is_a_page_without_a_traceback(client, monkeypatch):
    def broken(self):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("web.backend.Backend.collections", broken)
    response = client.get("/")
    assert response.status_code == 500
    assert "RuntimeError" in error_text(response) and "secret internals" not in response.text


def test_hostile_labels_and_paths_are_escaped_everywhere(client):
    hostile = point_id("hostile", f"{HOSTILE}.jpg")
    pages = [
        client.get("/").text,
        client.get("/c/hostile_colorhist").text,
        client.get("/c/hostile_colorhist", params={"label": HOSTILE}).text,
        client.get(f"/c/hostile_colorhist/p/{hostile}").text,
        client.get(f"/eval/hostile_colorhist/q/{point_id('hostile', 'red/00.jpg')}").text,
    ]
    for page in pages:
        assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;" in pages[1]
    assert [pid for _, pid in tile_ids(pages[2], "grid")] == [hostile]


def test_thumbnails_are_served_by_id_and_cached_on_disk(client, built):
    pid = shapes_id("red/00.jpg")
    response = client.get(f"/c/shapes_colorhist/thumb/{pid}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (96, 72)  # fits in 160 x 160: never enlarged
    content = hashlib.sha256((built / "data" / "Shapes" / "images" / "red" / "00.jpg").read_bytes()).hexdigest()
    cached = list((built / "reports" / ".thumbnails").rglob(f"{content}.jpg"))  # keyed by the image's content
    assert [path.read_bytes() for path in cached] == [response.content]
    assert response.headers["cache-control"] == "no-cache" and content[:32] in response.headers["etag"]
    again = client.get(f"/c/shapes_colorhist/thumb/{pid}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and not again.content


@pytest.mark.parametrize("path", ESCAPE_PATHS)
def test_no_stored_path_leaves_the_image_root(client, path, built):
    real = str(built / "data" / "secret.jpg") if path == "/ABSOLUTE" else path
    response = client.get(f"/c/hostile_colorhist/thumb/{point_id('hostile', real)}")
    assert response.status_code == 404
    assert client.get(f"/c/hostile_colorhist/thumb/{point_id('hostile', 'red/00.jpg')}").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/c/shapes_colorhist/thumb/../../secret.jpg",
        "/c/shapes_colorhist/thumb/..%2f..%2fsecret.jpg",
        "/c/shapes_colorhist/thumb/%2e%2e%2f%2e%2e%2fsecret.jpg",
        "/c/shapes_colorhist/thumb/%2e%2e%2fdata%2fsecret.jpg",
        "/c/..%2f..%2fdata/thumb/secret.jpg",
        "/static/..%2f..%2fdata%2fsecret.jpg",
        "/static/../../cli.py",
    ],
)
def test_no_request_path_reaches_a_file(client, built, url):
    secret = (built / "data" / "secret.jpg").read_bytes()
    response = client.get(url)
    assert response.status_code in (400, 404)
    assert secret not in response.content and b"import click" not in response.content


def test_serve_warns_on_a_non_local_host_and_builds_the_app(monkeypatch, opened, built):
    import cli

    served = []
    monkeypatch.setattr("web.app.serve", lambda app, host, port, **_: served.append((host, port)))
    handed = Context(handed=opened)  # the CLI in this process, on the open store
    runner = CliRunner()
    local = runner.invoke(cli.cli, ["serve", "--port", "8123", "--data-root", str(built / "data")], obj=handed)
    public = runner.invoke(cli.cli, ["serve", "--host", "0.0.0.0", "--port", "8124"], obj=handed)
    assert local.exit_code == 0 and public.exit_code == 0, local.output + public.output
    assert served == [("127.0.0.1", 8123), ("0.0.0.0", 8124)]
    assert "warning" not in local.output and "warning: listening on 0.0.0.0" in public.output


def test_the_static_report_environment_has_none_of_the_apps_globals(client):
    assert "url_for" in templates.env.globals and "url_for" not in environment.globals


def test_each_request_answered_is_one_access_line(opened, built):
    from fastapi.testclient import TestClient

    from web import create_app
    from web.backend import Options

    lines: list[str] = []
    app = create_app(lambda: opened, Options(built / "data", built / "reports", "cpu", access=lines.append))
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/").status_code == 200 and client.get("/c/nope_clip?k=3").status_code == 404
    assert re.fullmatch(r"GET / 200 \d+ ms", lines[0]) and re.fullmatch(r"GET /c/nope_clip\?k=3 404 \d+ ms", lines[1])


@pytest.mark.parametrize("quiet", [False, True])
def test_serve_writes_an_access_line_per_request_and_a_line_when_it_stops(tmp_path, quiet):
    """A real process: it is stopped by SIGTERM, as a service manager stops it."""
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    from store import open_store
    from tests.conftest import CLI_ENV

    open_store(path=tmp_path / "q").close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, str(ROOT / "cli.py"), "--storage", str(tmp_path / "q"), "serve", "--port", str(port)]
    served = subprocess.Popen(
        command + (["--quiet"] if quiet else []),
        cwd=tmp_path,
        env=CLI_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving" in served.stdout.readline()
        for _ in range(100):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).status == 200
                break
            except OSError:
                time.sleep(0.1)
        served.send_signal(signal.SIGTERM)
        _, err = served.communicate(timeout=60)
    finally:
        served.kill()
    assert served.returncode == 128 + signal.SIGTERM
    assert err.strip().endswith("serve stopped: SIGTERM"), err
    assert bool(re.search(r"^GET / 200 \d+ ms$", err, re.M)) is not quiet, err


def test_the_duplicates_page_escapes_paths_and_reads_no_pixel_size_outside_the_image_root(client):
    """hostile_colorhist's points at cosine >= -1 (one group of all seven): the hostile path shown escaped, and
    pixel sizes read only for the three images inside the root (the symlinked, climbing and absolute ones not)."""
    page = client.get("/c/hostile_colorhist/duplicates?threshold=-1")
    assert page.status_code == 200
    assert "<script>" not in page.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;" in page.text
    assert page.text.count('class="duplicate-group" data-size="7"') == 1
    assert page.text.count("96 &times; 72 px") == 3 and page.text.count("pixels unknown") == 4
    assert 'id="no-duplicates"' in client.get("/c/hostile_colorhist/duplicates").text  # the measured default
    assert client.get("/c/hostile_colorhist/duplicates?threshold=2").status_code == 400


def test_the_evaluation_page_and_the_report_show_the_table_of_score_against_precision(client, built, opened):
    from presentation.static_report import write_index

    table = json.loads((built / "reports" / "shapes_colorhist" / "runs" / "full.json").read_text())["score_precision"]
    names = {"shapes_colorhist"}
    report = write_index(built / "reports", opened.location, names, command="python cli.py eval", order=()).read_text()
    for page in (client.get("/eval/shapes_colorhist").text, report):
        assert "Precision of the hits at or above a score" in page
        shown = re.findall(r"<tr><td>(-?\d\.\d{4})</td><td>(\d\.\d{4})</td><td>(\d+)</td>", page)
        assert shown == [(f"{r['score']:.4f}", f"{r['precision']:.4f}", str(r["hits"])) for r in table["rows"]]


def test_the_pr_chart_has_tick_values_on_both_axes_where_the_curve_is_drawn(client):
    page = client.get("/eval/shapes_colorhist").text
    ticks = re.search(r'<g class="ticks"(.*?)</g>', page, re.S).group(1)
    texts = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([\d.]+)</text>', ticks)
    values = ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    assert [t[3] for t in texts] == values * 2  # recall, then precision
    points = [
        tuple(map(float, xy.split(","))) for xy in re.search(r'<polyline points="([^"]+)"', page).group(1).split()
    ]
    recall_x = {t[3]: float(t[0]) for t in texts[:6]}
    assert (points[0][0], points[-1][0]) == (recall_x["0"], recall_x["1"])  # recall 0 and 1 under their ticks
