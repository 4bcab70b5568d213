"""Interrupted ingests: SIGKILL at any moment or Ctrl-C, then a rerun, leave one point per image."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from encoders import build_encoder
from ingest import IngestOptions, ingest_dataset, read_dataset
from store import open_store, point_id
from tests.conftest import make_image

ROOT = Path(__file__).resolve().parents[1]
IMAGES = 240


@pytest.fixture(scope="module")
def many_images(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("interrupt") / "data"
    for i in range(IMAGES):
        label = ("a", "b", "c")[i % 3]
        (root / "many" / label).mkdir(parents=True, exist_ok=True)
        make_image((60 * (i % 3), 120, 90), i, size=(48, 32)).save(root / "many" / label / f"{i:04d}.png")
    return root


def _start_ingest(data_root: Path, storage: Path, batch_size: int = 4) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "--storage",
            str(storage),
            "--reports",
            str(storage / "r"),
            "ingest",
            "--data-root",
            str(data_root),
            "-e",
            "colorhist",
            "--batch-size",
            str(batch_size),
            "--workers",
            "0",
        ],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored_rows(storage: Path) -> int:
    """Points written so far, read beside the running process (SQLite allows a reader)."""
    path = storage / "collection" / "many_colorhist" / "storage.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05) as db:
            return db.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _wait_for_rows(process: subprocess.Popen, storage: Path, rows: int) -> None:
    deadline = time.monotonic() + 120
    while process.poll() is None and _stored_rows(storage) < rows and time.monotonic() < deadline:
        time.sleep(0.002)


def _finish_in_process_and_check(data_root: Path, storage: Path) -> None:
    dataset = read_dataset(data_root / "many", "many")
    store = open_store(path=storage)
    try:
        ingest_dataset(dataset, build_encoder("colorhist"), store, IngestOptions(workers=0))
        stored = store.points("many_colorhist")
        assert len(stored.ids) == store.count("many_colorhist") == IMAGES
        assert sorted(stored.ids) == sorted(point_id("many", item.path) for item in dataset.items)
        assert [p.index for p in stored.payloads] == list(range(IMAGES))
    finally:
        store.close()


@pytest.mark.parametrize("attempt", range(10))
def test_sigkill_at_any_moment_then_rerun_stores_each_image_once(many_images, tmp_path, attempt):
    rng = random.Random(attempt)
    storage = tmp_path / "q"
    process = _start_ingest(many_images, storage)
    _wait_for_rows(process, storage, rng.randrange(1, IMAGES - 40))
    rows_before_kill = _stored_rows(storage)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL  # killed while running, not finished
    assert rows_before_kill < IMAGES
    _finish_in_process_and_check(many_images, storage)


def test_ctrl_c_stops_after_the_current_batch_and_a_rerun_resumes(many_images, tmp_path):
    storage = tmp_path / "q"
    process = _start_ingest(many_images, storage, batch_size=2)
    _wait_for_rows(process, storage, 20)
    os.kill(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted; rerun the same command to resume" in stdout
    assert "Traceback" not in stderr
    assert 20 <= _stored_rows(storage) < IMAGES
    _finish_in_process_and_check(many_images, storage)
