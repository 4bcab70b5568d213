"""Pascal VOC read from its own layout: generated annotation files and images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from commands.context import Context
from errors import DatasetError
from ingest import discover, read_dataset
from ingest.reading.voc import VocOptions
from tests.conftest import make_image


def _annotation(objects: list[tuple[str, int, int, int, int, bool]]) -> str:
    parts = [
        f"<object><name>{name}</name><difficult>{int(difficult)}</difficult>"
        f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for name, x0, y0, x1, y1, difficult in objects
    ]
    return f"<annotation><filename>x.jpg</filename>{''.join(parts)}</annotation>"


# id -> objects (class, xmin, ymin, xmax, ymax, difficult); areas use VOC's inclusive pixels (+1)
IMAGES = {
    # car 10x10 = 100; two persons 8x8 = 64 each, 128 in all: person has the largest total area
    "000001": [("car", 1, 1, 10, 10, False), ("person", 1, 1, 8, 8, False), ("person", 20, 20, 27, 27, False)],
    # dog 100 and a difficult cat 400: the cat counts only with difficult objects
    "000002": [("dog", 1, 1, 10, 10, False), ("cat", 1, 1, 20, 20, True)],
    "000003": [("cat", 1, 1, 5, 5, True)],  # only a difficult object
    "000004": [("car", 1, 1, 30, 30, False)],
    "000005": [("dog", 1, 1, 30, 30, False)],  # in train only
}


def write_voc(root: Path, year: str = "VOC2007", broken: bool = False) -> Path:
    folder = root / "VOCdevkit" / year
    for part in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    for n, (image_id, objects) in enumerate(IMAGES.items()):
        make_image((40 * n, 100, 200 - 30 * n), seed=n).save(folder / "JPEGImages" / f"{image_id}.jpg")
        (folder / "Annotations" / f"{image_id}.xml").write_text(_annotation(objects))
    if broken:
        (folder / "Annotations" / "000004.xml").write_text("<annotation><object>")
    (folder / "ImageSets/Main/val.txt").write_text("000001\n000002\n000003\n000004\n")
    (folder / "ImageSets/Main/train.txt").write_text("000005\n")
    (folder / "ImageSets/Main/car_val.txt").write_text("000001  1\n")  # per-class lists are not splits
    return folder


def test_multi_label_mode_reads_every_class_largest_area_first(tmp_path):
    folder = write_voc(tmp_path)
    assert discover(tmp_path) == {"voc2007": folder}
    dataset = read_dataset(folder, "voc2007")
    assert dataset.name == "voc2007" and dataset.image_root == folder / "JPEGImages"
    labels = {item.path: item.label_set for item in dataset.items}
    assert labels == {"000001.jpg": ("person", "car"), "000002.jpg": ("dog",), "000004.jpg": ("car",)}
    assert [(p.where, "difficult objects excluded" in p.reason) for p in dataset.problems] == [("000003.jpg", True)]
    assert "multi-label" in dataset.description and "val" in dataset.description


def test_single_label_mode_and_difficult_objects(tmp_path):
    folder = write_voc(tmp_path)
    single = read_dataset(folder, "voc2007", VocOptions(single_label=True))
    assert single.name == "voc2007_single"
    assert {item.path: item.label_set for item in single.items}["000001.jpg"] == ("person",)
    assert not single.multi_label
    assert "largest total box area" in single.description
    difficult = read_dataset(folder, "voc2007", VocOptions(difficult=True))
    assert difficult.name == "voc2007_difficult"
    labels = {item.path: item.label_set for item in difficult.items}
    assert labels["000002.jpg"] == ("cat", "dog") and labels["000003.jpg"] == ("cat",)
    train = read_dataset(folder, "voc2007", VocOptions(split="train"))
    assert train.name == "voc2007_train" and [item.path for item in train.items] == ["000005.jpg"]


def test_bad_annotation_and_missing_split(tmp_path):
    folder = write_voc(tmp_path, broken=True)
    dataset = read_dataset(folder, "voc2007")
    assert any(p.where == "000004.jpg" and "does not parse" in p.reason for p in dataset.problems)
    with pytest.raises(DatasetError, match="no split 'test'.*found: train, val"):
        read_dataset(folder, "voc2007", VocOptions(split="test"))


def test_ingest_voc_single_label_through_the_cli(tmp_path, store):
    from cli import cli

    write_voc(tmp_path / "data")
    write_voc(tmp_path / "data", "VOC2012")
    handed = Context(handed=store)  # the CLI in this process, on the open store
    runner = CliRunner()
    listing = runner.invoke(cli, ["datasets", "--data-root", str(tmp_path / "data"), "--format", "json"], obj=handed)
    assert [d["name"] for d in json.loads(listing.output)] == ["voc2007", "voc2012"]
    args = ["--reports", str(tmp_path / "reports"), "ingest", "--data-root", str(tmp_path / "data"), "-d", "voc2007"]
    result = runner.invoke(cli, [*args, "-e", "colorhist", "--voc-single-label"], catch_exceptions=False, obj=handed)
    assert result.exit_code == 0, result.output
    points = store.points("voc2007-single_colorhist")  # the collection name slugs "_"
    assert [(p.path, p.label, p.labels) for p in points.payloads][:1] == [("000001.jpg", "person", None)]
    result = runner.invoke(cli, [*args, "-e", "colorhist"], catch_exceptions=False, obj=handed)
    assert store.points("voc2007_colorhist").payloads[0].labels == ("person", "car")
