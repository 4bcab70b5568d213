"""The web app's duplicates page on tests/web_fixtures.py's hostile collection."""

from __future__ import annotations

from tests.web_fixtures import built_fixture  # noqa: F401 (pytest finds `built` here)


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
