"""Interrupted ingests: SIGKILL at any moment or Ctrl-C, then a rerun, leave one point per image.

Each ingest runs in a forked child (the imports are inherited, so no fresh
interpreter pays for torch) and reports the images it has done after every
batch through a pipe; the parent stops it at a point it chose.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from encoders import build_encoder
from ingest import IngestOptions, ingest_dataset, read_dataset
from store import open_store, point_id
from tests.conftest import make_image

IMAGES = 240
FORK = multiprocessing.get_context("fork")


@pytest.fixture(scope="module")
def many_images(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("interrupt") / "data"
    for i in range(IMAGES):
        label = ("a", "b", "c")[i % 3]
        (root / "many" / label).mkdir(parents=True, exist_ok=True)
        make_image((60 * (i % 3), 120, 90), i, size=(48, 32)).save(root / "many" / label / f"{i:04d}.png")
    return root


def _cli_ingest(data_root: Path, storage: Path, batch_size: int, done: Connection, output: Path) -> None:
    """The child: `python cli.py ingest -e colorhist` on `data_root`, its progress also sent to `done`."""
    import cli
    import render

    @contextmanager
    def reporting(screen, title):
        yield lambda images, total: done.send(images)

    render.Screen.progress = reporting
    with output.open("w") as sink:
        sys.stdout = sys.stderr = sink
        sys.argv = ["cli.py", "--storage", str(storage), "--reports", str(storage / "r"), "ingest"]
        sys.argv += [
            "--data-root",
            str(data_root),
            "-e",
            "colorhist",
            "--batch-size",
            str(batch_size),
            "--workers",
            "0",
        ]
        cli.main()


def _start_ingest(data_root: Path, storage: Path, batch_size: int = 4):
    """The running child, a connection giving its images done, and the file of its output."""
    receive, send = FORK.Pipe(duplex=False)
    output = storage.parent / "output.txt"
    child = FORK.Process(target=_cli_ingest, args=(data_root, storage, batch_size, send, output))
    child.start()
    send.close()
    return child, receive, output


def _wait_until_done(receive: Connection, images: int) -> int:
    """Block until the child has done at least `images`; returns its count."""
    while (done := receive.recv()) < images:
        pass
    return done


def _finish_in_process_and_check(data_root: Path, storage: Path) -> None:
    dataset = read_dataset(data_root / "many", "many")
    store = open_store(path=storage)
    try:
        ingest_dataset(dataset, build_encoder("colorhist"), store, options=IngestOptions(workers=0))
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
    child, done, _ = _start_ingest(many_images, storage)
    seen = _wait_until_done(done, rng.randrange(1, IMAGES - 40))
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL  # killed while running, not finished
    assert seen < IMAGES
    _finish_in_process_and_check(many_images, storage)


def test_ctrl_c_stops_after_the_current_batch_and_a_rerun_resumes(many_images, tmp_path):
    storage = tmp_path / "q"
    child, done, output = _start_ingest(many_images, storage, batch_size=2)
    _wait_until_done(done, 20)
    os.kill(child.pid, signal.SIGINT)
    child.join(timeout=60)
    said = output.read_text()
    assert child.exitcode == 130, said
    assert "interrupted; rerun the same command to resume" in said
    assert "Traceback" not in said
    store = open_store(path=storage)
    stored = store.count("many_colorhist")
    store.close()
    assert 20 <= stored < IMAGES
    _finish_in_process_and_check(many_images, storage)
