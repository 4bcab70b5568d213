"""The exploration pages end to end in headless Chromium: the map (drawn, hover, click, box), the confusion heatmap,
side by side, the sort by AP, the keyboard, a reloaded upload URL and the label filter's message.

The server runs `python cli.py serve` in its own process on two collections of one dataset (shapes_colorhist and
shapes_noisy: the same ids, seeded noise on each vector).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from commands.context import Context
from encoders import build_encoder
from evaluation import EvalOptions, evaluate_collections
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import open_store, point_id
from tests.conftest import CLASS_COLOURS, make_image, write_list_dataset
from tests.explore_fixtures import add_noisy_copy
from tests.test_web_browser import ARGS, CHROMIUM, serving

ROOT = Path(__file__).resolve().parents[1]
NAME = "shapes_colorhist"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` package (.ci/run does)")
    tmp = tmp_path_factory.mktemp("explore-browser")
    write_list_dataset(tmp / "data" / "Shapes")
    store = open_store(path=tmp / "qdrant")
    ingest_dataset(
        read_dataset(discover(tmp / "data")["shapes"], "shapes"),
        build_encoder("colorhist", "cpu"),
        store,
        options=IngestOptions(workers=0),
    )
    add_noisy_copy(store)
    evaluate_collections(store, [NAME, "shapes_noisy"], tmp / "reports", options=EvalOptions(data_root=tmp / "data"))
    add_many_classes(store)
    store.close()
    yield from serving(tmp)


MANY_CLASSES = [
    f"{name} photographs"
    for name in (
        "african people",
        "beaches and coasts",
        "city buildings",
        "double-decker buses",
        "dinosaur models",
        "elephants in the wild",
        "flowers close up",
        "plates of food",
        "horses in fields",
        "mountains and glaciers",
    )
]


def add_many_classes(store) -> None:
    """many_classes: 10 classes with long names (4 random points each), as wide as a confusion page gets."""
    from store import ImagePayload

    labels = [label for label in MANY_CLASSES for _ in range(4)]
    vectors = np.random.default_rng(0).normal(size=(len(labels), 8)).astype(np.float32)
    paths = [f"{i:02d}.jpg" for i in range(len(labels))]
    payloads = [
        ImagePayload(label, path, "many", "toy", i) for i, (label, path) in enumerate(zip(labels, paths, strict=True))
    ]
    store.ensure_collection("many_classes", 8)
    store.upsert("many_classes", [point_id("many", p) for p in paths], vectors, payloads=payloads)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    # the test's own waits are JavaScript strings, which the app's CSP (script-src 'self') would refuse
    opened = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    yield opened
    opened.close()


def screen_position(page, layout: dict, i: int) -> tuple[float, float]:
    """Where map.js draws point i, in page coordinates (its own formula, from the canvas's size on screen)."""
    box = page.locator("#map").bounding_box()
    width, height = page.locator("#map").evaluate("canvas => [canvas.width, canvas.height]")
    scale = (min(width, height) - 24) / 10000
    left = 12 + (width - 24 - max(layout["x"]) * scale) / 2
    bottom = height - 12 - (height - 24 - max(layout["y"]) * scale) / 2
    x, y = left + layout["x"][i] * scale, bottom - layout["y"][i] * scale
    return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height


def test_the_map_draws_every_point_hover_shows_a_thumbnail_click_opens_the_neighbours(server, page):
    layout = json.load(urllib.request.urlopen(f"{server}/c/{NAME}/map.json?method=pca"))
    page.goto(f"{server}/c/{NAME}/map?method=pca")
    page.wait_for_selector("#map[data-drawn='12']")
    coloured = page.locator("#map").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"
    )
    assert coloured >= 12 * 4  # every point at least a few pixels
    assert page.inner_text("#map-method") == "12 points · PCA, as asked"
    assert page.locator("#map-legend li").all_inner_texts() == ["blue (4)", "green (4)", "red (4)"]

    i = layout["c"].index(layout["classes"].index("green"))
    x, y = screen_position(page, layout, i)
    near = {  # points drawn within the hover radius of point i (similar images may overlap)
        layout["ids"][j] for j in range(12) if np.hypot(*np.subtract(screen_position(page, layout, j), (x, y))) <= 6
    }
    page.mouse.move(x, y)
    page.wait_for_selector("#map-tip:not([hidden])")
    shown = page.locator("#map-tip").get_attribute("data-id")
    assert shown in near
    assert page.locator("#map-tip img").get_attribute("src").endswith(f"/thumb/{shown}")
    page.wait_for_function("document.querySelector('#map-tip img').naturalWidth > 0")
    assert page.inner_text("#map-tip div") == layout["classes"][layout["c"][layout["ids"].index(shown)]]

    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    assert page.inner_text("#selection h2") == "12 points selected"
    assert page.locator("#selection figure.tile").count() == 12

    page.mouse.click(x, y)
    page.wait_for_url(re.compile(f"/c/{NAME}/p/{shown}$"))
    assert page.locator("#hits figure.tile").count() == 11


