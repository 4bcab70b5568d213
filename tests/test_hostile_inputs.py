"""A hostile user's second round (issue 14), inputs, each case through the CLI on generated data:
symlinks, odd names, Unicode forms, raw paths on a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import unicodedata
from pathlib import Path

from tests.conftest import CLASS_COLOURS, CLI_ENV, ROOT, make_image, run_cli, write_list_dataset
from tests.hostile import ingest, skipped, stored_paths

# 2. symlinks: followed only inside the image root, every other one reported


def test_symlinks_out_of_the_image_root_are_skipped_and_reported_in_both_layouts(tmp_path):
    listed = write_list_dataset(tmp_path / "data" / "listed", per_class=2)
    make_image((1, 2, 3), 5).save(tmp_path / "outside.jpg")
    (listed / "images" / "red" / "passwd.jpg").symlink_to("/etc/passwd")
    (listed / "images" / "red" / "out.jpg").symlink_to(tmp_path / "outside.jpg")
    (listed / "images" / "red" / "in.jpg").symlink_to("00.jpg")
    with (listed / "list_of_images.txt").open("a") as lines:
        lines.write("red/passwd.jpg\tred\nred/out.jpg\tred\nred/in.jpg\tred\n")
    folders = tmp_path / "data" / "folders"
    for label in ("a", "b"):
        (folders / label).mkdir(parents=True)
        for i in range(2):
            make_image(CLASS_COLOURS["red"], i).save(folders / label / f"{i}.jpg")
    (tmp_path / "elsewhere" / "cls").mkdir(parents=True)
    make_image((9, 9, 9), 1).save(tmp_path / "elsewhere" / "cls" / "x.jpg")
    (folders / "linked_out").symlink_to(tmp_path / "elsewhere" / "cls")
    (folders / "linked_in").symlink_to("a")
    (folders / "a" / "passwd.jpg").symlink_to("/etc/passwd")
    (folders / "b" / "loop").symlink_to("..")
    (folders / "b" / "gone.jpg").symlink_to("nothing-here.jpg")

    result = ingest(tmp_path)

    assert sorted(stored_paths(tmp_path, "listed_colorhist")) == sorted(
        [f"{c}/{i:02d}.jpg" for c in CLASS_COLOURS for i in range(2)] + ["red/in.jpg"]
    )
    listed_skips = skipped(tmp_path, "listed_colorhist")
    assert sorted(listed_skips) == ["list_of_images.txt:7", "list_of_images.txt:8"]
    assert all("outside the image folder" in reason for reason in listed_skips.values())
    assert sorted(stored_paths(tmp_path, "folders_colorhist")) == sorted(
        f"{c}/{i}.jpg" for c in ("a", "b", "linked_in") for i in range(2)
    )
    folder_skips = skipped(tmp_path, "folders_colorhist")
    assert {"linked_out", "a/passwd.jpg", "linked_in/passwd.jpg", "b/loop", "b/gone.jpg"} == set(folder_skips)
    assert "outside the image folder" in folder_skips["linked_out"]
    assert "loop" in folder_skips["b/loop"] and "broken" in folder_skips["b/gone.jpg"]
    assert "skipped linked_out: symlink to" in result.stdout


# 3. names: unique, non-empty, stable; report folders never collide


def test_folders_without_ascii_letters_get_distinct_stable_dataset_names(tmp_path):
    for folder in ("日本", "+++", "中国"):
        for i in range(2):
            (tmp_path / "data" / folder / "k").mkdir(parents=True, exist_ok=True)
            make_image((10, 10, 10), i).save(tmp_path / "data" / folder / "k" / f"{i}.jpg")
    listing = run_cli("datasets", "--data-root", "data", "--format", "json", cwd=tmp_path)
    names = {Path(d["folder"]).name: d["name"] for d in json.loads(listing.stdout)}
    assert len(set(names.values())) == 3 and all(name.startswith("dataset_") for name in names.values())
    again = run_cli("datasets", "--data-root", "data", "--format", "json", cwd=tmp_path)
    assert {Path(d["folder"]).name: d["name"] for d in json.loads(again.stdout)} == names
    ingest(tmp_path)
    listed = run_cli("--storage", "q", "collections", "--format", "json", cwd=tmp_path)
    collections = sorted(info["name"] for info in json.loads(listed.stdout))
    assert len(collections) == 3 and not any(name.startswith("_") for name in collections)


def test_collections_whose_names_differ_only_in_case_get_their_own_report_folders(tmp_path):
    import numpy as np

    from store import ImagePayload, open_store

    store = open_store(path=tmp_path / "q")
    rng = np.random.default_rng(0)
    for name in ("Pets_x", "pets_x", "pets x"):
        store.ensure_collection(name, 4)
        vectors = rng.normal(size=(4, 4)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        payloads = [ImagePayload("ab"[i % 2], f"{i}.jpg", "pets", "x", i) for i in range(4)]
        store.upsert(name, [f"00000000-0000-0000-0000-00000000000{i}" for i in range(4)], vectors, payloads=payloads)
    store.close()
    result = run_cli("--storage", "q", "eval", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folders = [path.parent.parent for path in (tmp_path / "reports").glob("*/runs/full.json")]
    assert len(folders) == 3
    written = sorted(json.loads((folder / "runs" / "full.json").read_text())["collection"] for folder in folders)
    assert written == ["Pets_x", "pets x", "pets_x"]


# 4. Unicode normalisation and spaces


def test_a_list_line_in_nfc_finds_a_file_named_in_nfd_and_spaces_are_kept(tmp_path):
    folder = write_list_dataset(tmp_path / "data" / "listed", per_class=2)
    nfd = unicodedata.normalize("NFD", "café.jpg")
    make_image(CLASS_COLOURS["red"], 9).save(folder / "images" / "red" / nfd)
    make_image(CLASS_COLOURS["red"], 10).save(folder / "images" / "red" / " spaced .jpg")
    with (folder / "list_of_images.txt").open("a", encoding="utf-8") as lines:
        lines.write(unicodedata.normalize("NFC", "red/café.jpg") + "\tred\nred/ spaced .jpg\t red \n")
    ingest(tmp_path)
    paths = stored_paths(tmp_path, "listed_colorhist")
    assert f"red/{nfd}" in paths and "red/ spaced .jpg" in paths
    assert skipped(tmp_path, "listed_colorhist") == {}


# 5. paths printed raw


def _hostile_names(tmp_path: Path) -> list[str]:
    names = ["esc\x1b[2Jname.jpg", "new\nline.jpg", "plain.jpg"]
    for i, name in enumerate(names):
        (tmp_path / "data" / "odd" / "k").mkdir(parents=True, exist_ok=True)
        make_image(CLASS_COLOURS["blue"], i).save(tmp_path / "data" / "odd" / "k" / name, format="JPEG")
    ingest(tmp_path)
    return [f"k/{name}" for name in names]


def test_paths_on_a_terminal_are_escaped_and_print0_gives_them_raw(tmp_path):
    paths = _hostile_names(tmp_path)
    args = ("--storage", "q", "search", "-c", "odd_colorhist", "--path", "k/plain.jpg", "-k", "5")
    main, child = pty.openpty()
    with subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args, "--format", "paths"], cwd=tmp_path, stdout=child, env=CLI_ENV
    ) as process:
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closes when the command ends
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=60) == 0
    os.close(main)
    assert b"\x1b" not in shown
    assert b"k/esc\\x1b[2Jname.jpg" in shown and b"k/new\\x0aline.jpg" in shown
    piped = run_cli(*args, "--print0", cwd=tmp_path)  # stdout is not a terminal
    assert piped.returncode == 0, piped.stderr
    root = (tmp_path / "data" / "odd").resolve()  # the image folder the collection recorded
    expected = sorted(str(root / p) for p in paths if p != "k/plain.jpg")
    assert sorted(piped.stdout.split("\0")[:-1]) == expected
