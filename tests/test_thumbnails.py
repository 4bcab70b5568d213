"""Thumbnails follow content: a replaced image, ingested again, gets a new thumbnail and a new ETag."""

from __future__ import annotations

from fastapi.testclient import TestClient

from encoders import build_encoder
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import point_id
from tests.conftest import make_image, write_list_dataset


def test_a_replaced_image_ingested_again_gets_a_new_thumbnail_and_etag(store, tmp_path):
    from web import create_app
    from web.backend import Options

    write_list_dataset(tmp_path / "data" / "Shapes")
    encoder = build_encoder("colorhist", "cpu")

    def ingest() -> None:
        dataset = read_dataset(discover(tmp_path / "data")["shapes"], "shapes")
        ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0))

    ingest()
    client = TestClient(create_app(lambda: store, Options(tmp_path / "data", tmp_path / "reports", "cpu")))
    url = f"/c/shapes_colorhist/thumb/{point_id('shapes', 'red/00.jpg')}"
    before = client.get(url)
    assert before.status_code == 200
    assert client.get(url, headers={"If-None-Match": before.headers["etag"]}).status_code == 304
    make_image((20, 20, 230), seed=11).save(tmp_path / "data" / "Shapes" / "images" / "red" / "00.jpg")
    ingest()  # the content changed: re-embedded, and its payload records the new hash
    after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content
