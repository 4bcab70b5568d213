"""Messy inputs: every bad file and list line is reported, the rest is stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from encoders import build_encoder
from errors import DatasetError
from ingest import IngestOptions, ingest_dataset, read_dataset
from media.images import BadImage, load_rgb
from store import open_store
from tests.conftest import CLASS_COLOURS, ROOT, make_image, run_cli, write_list_dataset
from tests.corpus import write_bad_files, write_mixed_dataset, write_unusual_files


def _folder_dataset(tmp_path: Path) -> Path:
    """A class-folder dataset with two good images in class 'ok'; tests add class 'odd'."""
    folder = tmp_path / "messy"
    for i in range(2):
        (folder / "ok").mkdir(parents=True, exist_ok=True)
        make_image((90, 90, 200), i).save(folder / "ok" / f"{i}.jpg")
    return folder


@pytest.mark.parametrize("name", ["empty.jpg", "truncated.jpg", "corrupt.jpg", "notes.png"])
def test_bad_file_is_skipped_with_its_reason_and_the_rest_stored(tmp_path, store, name):
    folder = _folder_dataset(tmp_path)
    reasons = write_bad_files(tmp_path / "bad")
    (folder / "odd").mkdir()
    (folder / "odd" / name).write_bytes((tmp_path / "bad" / name).read_bytes())
    dataset = read_dataset(folder, "messy")
    report = ingest_dataset(dataset, build_encoder("colorhist"), store, options=IngestOptions(workers=0))
    assert [p.where for p in report.skipped] == [f"odd/{name}"]
    assert reasons[name] in report.skipped[0].reason
    assert store.count("messy_colorhist") == 2 == report.written


def test_strict_turns_a_skip_into_an_error(tmp_path, store):
    folder = _folder_dataset(tmp_path)
    (folder / "odd").mkdir()
    (folder / "odd" / "empty.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="odd/empty.jpg: empty file"):
        ingest_dataset(
            read_dataset(folder, "messy"),
            build_encoder("colorhist"),
            store,
            options=IngestOptions(workers=0, strict=True),
        )


@pytest.mark.parametrize(
    "name", ["cmyk.jpg", "deep16.png", "palette_alpha.png", "grey.jpg", "rgba.png", "rotated.jpg", "animated.gif"]
)
def test_unusual_but_valid_images_decode_to_rgb(tmp_path, name):
    expected = write_unusual_files(tmp_path)[name]
    image = load_rgb(tmp_path / name)
    assert image.mode == "RGB"
    assert image.size == expected


def test_exif_orientation_is_honoured_and_gif_gives_its_first_frame(tmp_path):
    write_unusual_files(tmp_path)
    rotated = load_rgb(tmp_path / "rotated.jpg")
    upright = make_image((30, 160, 90), 7, size=(60, 40)).rotate(-90, expand=True)
    assert rotated.size == upright.size
    first = load_rgb(tmp_path / "animated.gif").getpixel((30, 20))
    assert first[0] > 120 and first[2] < 100  # the red frame, not the blue one


def test_unusual_images_are_all_ingested(tmp_path, store):
    folder = _folder_dataset(tmp_path)
    write_unusual_files(folder / "odd")
    report = ingest_dataset(
        read_dataset(folder, "messy"), build_encoder("colorhist"), store, options=IngestOptions(workers=0)
    )
    assert report.skipped == []
    assert store.count("messy_colorhist") == 9


def test_pixel_limit_rejects_oversized_images(tmp_path, store):
    folder = _folder_dataset(tmp_path)
    with pytest.raises(BadImage, match="exceeds the limit of 1000 pixels"):
        load_rgb(folder / "ok" / "0.jpg", max_pixels=1000)
    report = ingest_dataset(
        read_dataset(folder, "messy"),
        build_encoder("colorhist"),
        store,
        options=IngestOptions(workers=0, max_pixels=1000),
    )
    assert report.written == 0 and len(report.skipped) == 2


def _list_dataset(tmp_path: Path, text: bytes) -> Path:
    folder = write_list_dataset(tmp_path / "listed", per_class=1)
    (tmp_path / "outside.jpg").write_bytes((folder / "images" / "red" / "00.jpg").read_bytes())
    (folder / "list_of_images.txt").write_bytes(text)
    return folder


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"red/00.jpg red", "no tab"),
        (b"\tred", "empty path"),
        (b"red/00.jpg\t", "empty label"),
        (b"../../outside.jpg\tred", "leaves the image folder"),
        (b"/etc/passwd\tred", "leaves the image folder"),
        (b"red/missing.jpg\tred", "does not exist"),
        (b"green/00.jpg\tgr\xffeen", "not valid UTF-8"),
    ],
)
def test_bad_list_line_is_reported_with_its_line_number(tmp_path, line, reason):
    text = b"blue/00.jpg\tblue\n" + line + b"\n" + b"green/00.jpg\tgreen\n"
    dataset = read_dataset(_list_dataset(tmp_path, text), "listed")
    assert [(p.where, reason in p.reason) for p in dataset.problems] == [("list_of_images.txt:2", True)]
    assert [i.path for i in dataset.items][:1] == ["blue/00.jpg"]


def test_bom_crlf_and_duplicates_in_the_list(tmp_path):
    text = b"\xef\xbb\xbfred/00.jpg\tred\r\ngreen/00.jpg\tgreen\r\nred/00.jpg\tred\r\n"
    dataset = read_dataset(_list_dataset(tmp_path, text), "listed")
    assert [(i.path, i.label) for i in dataset.items] == [("red/00.jpg", "red"), ("green/00.jpg", "green")]
    assert [(p.where, p.reason) for p in dataset.problems] == [("list_of_images.txt:3", "duplicate of line 1")]


def test_cli_ingest_of_50_good_and_10_bad_images_then_a_rerun(tmp_path):
    good, bad = write_mixed_dataset(tmp_path / "data" / "mixed")
    assert (good, bad) == (50, 10)
    args = ("--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist")
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads((tmp_path / "reports" / "ingest" / "mixed_colorhist.json").read_text())
    assert report["written"] == 50
    assert sorted(p["where"] for p in report["skipped"]) == sorted(
        f"{label}/bad_{i}.jpg" for label in ("sand", "sea") for i in range(5)
    )
    assert all(p["reason"] for p in report["skipped"])
    assert "skipped sand/bad_0.jpg: empty file" in first.stdout
    second = run_cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = json.loads((tmp_path / "reports" / "ingest" / "mixed_colorhist.json").read_text())
    assert (again["written"], again["already_stored"]) == (0, 50)


def test_hostile_labels_are_inert_in_the_terminal(tmp_path):
    folder = tmp_path / "data" / "hostile"
    label = "[bold red]<script>x</script>\x1b[31m"
    (folder / label).mkdir(parents=True)
    make_image(CLASS_COLOURS["red"], 1).save(folder / label / "a.jpg")
    (folder / label / "b.jpg").write_bytes(b"")
    result = run_cli("--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "skipped [bold red]<script>x</script>\\x1b[31m/b.jpg: empty file" in result.stdout


def test_a_local_mode_store_open_elsewhere_gives_one_clear_line(tmp_path):
    """Local mode locks the whole store (Qdrant Edge holds collections: tests/test_store_sharing.py)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from store import open_store; s = open_store(path='q', engine='local'); "
            "print('open', flush=True); time.sleep(60)",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        write_list_dataset(tmp_path / "data" / "shapes", per_class=1)
        result = run_cli("--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", cwd=tmp_path)
    finally:
        holder.kill()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the embedded store in 'q' is open in another process; wait for it to finish, "
        "or run a Qdrant server and pass --qdrant-url"
    ]


