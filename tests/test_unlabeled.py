"""Folders of images without labels: a flat folder and a nested library read, stored with no label, searched,
exported and imported, refused by eval in one line, and shown by the web app without labels. Expected hits come
from numpy on the stored vectors."""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from errors import DatasetError
from ingest import discover, read_dataset
from ingest.reading.layouts import Layout
from store import open_store, point_id
from store.transfer import copy_collection
from tests.conftest import ROOT, make_image, run_cli

LIBRARY = ["2023/holiday/0.png", "2023/holiday/1.png", "2023/party/0.png", "2024/trip/day1/0.png"]
INGEST = ("--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0")


def _write(folder: Path, paths: list[str], colours: list[tuple[int, int, int]]) -> None:
    for seed, (path, colour) in enumerate(zip(paths, colours, strict=True)):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        make_image(colour, seed, size=(32, 24)).save(folder / path)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """data/flat (three images in it), data/library (nested up to three folders down) and data/tints (two
    class folders), ingested with colorhist by the command line; the ingest's stderr in `ingest.txt`."""
    tmp = tmp_path_factory.mktemp("unlabeled")
    greens = [(40, 180, 60), (50, 170, 70), (200, 40, 40), (40, 60, 200)]
    _write(tmp / "data" / "flat", ["a.png", "b.png", "c.png"], greens[:3])
    _write(tmp / "data" / "library", LIBRARY, greens)
    _write(
        tmp / "data" / "tints",
        ["red/0.png", "red/1.png", "blue/0.png", "blue/1.png"],
        [greens[2]] * 2 + [greens[3]] * 2,
    )
    done = run_cli(*INGEST, cwd=tmp)
    assert done.returncode == 0, done.stderr
    (tmp / "ingest.txt").write_text(done.stderr)
    return tmp


def _read(storage: Path, name: str):
    """The points (with vectors) and provenance of collection `name`, the store closed again before any command
    runs (a collection is held while its store is open)."""
    store = open_store(path=storage)
    try:
        return store.points(name, with_vectors=True), store.provenance(name)
    finally:
        store.close()


def test_a_folder_of_images_reads_without_labels_and_class_folders_only_one_level_down(built):
    data = built / "data"
    assert set(discover(data)) == {"flat", "library", "tints"}
    assert discover(data / "flat") == {"flat": data / "flat"}  # --data-root at an image folder itself
    library = read_dataset(data / "library")
    assert (library.layout, library.labeled, library.classes) == ("images", False, [])
    assert [(item.path, item.label) for item in library.items] == [(path, None) for path in LIBRARY]
    assert read_dataset(data / "tints").classes == ["blue", "red"]  # images exactly one folder down: classes
    asked = read_dataset(data / "library", layout=Layout.CLASSES)
    assert [item.label for item in asked.items] == ["2023", "2023", "2023", "2024"]
    plain = read_dataset(data / "tints", layout=Layout.IMAGES)  # a labeled dataset searched as if unlabeled
    assert [(item.path, item.label) for item in plain.items] == [
        (i.path, None) for i in read_dataset(data / "tints").items
    ]
    with pytest.raises(DatasetError, match="has no class folders .*--layout images"):
        read_dataset(data / "flat", layout=Layout.CLASSES)


def test_ingest_says_how_it_read_each_folder_and_stores_no_label(built):
    printed = (built / "ingest.txt").read_text()
    assert "read 'library' as unlabeled images: 4 file(s) in 3 folder(s); --layout classes reads top" in printed
    assert "read 'flat' as unlabeled images: 3 file(s) in 1 folder(s)\n" in printed
    assert "read 'tints' as 2 class folder(s): 4 file(s) in 2 folder(s); --layout images reads it" in printed
    points, provenance = _read(built / "q", "library_colorhist")
    assert sorted(p.path for p in points.payloads) == LIBRARY and set(points.labels) == {None}
    assert points.ids == [point_id("library", p.path) for p in points.payloads]
    assert provenance.labeled is False and _read(built / "q", "tints_colorhist")[1].labeled is True
    shown = run_cli("--storage", "q", "collections", "show", "library_colorhist", "--format", "json", cwd=built)
    assert {key: json.loads(shown.stdout)[key] for key in ("labeled", "classes")} == {"labeled": False, "classes": {}}
    table = run_cli("--storage", "q", "collections", "show", "library_colorhist", cwd=built).stdout
    assert "no labels: its images were read without labels" in table and "classes" not in table
    listed = run_cli("datasets", "--data-root", "data", "--format", "json", cwd=built)
    layouts = {row["name"]: (row["layout"], row["classes"]) for row in json.loads(listed.stdout)}
    assert layouts == {"flat": ("images", []), "library": ("images", []), "tints": ("classes", ["blue", "red"])}


