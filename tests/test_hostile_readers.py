"""A hostile user's third round (issue 23), dataset readers through the CLI: every file a reader opens
stays inside its folder (one rule, media/containment.py), and Revisited query boxes that cannot be
cropped are one line naming the query and the file."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_image, run_cli, write_list_dataset
from tests.hostile import ingest, one_line_error, skipped, stored_paths
from tests.test_revisited_layout import DATABASE, write_revisited
from tests.test_voc import write_voc


def outside_image(tmp_path: Path) -> Path:
    """An image outside every data folder (whose reading would be the bug)."""
    make_image((1, 2, 3), 9).save(tmp_path / "secret.jpg")
    return tmp_path / "secret.jpg"


# 3. one containment rule for every reader


def test_revisited_names_that_leave_the_image_folder_are_skipped(tmp_path):
    secret = outside_image(tmp_path)
    folder = write_revisited(tmp_path / "data")
    (folder / "jpg" / "linked_000001.jpg").symlink_to(secret)
    (folder / "jpg" / "inside_000001.jpg").symlink_to(folder / "jpg" / f"{DATABASE[0]}.jpg")
    record = pickle.loads((folder / "gnd_roxford5k.pkl").read_bytes())
    climbing = "../../secret"
    absolute = str(secret.with_suffix(""))
    record["imlist"] = [*DATABASE, climbing, absolute, "linked_000001", "inside_000001"]
    (folder / "gnd_roxford5k.pkl").write_bytes(pickle.dumps(record))

    ingest(tmp_path)

    paths = stored_paths(tmp_path, "roxford5k_colorhist")
    assert sorted(paths) == sorted([f"{name}.jpg" for name in DATABASE] + ["inside_000001.jpg"])
    reasons = skipped(tmp_path, "roxford5k_colorhist")
    assert "leaves the image folder" in reasons[f"{climbing}.jpg"]
    assert "leaves the image folder" in reasons[f"{absolute}.jpg"]
    assert "outside the image folder" in reasons["linked_000001.jpg"]


def test_revisited_query_names_that_leave_the_image_folder_are_refused_at_eval(tmp_path):
    secret = outside_image(tmp_path)
    folder = write_revisited(tmp_path / "data")
    ingest(tmp_path)
    record = pickle.loads((folder / "gnd_roxford5k.pkl").read_bytes())
    record["qimlist"] = ["query_0", str(secret.with_suffix(""))]
    (folder / "gnd_roxford5k.pkl").write_bytes(pickle.dumps(record))
    error = one_line_error(run_cli("--storage", "q", "eval", "-c", "roxford5k_colorhist", cwd=tmp_path))
    assert "leaves the image folder" in error and "gnd_roxford5k.pkl" in error


def test_voc_images_and_annotations_that_link_outside_are_skipped(tmp_path):
    secret = outside_image(tmp_path)
    year = write_voc(tmp_path / "data")
    (year / "JPEGImages" / "000001.jpg").unlink()
    (year / "JPEGImages" / "000001.jpg").symlink_to(secret)
    stolen = tmp_path / "stolen.xml"
    stolen.write_text((year / "Annotations" / "000004.xml").read_text())
    (year / "Annotations" / "000004.xml").unlink()
    (year / "Annotations" / "000004.xml").symlink_to(stolen)

    ingest(tmp_path)

    assert stored_paths(tmp_path, "voc2007_colorhist") == ["000002.jpg"]
    reasons = skipped(tmp_path, "voc2007_colorhist")
    assert "outside the image folder" in reasons["000001.jpg"]
    assert "Annotations/000004.xml" in reasons["000004.jpg"] and "outside" in reasons["000004.jpg"]


def test_list_and_class_folder_layouts_follow_the_same_rule(tmp_path):
    secret = outside_image(tmp_path)
    listed = write_list_dataset(tmp_path / "data" / "listed", per_class=1)
    (listed / "images" / "red" / "out.jpg").symlink_to(secret)
    (listed / "images" / "up").symlink_to(tmp_path)  # a folder link pointing out, then a file under it
    with (listed / "list_of_images.txt").open("a") as lines:
        lines.write(f"red/out.jpg\tred\nup/secret.jpg\tred\n../../secret.jpg\tred\n{secret}\tred\n")
    folders = tmp_path / "data" / "folders"
    for label in ("a", "b"):
        (folders / label).mkdir(parents=True)
        make_image((9, 9, 9), 1).save(folders / label / "1.jpg")
    (folders / "a" / "out.jpg").symlink_to(secret)

    ingest(tmp_path)

    assert sorted(stored_paths(tmp_path, "listed_colorhist")) == ["blue/00.jpg", "green/00.jpg", "red/00.jpg"]
    reasons = skipped(tmp_path, "listed_colorhist")
    assert len(reasons) == 4
    assert "outside the image folder" in reasons["list_of_images.txt:4"]
    assert "outside the image folder" in reasons["list_of_images.txt:5"]
    assert "leaves the image folder" in reasons["list_of_images.txt:6"]
    assert "leaves the image folder" in reasons["list_of_images.txt:7"]
    assert sorted(stored_paths(tmp_path, "folders_colorhist")) == ["a/1.jpg", "b/1.jpg"]
    assert "outside the image folder" in skipped(tmp_path, "folders_colorhist")["a/out.jpg"]


def test_list_split_and_ground_truth_files_linked_from_outside_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("red/00.jpg\tTOP-SECRET-LINE\n000001\n")
    listed = write_list_dataset(tmp_path / "data" / "listed", per_class=1)
    (listed / "list_of_images.txt").unlink()
    (listed / "list_of_images.txt").symlink_to(secret)
    failed = run_cli(
        "--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0", cwd=tmp_path
    )
    assert failed.returncode == 2 and "TOP-SECRET" not in failed.stdout + failed.stderr
    assert "outside the image folder" in skipped(tmp_path, "listed_colorhist")["list_of_images.txt"]
    shutil.rmtree(tmp_path / "data" / "listed")

    year = write_voc(tmp_path / "data")
    (year / "ImageSets" / "Main" / "val.txt").unlink()
    (year / "ImageSets" / "Main" / "val.txt").symlink_to(secret)
    error = one_line_error(run_cli("--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", cwd=tmp_path))
    assert "val.txt" in error and "outside" in error
    shutil.rmtree(tmp_path / "data" / "VOCdevkit")

    folder = write_revisited(tmp_path / "data")
    (tmp_path / "gnd.pkl").write_bytes((folder / "gnd_roxford5k.pkl").read_bytes())
    (folder / "gnd_roxford5k.pkl").unlink()
    (folder / "gnd_roxford5k.pkl").symlink_to(tmp_path / "gnd.pkl")
    error = one_line_error(run_cli("--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", cwd=tmp_path))
    assert "gnd_roxford5k.pkl" in error and "outside" in error


# 10. Revisited query boxes that cannot be cropped


@pytest.mark.parametrize(
    "box, reason",
    [
        ([np.nan, 20.0, 90.0, 70.0], "not a number"),
        ([30.0, 20.0, np.inf, 70.0], "not a number"),
        ([90.0, 70.0, 30.0, 20.0], "inverted or empty"),
        ([500.0, 400.0, 900.0, 700.0], "outside the 120x90 image"),
    ],
)
def test_a_query_box_that_cannot_be_cropped_is_one_line_naming_the_query_and_file(tmp_path, box, reason):
    folder = write_revisited(tmp_path / "data")
    ingest(tmp_path)
    record = pickle.loads((folder / "gnd_roxford5k.pkl").read_bytes())
    record["gnd"][1]["bbx"] = box
    (folder / "gnd_roxford5k.pkl").write_bytes(pickle.dumps(record))
    error = one_line_error(run_cli("--storage", "q", "eval", "-c", "roxford5k_colorhist", cwd=tmp_path))
    assert reason in error and "query 'query_1'" in error and "gnd_roxford5k.pkl" in error
