"""Commands share an Edge store: a collection is held only while a process uses it; a held one is
waited for (--wait) and then named; a forked child never keeps a killed parent's hold; `serve`
answers while `ingest` writes another collection of the same store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from errors import CollectionBusyError
from store import ImagePayload, open_store, point_id
from tests.conftest import CLI_ENV, ROOT, make_image, run_cli, write_list_dataset
from tests.hostile import ingest, one_line_error

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock and /proc as on Linux")


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    ingest(tmp_path)
    return tmp_path


def _python(cwd: Path, code: str) -> subprocess.Popen:
    """A process running `code` with the project importable; its stdout is a pipe, its stdin too."""
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, env=CLI_ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


HOLD = "from store import open_store; s = open_store(path='q'); s.hold('shapes_colorhist'); print('held', flush=True)"


def _search(cwd: Path, *options: str) -> subprocess.CompletedProcess:
    return run_cli("--storage", "q", *options, "search", "-c", "shapes_colorhist", "--path", "red/00.jpg", cwd=cwd)


def test_a_held_collection_is_named_after_the_wait_and_listed_as_in_use(shapes):
    holder = _python(shapes, HOLD + "; input()")
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = _search(shapes, "--wait", "0.5")
        listed = run_cli("--storage", "q", "collections", cwd=shapes)
    finally:
        holder.kill()
        holder.wait()
    line = one_line_error(refused)
    assert f"collection 'shapes_colorhist' is held by process {holder.pid} (python -c" in line
    assert "(waited 0.5 s); wait for it to finish, or pass --wait SECONDS" in line
    assert listed.returncode == 0 and "shapes_colorhist" in listed.stdout
    assert f"shapes_colorhist: collection 'shapes_colorhist' is held by process {holder.pid}" in listed.stderr


def test_a_held_collection_is_waited_for(shapes):
    holder = _python(shapes, HOLD + "; input(); s.close(); print('released', flush=True); input()")
    try:
        assert holder.stdout.readline().strip() == "held"
        waiting = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "--storage", "q", "--wait", "60", "search", "-c",
             "shapes_colorhist", "--path", "red/00.jpg", "--format", "json"],
            cwd=shapes, env=CLI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting for the holder
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        out, err = waiting.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert waiting.returncode == 0, err
    assert len(json.loads(out)["hits"]) == 5  # the 6 images but the query itself (-k 10)


def test_drop_replace_and_close_let_go_of_what_they_held(tmp_path):
    """Two stores on one folder hold like two processes (an flock per open file): each hold is let go of
    by the store that took it, when it drops, replaces or closes."""
    first, second = open_store(path=tmp_path / "q"), open_store(path=tmp_path / "q")
    first.ensure_collection("toy_enc", 4)
    with pytest.raises(CollectionBusyError, match=f"'toy_enc' is held by process {os.getpid()}"):
        second.count("toy_enc")
    first.drop("toy_enc")
    assert second.ensure_collection("toy_enc", 4) is True  # nothing of it held any more
    second.ensure_collection("toy_enc_next", 4)
    second.upsert(
        "toy_enc_next",
        [point_id("toy", "a")],
        np.ones((1, 4), np.float32),
        payloads=[ImagePayload("a", "a", "toy", "enc", 0)],
    )
    second.replace("toy_enc", "toy_enc_next")
    assert first.count("toy_enc") == 1 and not first.exists("toy_enc_next")  # replace let go of both
    with pytest.raises(CollectionBusyError):
        second.hold("toy_enc")
    first.close()
    second.hold("toy_enc")  # close let go of every hold
    second.close()


def test_a_child_outliving_its_killed_parent_does_not_hold_the_collection(shapes):
    parent = _python(
        shapes,
        HOLD.replace("print('held', flush=True)", "")
        + "\nimport os, time\nchild = os.fork()\nif child == 0:\n    time.sleep(120)\n    os._exit(0)\n"
        + "print(child, flush=True)\ntime.sleep(120)",
    )
    child = int(parent.stdout.readline())
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert Path(f"/proc/{child}").exists()  # the child lives on, with its copies of the parent's files
        found = _search(shapes, "--wait", "5")
    finally:
        os.kill(child, signal.SIGKILL)
    assert found.returncode == 0, found.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return answer.status, answer.read().decode()


def test_serve_answers_while_ingest_writes_another_collection_of_the_same_store(shapes):
    for i in range(150):
        folder = shapes / "data" / "many" / "abc"[i % 3]
        folder.mkdir(parents=True, exist_ok=True)
        make_image((80 * (i % 3), 100, 60), i, size=(48, 36)).save(folder / f"{i}.png")
    port = _free_port()
    serving = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "--storage", "q", "serve", "--port", str(port)],
        cwd=shapes, env=CLI_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert "serving" in serving.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                _get(base + "/")
                break
            except OSError:
                time.sleep(0.1)
        ingesting = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "--storage", "q", "ingest", "--data-root", "data", "-d", "many",
             "-e", "colorhist", "--workers", "0", "--batch-size", "2"],
            cwd=shapes, env=CLI_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        answered_during = 0
        while ingesting.poll() is None:
            status, page = _get(base + "/c/shapes_colorhist")
            assert status == 200 and "red/00.jpg" in page
            answered_during += ingesting.poll() is None
            time.sleep(0.2)
        assert ingesting.returncode == 0, ingesting.stderr.read()
        assert answered_during >= 1  # pages came while the ingest was writing
        status, page = _get(base + "/")
        assert status == 200 and "many_colorhist" in page and "shapes_colorhist" in page
        evaluated = run_cli("--storage", "q", "--wait", "30", "eval", "-c", "shapes_colorhist", cwd=shapes)
        assert evaluated.returncode == 0, evaluated.stderr  # serve lets go of what it no longer uses
    finally:
        serving.send_signal(signal.SIGINT)
        serving.wait(timeout=60)
