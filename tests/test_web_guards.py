"""The web app's guards (tests/web_fixtures.py's site): every error as a page naming the problem, refused
uploads, hostile labels and paths escaped, links free of the Host header, no escape from the image root."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from store import point_id
from tests.web_fixtures import (
    ESCAPE_PATHS,
    HOSTILE,
    built_fixture,  # noqa: F401 (pytest finds `built` here)
    error_text,
    shapes_id,
    tile_ids,
)


def test_evaluation_links_are_paths_whatever_the_host_header(client):
    """/eval and a record's page link by path only: a hostile Host header is in no link (README: relative URLs)."""
    for url in ("/eval", "/eval/shapes_colorhist", f"/eval/shapes_colorhist/q/{shapes_id('red/00.jpg')}"):
        page = client.get(url, headers={"host": "evil.example"}).text
        links = re.findall(r'(?:href|src)="([^"]*)"', page)
        assert links and "evil.example" not in page, url
        assert all(link.startswith(("/", "#", "?")) and not link.startswith("//") for link in links), url
    assert 'href="/eval/shapes_colorhist"' in client.get("/eval").text


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