def test_search_answers_by_stored_point_and_file_and_refuses_a_label_filter(built):
    points, _ = _read(built / "q", "library_colorhist")
    query = points.ids.index(point_id("library", "2023/holiday/0.png"))
    scores = points.vectors @ points.vectors[query]
    scores[query] = -np.inf
    expected = [points.payloads[i].path for i in np.argsort(-scores, kind="stable")[:2]]
    asked = run_cli(
        "--storage", "q", "search", "-c", "library_colorhist", "--path", "2023/holiday/0.png", "-k", "2",
        "--format", "json", cwd=built,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    hits = json.loads(asked.stdout)["hits"]
    assert [hit["path"] for hit in hits] == expected and {hit["label"] for hit in hits} == {None}
    table = run_cli("--storage", "q", "search", "-c", "flat_colorhist", "--image", "data/flat/a.png", cwd=built)
    assert table.returncode == 0 and "a.png" in table.stdout and "label" not in table.stdout
    assert "eval measures" not in table.stdout  # eval refuses a collection without labels
    refused = run_cli("--storage", "q", "search", "-c", "flat_colorhist", "--path", "a.png", "--label", "x", cwd=built)
    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        "error: collection 'flat_colorhist' has no labels (its images were read without labels); "
        "search it without --label"
    )


def test_export_writes_paths_alone_and_import_reads_them_back_unlabeled_and_a_copy_stays_unlabeled(built, tmp_path):
    exported = run_cli(
        "--storage", "q", "collections", "export", "library_colorhist",
        "--vectors", str(tmp_path / "v.npy"), "--list", str(tmp_path / "l.txt"), cwd=built,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "l.txt").read_text().splitlines() == LIBRARY
    command = re.search(r"`(python cli.py import [^`]*)`", exported.stdout).group(1)
    imported = run_cli("--storage", str(tmp_path / "q"), *command.split()[2:], cwd=built)  # as printed, elsewhere
    assert imported.returncode == 0, imported.stderr
    points, provenance = _read(tmp_path / "q", "library_colorhist")
    assert [p.path for p in points.payloads] == LIBRARY and set(points.labels) == {None}
    assert provenance.labeled is False and np.allclose(points.vectors, np.load(tmp_path / "v.npy"))
    source, target = open_store(path=built / "q"), open_store(path=tmp_path / "copy")  # what push runs
    try:
        assert copy_collection(source, "library_colorhist", target) == len(LIBRARY)
        assert target.info("library_colorhist").labeled is False
        assert set(target.points("library_colorhist").labels) == {None}
    finally:
        source.close()
        target.close()


def test_eval_says_in_one_line_that_a_collection_has_no_labels_and_evaluates_the_others(built):
    both = run_cli("--storage", "q", "eval", "-c", "library_colorhist", "-c", "tints_colorhist", cwd=built)
    assert both.returncode == 0, both.stderr
    line = (
        "collection 'library_colorhist' has no labels (its images were read without labels): eval needs labels "
        "(class folders, a list file); search it instead"
    )
    assert line in both.stderr.replace("\n", " ") and "tints_colorhist" in both.stdout
    assert (built / "reports" / "tints_colorhist" / "runs").is_dir()
    assert not (built / "reports" / "library_colorhist").exists()
    alone = run_cli("--storage", "q", "eval", "-c", "flat_colorhist", cwd=built)
    assert alone.returncode == 2 and alone.stderr.strip() == "error: " + line.replace("library", "flat")


