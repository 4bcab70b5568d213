"""The web app's pages through FastAPI's test client (tests/web_fixtures.py's site): collections, a collection,
neighbours, the drill-down, the evaluation pages and their charts, uploads, thumbnails. Expected rankings come
from numpy and scikit-learn on the stored vectors."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import average_precision_score

from evaluation.metrics import comparisons
from presentation.environment import environment
from tests.web_fixtures import (
    built_fixture,  # noqa: F401 (pytest finds `built` here)
    shapes_id,
    tile_ids,
)
from web.templating import templates


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


def test_the_static_report_environment_has_none_of_the_apps_globals(client):
    assert "url_for" in templates.env.globals and "url_for" not in environment.globals


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
