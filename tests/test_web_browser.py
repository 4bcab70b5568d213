"""End to end in headless Chromium (Debian's chromium, driven by Playwright): the server runs in its own
process on a free loopback port, the only opener of a small embedded store, and the test clicks through it.

With WEB_SCREENSHOTS=<folder> set, the main pages are also saved there as PNGs (docs/screenshots/).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from encoders import build_encoder
from evaluation import EvalOptions, evaluate_collections
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import open_store
from tests.conftest import write_list_dataset

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GREEN, RED = "rgb(40, 160, 70)", "rgb(200, 60, 50)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """`python cli.py serve` on shapes_colorhist (ingested and evaluated), in a process of its own."""
    tmp = tmp_path_factory.mktemp("browser")
    write_list_dataset(tmp / "data" / "Shapes")
    store = open_store(path=tmp / "qdrant")
    dataset = read_dataset(discover(tmp / "data")["shapes"], "shapes")
    ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))
    evaluate_collections(store, ["shapes_colorhist"], tmp / "reports", options=EvalOptions(data_root=tmp / "data"))
    store.close()  # the embedded store allows one opener: from here on, the server
    yield from serving(tmp)


def serving(tmp: Path) -> Iterator[str]:
    """`python cli.py serve` over tmp's store, data and reports: its URL while the generator runs."""
    port = free_port()
    command = [sys.executable, "cli.py", "--storage", str(tmp / "qdrant"), "--reports", str(tmp / "reports")]
    command += ["serve", "--port", str(port), "--data-root", str(tmp / "data"), "--device", "cpu"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def border(tile) -> str:
    return tile.locator("img").evaluate("image => getComputedStyle(image).borderTopColor")


def test_click_through_collections_neighbours_and_an_upload(server, browser, tmp_path):
    shots = os.environ.get("WEB_SCREENSHOTS")
    # the test's own waits are JavaScript strings, which the app's CSP (script-src 'self') would refuse
    page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
    snap = (lambda name: page.screenshot(path=str(Path(shots) / f"{name}.png"))) if shots else (lambda name: None)
    page.goto(server + "/")
    assert page.locator("#collections a.collection").all_inner_texts() == ["shapes_colorhist"]
    snap("collections")

    page.click("text=shapes_colorhist")
    grid = page.locator("#grid figure.tile")
    assert grid.count() == 12
    page.wait_for_function("[...document.images].every(image => image.complete && image.naturalWidth > 0)")
    page.click("a:has-text('green (4)')")
    assert page.locator("#grid figure.tile").count() == 4
    assert set(page.locator("#grid figure.tile").evaluate_all("tiles => tiles.map(t => t.dataset.label)")) == {"green"}
    snap("collection")

    page.locator("#grid figure.tile a").first.click()
    page.wait_for_selector("#hits")
    hits = page.locator("#hits figure.tile")
    assert hits.count() == 11  # k = 12, but a 12-point collection has 11 others
    frames = [border(hits.nth(i)) for i in range(hits.count())]
    assert frames == [GREEN] * 3 + [RED] * 8  # colour histograms: the other green images come first
    assert "AP of this query" in page.inner_text("#query-ap")
    snap("neighbours")

    before = page.url
    hits.nth(4).locator("a").click()  # a red-framed hit becomes the query
    page.wait_for_url(lambda url: url != before)
    assert [border(page.locator("#hits figure.tile").nth(i)) for i in range(3)] == [GREEN] * 3

    page.click("#query-ap a")  # its full ranking
    assert "over 11 ranked points, 3 relevant" in page.inner_text("#drill-ap")
    snap("drilldown")

    page.goto(server + "/eval")
    assert page.locator("#study td a").count() == 1
    snap("evaluation")

    page.click("#study td a")  # the record's page: its best and worst queries' hits framed like the drill-down's
    hits = page.locator("#best img.same, #best img.other, #worst img.same, #worst img.other")
    assert hits.count() > 0
    for i in range(hits.count()):
        hit = hits.nth(i)
        expected = GREEN if "same" in hit.get_attribute("class") else RED
        assert hit.evaluate("image => getComputedStyle(image).borderTopColor") == expected

    page.goto(server + "/c/shapes_colorhist/query")
    upload = tmp_path / "query.png"
    from tests.conftest import CLASS_COLOURS, make_image

    make_image(CLASS_COLOURS["blue"], seed=4242).save(upload)
    page.set_input_files("input[name=file]", str(upload))
    page.click("#upload-form button")
    page.wait_for_selector("#hits")
    assert page.locator("#hits figure.tile").count() == 12
    labels = page.locator("#hits figure.tile").evaluate_all("tiles => tiles.map(t => t.dataset.label)")
    assert labels[:4] == ["blue"] * 4
    assert "uploaded image query.png" in page.inner_text("#query")
    snap("upload")

    page.goto(server + "/c/shapes_colorhist/query")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    page.set_input_files("input[name=file]", str(notes))
    page.click("#upload-form button")
    assert "not an image this app can read" in page.inner_text("#error")


def test_the_duplicates_page_shows_groups_side_by_side_and_its_threshold_changes_them(server, browser):
    shots = os.environ.get("WEB_SCREENSHOTS")
    page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
    page.goto(server + "/c/shapes_colorhist")
    page.click("#duplicates-link")
    page.wait_for_selector("#duplicates-summary")
    sizes = page.locator("section.duplicate-group").evaluate_all("groups => groups.map(g => +g.dataset.size)")
    assert page.input_value("#threshold") == "0.9662" and "measured for colorhist" in page.inner_text(
        "#duplicates-summary"
    )
    assert sizes == [4, 4, 4]  # colour histograms: each colour's four images, one group
    caption = page.locator("section.duplicate-group figcaption").first.inner_text()
    assert "96 × 72 px" in caption and "bytes" in caption and "/" in caption
    page.wait_for_function("[...document.images].every(image => image.complete && image.naturalWidth > 0)")
    if shots:
        page.screenshot(path=str(Path(shots) / "duplicates.png"))
    page.fill("#threshold", "0.9996")
    page.click("#duplicates-form button")
    page.wait_for_url("**threshold=0.9996")
    tighter = page.locator("section.duplicate-group").evaluate_all("groups => groups.map(g => +g.dataset.size)")
    assert sum(tighter) < sum(sizes) and page.input_value("#threshold") == "0.9996"