def test_web_pages_answer_without_a_label(built):
    from fastapi.testclient import TestClient

    from web import create_app
    from web.backend import Options

    store = open_store(path=built / "q")
    client = TestClient(create_app(lambda: store, Options(built / "data", built / "reports", "cpu")))
    first = point_id("library", "2023/holiday/0.png")
    upload = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 180, 60)).save(upload, "PNG")
    try:
        posted = client.post("/c/library_colorhist/upload", files={"file": ("mine.png", upload.getvalue())})
        urls = ["/", "/c/library_colorhist", f"/c/library_colorhist/p/{first}", f"/c/library_colorhist/v/{first}"]
        pages = [client.get(url) for url in [*urls, "/c/library_colorhist/map", "/c/library_colorhist/query"]]
        for page in [*pages, posted]:
            assert page.status_code == 200, page.url
            assert "None" not in page.text and "tile same" not in page.text and "tile other" not in page.text
        grid, neighbours, viewer = pages[1].text, pages[2].text, pages[3].text
        assert 'id="no-labels"' in grid and 'name="label"' not in grid and "Points per class" not in grid
        assert "2024/trip/day1/0.png" in grid and 'data-label=""' in grid and 'data-label=""' in neighbours
        assert "<th>label</th>" not in viewer and "query-ap" not in neighbours and "mine.png" in posted.text
        assert client.get("/c/library_colorhist/map.json?method=pca").json()["classes"] == []
        similar = client.get("/c/library_colorhist", params={"sort": "similar", "to": first})
        assert similar.status_code == 200 and f"?sort=similar&amp;to={first}" in neighbours
        points = store.points("library_colorhist", with_vectors=True)
        scores = points.vectors @ points.vectors[points.ids.index(first)]
        grid = similar.text[similar.text.index('id="grid"') :]
        assert re.findall(r"/thumb/([0-9a-f-]{36})", grid) == [
            points.ids[i] for i in np.argsort(-scores, kind="stable")
        ]
        refused = client.get("/eval/library_colorhist")
        assert refused.status_code == 400 and "has no labels" in refused.text
        for url in ("/c/library_colorhist/confusion", "/c/library_colorhist/confusion/pairs?row=a&column=b"):
            refused = client.get(url)
            assert refused.status_code == 400 and "the class confusion needs labels; its map" in refused.text
    finally:
        store.close()


def test_layout_images_stores_a_class_folder_dataset_without_labels(built, tmp_path):
    done = run_cli(*INGEST, "-d", "tints", "--layout", "images", "--storage", str(tmp_path / "q"), cwd=built)
    assert done.returncode == 0, done.stderr
    assert "read 'tints' as unlabeled images: 4 file(s) in 2 folder(s); --layout classes" in done.stderr
    points, provenance = _read(tmp_path / "q", "tints_colorhist")
    assert set(points.labels) == {None} and provenance.labeled is False


def test_a_flat_folder_of_real_photos_is_searched(corel, tmp_path):
    listed = [line.split("\t")[0] for line in (corel / "list_of_images.txt").read_text().splitlines()]
    chosen = [listed[i] for i in (0, 1, 2, 500, 501, 502)]  # three beaches, three of a class far from them
    mine = tmp_path / "data" / "mine"
    mine.mkdir(parents=True)
    for path in chosen:
        shutil.copy(corel / "images" / path, mine / path.replace("/", "_"))
    done = run_cli(*INGEST, cwd=tmp_path)
    assert done.returncode == 0 and "read 'mine' as unlabeled images: 6 file(s) in 1 folder(s)" in done.stderr
    points, _ = _read(tmp_path / "q", "mine_colorhist")
    query = [p.path for p in points.payloads].index(chosen[0].replace("/", "_"))
    scores = points.vectors @ points.vectors[query]
    scores[query] = -np.inf
    asked = run_cli(
        "--storage", "q", "search", "-c", "mine_colorhist", "--id", points.ids[query], "-k", "5",
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    hits = json.loads(asked.stdout)["hits"]
    assert [hit["path"] for hit in hits] == [points.payloads[i].path for i in np.argsort(-scores, kind="stable")[:5]]
    assert {hit["label"] for hit in hits} == {None}


def test_an_unlabeled_reading_over_a_labeled_collection_is_refused_and_the_readmes_recreate_replaces_it(
    built, tmp_path
):
    storage = ("--storage", str(tmp_path / "q"))
    assert run_cli(*INGEST, "-d", "tints", *storage, cwd=built).returncode == 0
    labels = _read(tmp_path / "q", "tints_colorhist")[0].labels
    refused = run_cli(*INGEST, "-d", "tints", "--layout", "images", *storage, cwd=built)
    error = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode != 0 and "'tints_colorhist' holds labeled images" in error and "--recreate" in error
    points, provenance = _read(tmp_path / "q", "tints_colorhist")
    assert points.labels == labels and provenance.labeled is True  # nothing stored was lost
    [line] = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("python cli.py ingest -d corel1k") and "--layout images" in line
    ]
    printed = shlex.split(line, comments=True)
    assert printed[:3] == ["python", "cli.py", "ingest"], line
    argv = [arg if arg != "corel1k" else "tints" for arg in printed[2:]]
    assert run_cli(*storage, *argv, "--workers", "0", cwd=built).returncode == 0
    points, provenance = _read(tmp_path / "q", "tints_colorhist")
    assert set(points.labels) == {None} and provenance.labeled is False
