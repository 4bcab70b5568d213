"""The tune page: `tune` run through the CLI on a small imported collection, then the page read back through
FastAPI's test client against tune.json read here with json (every setting's figures, the frontier and the
recommended row marked, the commands), the figure served as it is on disk, the message where no record is,
and names with path characters refused."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import cli
from store import open_store
from tune.findings import read_tune

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from eval_scale import Points  # noqa: E402
from tune_synthetic import write_set  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")
CELLS = ("mark", "label", "recall", "map", "p50", "p95", "memory", "vectors", "index", "quantized", "build", "indexed")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """syn_rand (300 points, tuned on 50 queries) and plain_rand (imported, never tuned)."""
    tmp = tmp_path_factory.mktemp("tune")
    base = ["--storage", str(tmp / "q"), "--reports", str(tmp / "reports")]
    runner = CliRunner(env={"COLUMNS": "200"})
    for dataset, seed in (("syn", 0), ("plain", 1)):
        vectors, listing = write_set(tmp / dataset, Points(300 if dataset == "syn" else 40, 32, 5), seed=seed)
        arguments = ["import", "--vectors", str(vectors), "--list", str(listing), "-d", dataset, "-e", "rand"]
        done = runner.invoke(cli.cli, [*base, *arguments])
        assert done.exit_code == 0, done.output
    done = runner.invoke(cli.cli, [*base, "tune", "-c", "syn_rand", "--sample", "50"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return tmp


@pytest.fixture(scope="module")
def client(built: Path):
    from web import create_app
    from web.backend import Options

    store = open_store(path=built / "q")
    yield TestClient(create_app(lambda: store, Options(built / "data", built / "reports", "cpu")))
    store.close()


def record(built: Path) -> dict:
    return json.loads((built / "reports" / "syn_rand" / "tune.json").read_text())


def table_rows(page: str) -> list[tuple[str, dict[str, str]]]:
    """Each row of the tune table: its class and its cells by class, unescaped."""
    rows = []
    for classes, body in re.findall(r'<tr class="([^"]*)">(.*?)</tr>', page, re.S):
        cells = dict(re.findall(r'<td class="(\w+)"[^>]*>(.*?)</td>', body, re.S))
        rows.append((classes, {key: html.unescape(value) for key, value in cells.items()}))
    return rows


def expected_cells(row: dict, points: int) -> dict[str, str]:
    memory = row["memory_bytes_per_point"]
    return {
        "label": row["label"],
        "recall": f"{row['recall']:.4f}",
        "map": "n/a" if row["map_k"] is None else f"{row['map_k']:.4f}",
        "p50": f"{row['latency_ms']['p50']:.3f}",
        "p95": f"{row['latency_ms']['p95']:.3f}",
        "memory": f"{memory['ram']:.0f}",
        "vectors": f"{memory['vectors']:.0f}",
        "index": f"{memory['index']:.0f}",
        "quantized": f"{memory['quantized']:.0f}",
        "build": "-" if row["build_s"] is None else f"{row['build_s']:.1f}",
        "indexed": "-" if row["setting"] is None else f"{row['indexed']}/{points}",
    }


def test_the_page_shows_every_setting_as_recorded_and_marks_the_recommended_one(client, built):
    recorded = record(built)
    response = client.get("/c/syn_rand/tune")
    assert response.status_code == 200
    rows = table_rows(response.text)
    assert len(rows) == 1 + len(recorded["settings"]) > 2
    (exact_class, exact), *settings = rows
    assert exact_class.split()[0] == "exact"
    assert {key: exact[key] for key in CELLS[1:]} == expected_cells(recorded["exact"], recorded["points"])
    chosen = recorded["recommended"]["index"]
    for i, ((classes, cells), row) in enumerate(zip(settings, recorded["settings"], strict=True)):
        assert {key: cells[key] for key in CELLS[1:]} == expected_cells(row, recorded["points"])
        assert ("recommended" in classes.split()) == (i == chosen)
        assert ("frontier" in classes.split()) == row["frontier"]
        assert cells["mark"] == ("R" if i == chosen else "*" if row["frontier"] else "")
    assert recorded["settings"][chosen]["label"] == recorded["recommended"]["label"]
    text = html.unescape(response.text)
    assert recorded["recommended"]["why"] in text
    assert all(command in text for command in recorded["apply"]) and recorded["apply"]
    assert 'src="/c/syn_rand/tune.png"' in response.text


def test_the_reader_gives_back_the_record_it_read(built):
    recorded = record(built)
    read = read_tune(built / "reports", "syn_rand").to_json()
    recorded.pop("weights"), read.pop("weights")  # the record keeps the weights' description, not the provenance
    assert read == recorded
    assert read_tune(built / "reports", "plain_rand") is None


def test_the_frontier_figure_is_the_file_on_disk(client, built):
    response = client.get("/c/syn_rand/tune.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == (built / "reports" / "syn_rand" / "tune.png").read_bytes()
    assert response.content[:4] == b"\x89PNG"
    assert client.get("/c/plain_rand/tune.png").status_code == 404


def test_the_collection_page_links_to_the_tune_page_only_when_there_is_a_record(client):
    assert 'href="/c/syn_rand/tune"' in client.get("/c/syn_rand").text
    assert "/tune" not in client.get("/c/plain_rand").text


def test_a_collection_without_a_record_says_how_to_make_one(client):
    response = client.get("/c/plain_rand/tune")
    assert response.status_code == 200
    assert "python cli.py tune -c plain_rand" in response.text and 'id="tune"' not in response.text


@pytest.mark.parametrize("text", ['{"kind": "tune"}', "[]", "{not json", '{"kind": "leave-one-out"}'])
def test_a_malformed_record_is_a_page_naming_the_file(client, built, text):
    folder = built / "reports" / "plain_rand"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tune.json").write_text(text)
    try:
        response = client.get("/c/plain_rand/tune")
    finally:
        (folder / "tune.json").unlink()
    assert response.status_code == 400
    assert "tune.json" in response.text and "python cli.py tune -c plain_rand" in response.text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/c/..%5c..%5creports%5csyn_rand/tune", 400),
        ("/c/%2e%2e/tune.png", 400),
        ("/c/syn_rand%5c..%5csyn_rand/tune.png", 400),
        ("/c/..%2f..%2freports%2fsyn_rand/tune.png", 404),
        ("/c/no_such/tune", 404),
    ],
)
def test_names_with_path_characters_are_refused(client, built, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.content != (built / "reports" / "syn_rand" / "tune.png").read_bytes()
    assert "recall@" not in response.text
