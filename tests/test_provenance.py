"""Collections that describe themselves, through the CLI on the embedded store: provenance, content
hashes, weights never mixed, images found from the collection, reports of one store, all-bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import cli
from errors import DatasetError, EvaluationError, QueryError, StoreError
from media.sheets import HEADING_HEIGHT, PAD, PLACEHOLDER, TILE, TITLE_HEIGHT
from store import open_store, point_id
from tests.conftest import CLASS_COLOURS, make_image, write_list_dataset


def run(storage: Path, *args: str, reports: Path | None = None):
    """One CLI command on the embedded store in `storage` (opened and closed by the command)."""
    options = ["--storage", str(storage), "--reports", str(reports or storage.parent / "reports")]
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli.cli, [*options, *args], catch_exceptions=False)


def ingest(storage: Path, data_root: Path, *args: str):
    return run(storage, "ingest", "--data-root", str(data_root), "--workers", "0", *args)


def test_provenance_is_written_and_shown(data_root, tmp_path):
    storage = tmp_path / "q"
    assert ingest(storage, data_root, "-e", "colorhist", "-e", "clip", "--init", "random-tiny").exit_code == 0
    listing = run(storage, "collections", "--format", "json")
    records = {record["name"]: record for record in json.loads(listing.stdout)}
    clip, colorhist = records["shapes_clip"], records["shapes_colorhist"]
    assert clip["provenance"]["image_root"] == str((data_root / "Shapes" / "images").resolve())
    assert clip["provenance"]["weights"] == {"kind": "random-tiny", "value": None, "seed": 0}
    assert clip["random_weights"] is True and clip["weights"] == "random weights (random-tiny, seed 0)"
    assert clip["provenance"]["model_id"] == "openai/clip-vit-base-patch32" and clip["provenance"]["dim"] == 16
    assert {"project", "python", "torch", "qdrant-client"} <= clip["provenance"]["versions"].keys()
    assert colorhist["random_weights"] is False and colorhist["weights"] == "no weights"
    shown = run(storage, "collections", "show", "shapes_clip").stdout
    assert "weights: random weights (random-tiny, seed 0)" in shown
    assert "image root: " in shown
    assert "model: none loaded: clip's architecture with random weights (not openai/clip-vit-base-patch32)" in shown
    table = run(storage, "collections").stdout
    assert "random weights" in table and "no weights" in table


def _vectors(storage: Path, collection: str) -> dict[str, np.ndarray]:
    store = open_store(path=storage)
    try:
        points = store.points(collection, with_vectors=True)
    finally:
        store.close()
    return {payload.path: vector for payload, vector in zip(points.payloads, points.vectors, strict=True)}


def test_a_changed_file_is_embedded_again_and_identical_files_are_reported(data_root, tmp_path):
    storage, images = tmp_path / "q", data_root / "Shapes" / "images"
    assert ingest(storage, data_root, "-e", "colorhist").exit_code == 0
    before = _vectors(storage, "shapes_colorhist")
    shutil.copyfile(images / "blue" / "00.jpg", images / "red" / "00.jpg")  # new content at the same path
    rerun = ingest(storage, data_root, "-e", "colorhist", "--format", "json")
    [report] = json.loads(rerun.stdout)
    assert (report["changed"], report["written"], report["already_stored"]) == (1, 1, 11)
    assert report["identical"] == [["blue/00.jpg", "red/00.jpg"]]
    after = _vectors(storage, "shapes_colorhist")
    np.testing.assert_array_equal(after["red/00.jpg"], before["blue/00.jpg"])  # same content, same vector
    assert all(np.array_equal(after[path], before[path]) for path in before if path != "red/00.jpg")
    (images / "green" / "01.jpg").touch()  # a newer time, the same content: nothing to embed
    [again] = json.loads(ingest(storage, data_root, "-e", "colorhist", "--format", "json").stdout)
    assert (again["changed"], again["written"]) == (0, 0)
    evaluated = json.loads(run(storage, "eval", "-c", "shapes_colorhist", "--format", "json").stdout)
    assert evaluated["identical_images"] == [["blue/00.jpg", "red/00.jpg"]]


def test_weights_are_never_mixed(data_root, tmp_path):
    storage = tmp_path / "q"
    assert ingest(storage, data_root, "-e", "clip", "--init", "random-tiny").exit_code == 0
    with pytest.raises(
        StoreError, match=r"random-tiny.*but this run uses random weights \(random, seed 0\).*--recreate"
    ):
        ingest(storage, data_root, "-e", "clip", "--init", "random")
    image = str(data_root / "Shapes" / "images" / "red" / "00.jpg")
    with pytest.raises(QueryError, match="made with random weights \\(random-tiny.*--init/--weights"):
        run(storage, "search", "-c", "shapes_clip", "--image", image, "--init", "random", "--device", "cpu")
    same = run(storage, "search", "-c", "shapes_clip", "--image", image, "--init", "random-tiny", "--device", "cpu")
    assert same.exit_code == 0 and "random weights" in same.stdout
    assert ingest(storage, data_root, "-e", "clip", "--init", "random", "--recreate").exit_code == 0


def _query_tile_colour(gallery: Path) -> tuple[int, int, int]:
    with Image.open(gallery) as sheet:
        return sheet.convert("RGB").getpixel((PAD + TILE // 2, TITLE_HEIGHT + HEADING_HEIGHT + PAD + TILE // 2))


def test_galleries_of_two_data_roots_come_from_each_collections_own_images(tmp_path):
    storage, reports = tmp_path / "q", tmp_path / "reports"
    write_list_dataset(tmp_path / "first" / "Shapes")
    other = tmp_path / "second" / "Tints"
    for label, colour in CLASS_COLOURS.items():
        (other / label).mkdir(parents=True)
        for i in range(3):
            make_image(colour, 500 + i).save(other / label / f"{i}.png")
    assert ingest(storage, tmp_path / "first", "-e", "colorhist").exit_code == 0
    assert ingest(storage, tmp_path / "second", "-e", "colorhist").exit_code == 0
    evaluated = run(storage, "eval", reports=reports)  # no --data-root: each collection knows its folder
    assert evaluated.exit_code == 0 and "not drawn" not in evaluated.stderr
    for collection in ("shapes_colorhist", "tints_colorhist"):
        assert _query_tile_colour(reports / collection / "best.png") != PLACEHOLDER
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "second", moved)
    again = run(storage, "eval", "-c", "tints_colorhist", reports=reports)
    assert "not drawn" in again.stderr and "--data-root" in again.stderr
    assert _query_tile_colour(reports / "tints_colorhist" / "best.png") != PLACEHOLDER  # the earlier one is kept
    image = str(moved / "Tints" / "red" / "0.png")
    with pytest.raises(QueryError, match="images of 'tints_colorhist' are not in .*pass --data-root"):
        run(storage, "search", "-c", "tints_colorhist", "--image", image, "--gallery", str(tmp_path / "g.png"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(QueryError, match=f"not in {re.escape(str(other))} .*, nor under {re.escape(str(elsewhere))}"):
        run(
            storage,
            "search",
            "-c",
            "tints_colorhist",
            "--image",
            image,
            "--data-root",
            str(elsewhere),
            "--gallery",
            str(tmp_path / "g.png"),
        )
    # the recorded folder first, --data-root the fallback: a data root without the images changes nothing
    shown = run(
        storage,
        "search",
        "-c",
        "shapes_colorhist",
        "--path",
        "red/00.jpg",
        "--data-root",
        str(elsewhere),
        "--gallery",
        str(tmp_path / "shapes.png"),
    )
    assert shown.exit_code == 0 and (tmp_path / "shapes.png").is_file()
    drawn = run(storage, "eval", "-c", "shapes_colorhist", "--data-root", str(elsewhere), reports=tmp_path / "r2")
    assert "not drawn" not in drawn.stderr and (tmp_path / "r2" / "shapes_colorhist" / "best.png").is_file()
    found = run(storage, "search", "-c", "tints_colorhist", "--image", image, "--data-root", str(moved), "-k", "2")
    assert found.exit_code == 0


def test_the_report_shows_this_stores_collections_with_map_and_map_at_k(data_root, tmp_path, monkeypatch):
    storage, reports = tmp_path / "q", tmp_path / "reports"
    assert ingest(storage, data_root, "-e", "colorhist", "-e", "clip", "--init", "random-tiny").exit_code == 0
    monkeypatch.setattr("sys.argv", ["cli.py", "--storage", str(storage), "eval", "--api-key", "SECRET"])
    assert run(storage, "eval", reports=reports).exit_code == 0
    page = (reports / "index.html").read_text()
    assert f"python cli.py --storage {storage} eval --api-key ***" in page and "SECRET" not in page
    assert run(storage, "eval", "-c", "shapes_colorhist", "--k", "3", reports=reports).exit_code == 0
    page = (reports / "index.html").read_text()
    assert str(storage.resolve()) in page
    full = json.loads((reports / "shapes_colorhist" / "runs" / "full.json").read_text())
    cut = json.loads((reports / "shapes_colorhist" / "runs" / "at3.json").read_text())
    assert re.search(rf"<tr><th>colorhist</th><td><a [^>]*>{full['map']:.4f} \[", page)  # the full run's row
    assert re.search(rf"<tr><th>colorhist @3</th><td><a [^>]*>mAP@3 {cut['map']:.4f} \[", page)  # its own row
    assert 'shapes_clip (mAP; variant: full) <span class="random">(random weights: not a result)</span>' in page
    other = tmp_path / "other_store"
    assert ingest(other, data_root, "-e", "colorhist").exit_code == 0
    assert run(storage, "collections", "drop", "shapes_clip", "--yes").exit_code == 0
    assert run(storage, "eval", "-c", "shapes_colorhist", reports=reports).exit_code == 0
    page = (reports / "index.html").read_text()
    assert "shapes_clip" not in page  # dropped: gone from the next report
    assert run(other, "eval", reports=reports).exit_code == 0
    page = (reports / "index.html").read_text()
    assert f"embedded:{other.resolve()}" in page and f"embedded:{storage.resolve()}" not in page  # one store


def test_a_dataset_whose_every_image_fails_leaves_no_collection(tmp_path):
    storage, broken = tmp_path / "q", tmp_path / "data" / "broken"
    for label in ("a", "b"):
        (broken / label).mkdir(parents=True)
        (broken / label / "x.jpg").write_bytes(b"not a picture")
    with pytest.raises(DatasetError, match="none of the 2 listed images of 'broken' could be stored"):
        ingest(storage, tmp_path / "data", "-e", "colorhist")
    store = open_store(path=storage)
    try:
        assert store.collection_names() == []
    finally:
        store.close()


def test_a_collection_of_the_previous_release_still_lists_evaluates_and_searches(tmp_path):
    from qdrant_client import QdrantClient, models

    storage = tmp_path / "q"
    older = QdrantClient(path=str(storage))  # the previous release: no metadata, payloads without file facts
    older.create_collection(
        "old_colorhist", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    vectors = np.eye(4)[[0, 0, 1, 1]] + 0.01 * np.arange(16).reshape(4, 4)
    payloads = [
        {"label": label, "path": f"{label}/{i}.jpg", "dataset": "old", "encoder": "colorhist", "index": i}
        for i, label in enumerate("aabb")
    ]
    ids = [point_id("old", payload["path"]) for payload in payloads]
    older.upsert("old_colorhist", models.Batch(ids=ids, vectors=vectors.tolist(), payloads=payloads))
    older.close()
    assert "provenance unknown" in run(storage, "collections").stdout
    evaluated = json.loads(run(storage, "eval", "-c", "old_colorhist", "--format", "json").stdout)
    assert evaluated["weights"] == "provenance unknown" and evaluated["map"] == pytest.approx(1.0)
    found = run(storage, "search", "-c", "old_colorhist", "--path", "a/0.jpg", "-k", "1", "--format", "json")
    assert json.loads(found.stdout)["hits"][0]["path"] == "a/1.jpg"


def test_eval_refuses_stale_points_until_ingest_prunes_them(data_root, tmp_path):
    storage = tmp_path / "q"
    assert ingest(storage, data_root, "-e", "colorhist").exit_code == 0
    listing = data_root / "Shapes" / "list_of_images.txt"
    lines = listing.read_text().splitlines()
    listing.write_text("\n".join(line for line in lines if not line.startswith("blue/")) + "\n")  # a class goes
    [kept] = json.loads(ingest(storage, data_root, "-e", "colorhist", "--format", "json").stdout)
    assert (kept["not_in_dataset"], kept["pruned"]) == (4, 0)
    with pytest.raises(EvaluationError, match=r"holds 4 point\(s\) of images no longer listed.*--prune"):
        run(storage, "eval", "-c", "shapes_colorhist")
    [pruned] = json.loads(ingest(storage, data_root, "-e", "colorhist", "--prune", "--format", "json").stdout)
    assert (pruned["not_in_dataset"], pruned["pruned"]) == (4, 4)
    evaluated = json.loads(run(storage, "eval", "-c", "shapes_colorhist", "--format", "json").stdout)
    assert evaluated["points"] == 8 and "blue" not in evaluated["per_class_ap"]