def test_a_confusion_cell_opens_its_query_hit_pairs(server, page):
    page.goto(f"{server}/c/shapes_noisy/confusion?k=3")
    assert page.locator("#confusion tr").count() == 4
    cell = page.locator("#confusion td a").first
    share = float(cell.inner_text())
    cell.click()
    page.wait_for_selector("#pairs")
    hits = page.locator("#pairs .pair-hit").count()
    assert hits == round(share * 4 * 3) and hits > 0  # 4 queries in the class, 3 hits each


def test_the_confusion_of_ten_classes_fits_a_1400_px_window_with_full_names_on_hover(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{server}/c/many_classes/confusion")
    assert page.locator("#confusion tr").count() == 11
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400  # no horizontal scroll
    headers = page.locator("#confusion th.hit-class[title]")
    assert [headers.nth(i).get_attribute("title") for i in range(headers.count())] == sorted(MANY_CLASSES)
    page.close()


def test_side_by_side_from_the_neighbours_page_has_two_columns_each_with_its_ap(server, page):
    page.goto(f"{server}/c/{NAME}/p/{point_id('shapes', 'red/01.jpg')}")
    page.click("#compare-with a:has-text('shapes_noisy')")
    page.wait_for_selector("#columns")
    columns = page.locator("#columns section.column")
    assert columns.count() == 2
    assert [columns.nth(i).get_attribute("data-collection") for i in range(2)] == [NAME, "shapes_noisy"]
    for i in range(2):
        assert re.fullmatch(r"AP \d\.\d{4} \(full record\)", columns.nth(i).locator(".column-ap").inner_text())
        assert columns.nth(i).locator("figure.tile").count() == 11


def test_the_grid_sorts_by_recorded_ap_worst_first(server, page):
    page.goto(f"{server}/c/shapes_noisy")
    page.select_option("#sort", "ap")
    page.click("#grid-form button")
    page.wait_for_url(re.compile("sort=ap"))
    captions = page.locator("#grid figcaption").all_inner_texts()
    aps = [float(re.match(r"AP ([\d.]+)", caption).group(1)) for caption in captions]
    assert len(aps) == 12 and aps == sorted(aps) and aps[0] < aps[-1]


def test_the_keyboard_moves_opens_goes_back_and_focuses_the_search_box(server, page):
    start = f"{server}/c/{NAME}/p/{point_id('shapes', 'blue/00.jpg')}"
    page.goto(start)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    second = page.locator("#hits figure.tile").nth(1)
    assert "current" in second.get_attribute("class")
    target = second.locator("a").get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(server + target if target.startswith("/") else target)
    page.keyboard.press("Escape")
    page.wait_for_url(start)
    page.goto(f"{server}/c/{NAME}")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"


def test_an_upload_is_a_get_url_that_reloads_and_the_label_filter_says_when_nothing_matched(server, page, tmp_path):
    upload = tmp_path / "query.png"
    make_image(CLASS_COLOURS["green"], seed=777).save(upload)
    page.goto(f"{server}/c/{NAME}/query")
    page.set_input_files("input[name=file]", str(upload))
    page.click("#upload-form button")
    page.wait_for_selector("#hits")
    assert re.search(r"/upload/[0-9a-f]{64}\?k=12", page.url)
    first = page.locator("#hits figure.tile").evaluate_all("tiles => tiles.map(t => t.dataset.label)")
    page.reload()
    page.wait_for_selector("#hits")
    assert page.locator("#hits figure.tile").evaluate_all("tiles => tiles.map(t => t.dataset.label)") == first
    assert first[:4] == ["green"] * 4
    assert "uploaded image query.png" in page.inner_text("#query")

    page.goto(f"{server}/c/{NAME}")
    page.fill("#search", "Sunflower")
    page.press("#search", "Enter")
    page.wait_for_selector("#no-match")
    assert "No point is labelled “Sunflower”" in page.inner_text("#no-match")
    page.fill("#search", "GREEN")
    page.press("#search", "Enter")
    page.wait_for_url(re.compile("label=GREEN"))
    assert page.locator("#grid figure.tile").count() == 4


def test_more_like_two_ticked_points_shows_them_and_the_hits_the_cli_gives(server, page, tmp_path):
    ticked = [point_id("shapes", path) for path in ("red/00.jpg", "green/01.jpg")]
    page.goto(f"{server}/c/{NAME}")
    for pid in ticked:
        page.check(f"#grid input[name=pick][value='{pid}']")
    page.click("#more-like")
    page.wait_for_selector("#like-examples")
    shown = page.locator("#like-examples figure.tile a").evaluate_all("links => links.map(a => a.pathname)")
    assert shown == [f"/c/{NAME}/p/{pid}" for pid in ticked]
    page.fill("#k-form input[name=k]", "4")
    page.click("#k-form button")
    page.wait_for_url(re.compile("k=4"))
    hits = page.locator("#hits figure.tile a").evaluate_all("links => links.map(a => a.pathname.split('/').pop())")

    page.goto(f"{server}/c/{NAME}/map?method=pca")  # the map's box: every point, less like them all
    page.wait_for_selector("#map[data-drawn='12']")
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    page.click("#less-like")
    page.wait_for_selector("#unlike-examples")
    assert page.locator("#unlike-examples figure.tile").count() == 12 and page.locator("#hits figure").count() == 0

    write_list_dataset(tmp_path / "data" / "Shapes")  # the same collection, built the same way, for the CLI
    store = open_store(path=tmp_path / "qdrant")
    try:
        dataset = read_dataset(discover(tmp_path / "data")["shapes"], "shapes")
        ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))
        args = ["search", "-c", NAME, "--like", ticked[0], "--like", ticked[1], "-k", "4", "--format", "json"]
        printed = CliRunner().invoke(cli.cli, args, obj=Context(handed=store))
    finally:
        store.close()
    assert hits == [hit["id"] for hit in json.loads(printed.output)["hits"]] and not set(hits) & set(ticked)


