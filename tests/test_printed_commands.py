"""Every command the tool prints, pasted as printed (shlex-split, run in this process on the same store):
the export's `import`, the tune page's `tune` and tune's `collections reindex` (the CLI, tune.json and the
/c/<name>/tune page), and eval's note on identical images naming the record that lists them."""

from __future__ import annotations

import html
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from commands.context import Context
from encoders import build_encoder
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import VectorStore, open_store
from tests.conftest import write_list_dataset

NAME = "shapes_colorhist"


def invoke(store: VectorStore, argv: list[str]):
    """The CLI in this process, handed the open store, its output not wrapped."""
    result = CliRunner(env={"COLUMNS": "100"}).invoke(cli.cli, argv, obj=Context(handed=store))
    assert result.exit_code == 0, (argv, result.output, result.exception)
    return result


def paste(line: str, store: VectorStore):
    """A printed command line, as a user pastes it: `python cli.py ARGS`."""
    argv = shlex.split(line)
    assert argv[:2] == ["python", "cli.py"], line
    return invoke(store, argv[2:])


@pytest.fixture
def shapes(data_root: Path, store: VectorStore) -> VectorStore:
    """shapes_colorhist (3 classes x 20 images, red/00.jpg a copy of blue/00.jpg) in the open embedded store:
    enough points for Edge to build a graph, so tune measures one at once."""
    shutil.rmtree(data_root / "Shapes")
    images = write_list_dataset(data_root / "Shapes", per_class=20) / "images"
    shutil.copyfile(images / "blue" / "00.jpg", images / "red" / "00.jpg")
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    ingest_dataset(dataset, build_encoder("colorhist"), store, options=IngestOptions(workers=0))
    return store


def test_the_exports_import_reads_the_collection_back_when_pasted(shapes, tmp_path):
    vectors, listing = tmp_path / "out dir" / "e.npy", tmp_path / "out dir" / "e.txt"
    exported = invoke(shapes, ["collections", "export", NAME, "--vectors", str(vectors), "--list", str(listing)])
    [command] = re.findall(r"read back with `([^`]+)`", exported.stdout)
    fresh = open_store(path=tmp_path / "fresh")
    try:
        paste(command, fresh)
        back, original = fresh.points(NAME, with_vectors=True), shapes.points(NAME, with_vectors=True)
        assert back.paths == original.paths and back.labels == original.labels
        np.testing.assert_allclose(back.vectors, original.vectors, atol=1e-6)
        assert fresh.provenance(NAME).image_root == shapes.provenance(NAME).image_root
    finally:
        fresh.close()
    assert (
        json.loads(
            invoke(
                shapes,
                ["collections", "export", NAME, "--vectors", str(vectors), "--list", str(listing), "--format", "json"],
            ).stdout
        )["import_command"]
        == command
    )


def test_tunes_reindex_applies_the_recommended_setting_when_pasted_from_the_cli_record_and_page(
    shapes, data_root, tmp_path, monkeypatch
):
    from fastapi.testclient import TestClient

    from store.types import Quantization
    from tune import settings_grid
    from tune.settings_grid import Build, TuneSetting
    from web import create_app
    from web.backend import Options

    monkeypatch.chdir(tmp_path)  # the pasted commands write ./reports, as a user's would
    reports = tmp_path / "reports"
    two = [TuneSetting(Build(8, 32), 16), TuneSetting(Build(8, 32, Quantization.INT8), 16, True, 2)]
    monkeypatch.setitem(settings_grid.GRIDS, "small", lambda: two)  # two builds keep it short
    client = TestClient(create_app(lambda: shapes, Options(data_root, reports, "cpu")))
    untuned = client.get(f"/c/{NAME}/tune").text
    [tune] = re.findall(r'<p id="no-tune">.*?<code>(.*?)</code>', untuned)
    printed = paste(html.unescape(tune), shapes).stdout
    from_cli = [line.strip() for line in printed.splitlines() if line.strip().startswith("python cli.py")]
    record = json.loads((reports / NAME / "tune.json").read_text())
    [block] = re.findall(r'<pre id="apply">(.*?)</pre>', client.get(f"/c/{NAME}/tune").text, re.S)
    from_page = [line for line in html.unescape(block).splitlines() if line]
    assert from_cli == record["apply"] == from_page and len(from_cli) == 1
    assert "collections reindex" in from_cli[0]
    before = shapes.points(NAME, with_vectors=True)
    for command in from_cli + record["apply"] + from_page:
        paste(command, shapes)
    setting = record["settings"][record["recommended"]["index"]]["setting"]
    settings = shapes.settings(NAME)
    assert (settings.hnsw_m, settings.hnsw_ef_construct, settings.quantization, settings.hnsw_ef) == (
        setting["hnsw_m"],
        setting["hnsw_ef_construct"],
        setting["quantization"],
        setting["hnsw_ef"],
    )
    after = shapes.points(NAME, with_vectors=True)
    assert after.ids == before.ids and np.array_equal(after.vectors, before.vectors)


def test_evals_note_on_identical_images_names_the_record_that_lists_them(shapes, tmp_path):
    evaluated = invoke(shapes, ["--reports", str(tmp_path / "reports"), "eval", "-c", NAME])
    [record] = re.findall(r"listed as identical_images in (\S+?)\)", evaluated.stderr)
    assert json.loads(Path(record).read_text())["identical_images"] == [["blue/00.jpg", "red/00.jpg"]]
    [show] = re.findall(r"^full table: (.+)$", evaluated.stdout, re.MULTILINE)
    assert f"collections show {NAME} --storage" in show
    shown = paste(show, shapes).stdout
    table = json.loads(Path(record).read_text())["score_precision"]
    assert "precision of the hits at or above a score" in shown
    assert all(f"{row['score']:.4f}" in shown for row in table["rows"])  # the whole table, from that record
