"""The random-weights mark and the relevance frames (tests/explore_fixtures.py's site): on every page's title,
and the same in the static report as on the web pages."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from evaluation import read_records
from tests.explore_fixtures import built_fixture  # noqa: F401 (pytest finds `built` here)
from tests.web_fixtures import shapes_id


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
