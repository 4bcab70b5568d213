"""What the web app's tests share: the site they serve (built once a session, tests/conftest.py's
`web_site`), hostile names, and readers of the pages' tiles and error messages."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest

from encoders import build_encoder
from evaluation import EvalOptions, evaluate_collections
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import ImagePayload, open_store, point_id
from tests.conftest import make_image, write_list_dataset

HOSTILE = "<script>alert('x')</script>&\""
ESCAPE_PATHS = ["../secret.jpg", "/ABSOLUTE", "red/link.jpg"]  # /ABSOLUTE is replaced by the secret's absolute path


def build_web_site(tmp: Path) -> Path:
    """data/Shapes with shapes_colorhist (evaluated), a secret JPEG outside the image root with a symlink to it
    inside, and hostile_colorhist: three good points, one with a hostile label and path, three leaving the root."""
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


@pytest.fixture(scope="module", name="built")
def built_fixture(web_site: Path) -> Path:
    """`built`: the session's site, for tests/conftest.py's `opened` and `client` (a test file imports this)."""
    return web_site


def shapes_id(path: str) -> str:
    """The id of a Shapes image, the same in every collection of the dataset."""
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