def test_the_map_draws_a_pca_preview_at_once_and_swaps_to_umap_when_the_server_has_it(server, page, tmp_path_factory):
    """Last in the module: the server's UMAP worker (tested in test_web_explore_map.py) is started here and stops
    with the server; the UMAP layout the page swaps to is put in the server's cache by the test, so no UMAP is
    awaited."""
    from web.layout import umap_available

    if not umap_available():
        pytest.skip("umap-learn is not installed: the map stays on PCA")
    page.goto(f"{server}/c/{NAME}/map")
    page.wait_for_selector("#map[data-drawn='12'][data-method='pca'][data-pending='true']")
    assert page.inner_text("#map-method").startswith("12 points · PCA preview; the UMAP layout is being computed")
    busy = {"answered": 0}  # the next poll meets serve yielding the collection: a 503 busy answer

    def yielded(route) -> None:
        busy["answered"] += 1
        route.fulfill(status=503, headers={"Retry-After": "1"}, body="busy")

    page.route(re.compile(r"/map\.json"), yielded, times=1)
    page.wait_for_selector("#map[data-busy='true'][data-drawn='12'][data-method='pca']")  # the preview stays
    assert busy["answered"] == 1 and page.inner_text("#map-method").endswith(
        "busy: another process uses the collection; asking again in a moment"
    )
    preview = json.load(urllib.request.urlopen(f"{server}/c/{NAME}/map.json"))
    (cached,) = (  # the server's own cache (another test's folder may hold the same content's layout)
        found
        for found in tmp_path_factory.getbasetemp().rglob(f"{preview['key']}-pca.json")
        if "explore-browser" in str(found)
    )
    layout = {key: value for key, value in preview.items() if key not in ("note", "pending")}
    cached.with_name(f"{preview['key']}-umap.json").write_text(
        json.dumps({**layout, "method": "umap", "x": preview["y"], "y": preview["x"]})
    )
    page.wait_for_selector("#map[data-method='umap'][data-pending='false']")  # the page polls, then redraws
    assert page.inner_text("#map-method").startswith("12 points · UMAP layout")
    assert page.locator("#map-legend li").all_inner_texts() == ["blue (4)", "green (4)", "red (4)"]