def test_draft_decoding_shrinks_big_jpegs_only_when_asked(tmp_path):
    make_image((90, 120, 200), 3, size=(1600, 1200)).save(tmp_path / "big.jpg", quality=90)
    assert load_rgb(tmp_path / "big.jpg").size == (1600, 1200)
    small = load_rgb(tmp_path / "big.jpg", min_side=256)
    assert small.size == (400, 300)  # 1/4 scale: the smallest DCT scale keeping the short side >= 256


def test_a_misspelled_storage_folder_is_an_error_not_an_empty_store(tmp_path):
    result = run_cli("--storage", "qdrant_strorage", "collections", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: there is no embedded store in 'qdrant_strorage'")
    assert not (tmp_path / "qdrant_strorage").exists()


def test_collection_written_by_another_tool_is_listed_not_a_crash(tmp_path):
    from qdrant_client import QdrantClient, models

    other_tool = QdrantClient(path=str(tmp_path / "q"))
    other_tool.create_collection(
        "foreign", vectors_config={"a": models.VectorParams(size=4, distance=models.Distance.DOT)}
    )
    other_tool.close()
    store = open_store(path=tmp_path / "q")
    info = store.info("foreign")
    store.close()
    assert (info.dim, info.distance, info.dataset, info.encoder) == (0, "named vectors", "?", "?")
