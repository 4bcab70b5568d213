"""A hostile user's second round (issue 14), the store and the output, each case through the CLI on
generated data: workers outliving a killed ingest, checks before model loads, one-line errors, secrets in
URLs, bidi and control characters in reports."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CLASS_COLOURS, CLI_ENV, ROOT, make_image, run_cli, spawn_cli, write_list_dataset
from tests.hostile import ingest, one_line_error, stored_paths

# 6. DataLoader workers never keep the embedded store's lock


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found |= {int(child) for child in task.read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_after_kill_9_of_an_ingest_with_workers_the_store_opens_at_once(tmp_path):
    for i in range(400):
        (tmp_path / "data" / "many" / "abc"[i % 3]).mkdir(parents=True, exist_ok=True)
        make_image((60 * (i % 3), 120, 90), i, size=(64, 48)).save(
            tmp_path / "data" / "many" / "abc"[i % 3] / f"{i}.png"
        )
    args = ["--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "2", "--batch-size", "1"]
    ingesting = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=tmp_path,
        env=CLI_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            workers = _children(ingesting.pid)
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert len(workers) >= 2 and ingesting.poll() is None, "the ingest ended before its workers were seen"
    finally:
        ingesting.send_signal(signal.SIGKILL)
        ingesting.wait()
    rerun = run_cli("--storage", "q", "collections", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "open in another process" not in rerun.stderr
    for _ in range(200):  # the workers die with their parent (PR_SET_PDEATHSIG)
        if not any(_alive(pid) for pid in workers):
            break
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


# 7. the store and the reports folder are checked before any model loads


def _hold_collection(tmp_path: Path, name: str, dim: int) -> subprocess.Popen:
    """Another process holding collection `name` of the store in q (created with `dim`-d vectors)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from store import open_store; s = open_store(path='q'); s.ensure_collection({name!r}, {dim}); "
            f"s.hold({name!r}); print('held', flush=True); input()",
        ],
        cwd=tmp_path,
        env=CLI_ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_held_collection_or_a_bad_reports_folder_is_reported_before_the_model_loads(tmp_path):
    """clip's weights are absent here: had the model loaded first, the error would name them."""
    write_list_dataset(tmp_path / "data" / "shapes", per_class=1)
    holder = _hold_collection(tmp_path, "shapes_clip", 512)
    try:
        held = run_cli("--storage", "q", "--wait", "0", "ingest", "--data-root", "data", "-e", "clip", cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert f"collection 'shapes_clip' is held by process {holder.pid} (python" in one_line_error(held)
    (tmp_path / "reports.txt").write_text("")
    no_reports = run_cli(
        "--storage", "q", "--reports", "reports.txt", "ingest", "--data-root", "data", "-e", "clip", cwd=tmp_path
    )
    assert "--reports 'reports.txt' is a file" in one_line_error(no_reports)


# 8. raw errors become one line naming the thing and what to do


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    return tmp_path


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--storage", "a_file", "collections"), "--storage 'a_file' is a file"),
        (("--storage", "a_file", "ingest", "--data-root", "data", "-e", "colorhist"), "--storage 'a_file' is a file"),
        (("--storage", "/proc/q", "ingest", "--data-root", "data", "-e", "colorhist"), "'/proc/q'"),
        (("--reports", "a_file", "ingest", "--data-root", "data", "-e", "colorhist"), "--reports 'a_file' is a file"),
        (("--qdrant-url", "ftp://host", "collections"), "--qdrant-url ftp://host is not a usable URL"),
        (("--qdrant-url", "http://localhost:99999", "collections"), "Port out of range"),
    ],
)
def test_bad_options_are_one_line(shapes, args, expected):
    (shapes / "a_file").write_text("")
    assert expected in one_line_error(run_cli(*args, cwd=shapes))


def test_an_empty_collection_name_is_one_line(shapes):
    ingest(shapes)
    assert "'' is not a collection name (it is empty)" in one_line_error(
        run_cli("--storage", "q", "eval", "-c", "", cwd=shapes)
    )


def test_a_damaged_local_mode_store_names_the_damaged_file(shapes):
    ingest(shapes, "--engine", "local")
    meta = shapes / "q" / "meta.json"
    good = meta.read_text()
    meta.write_text(good[: len(good) // 2])
    line = one_line_error(run_cli("--storage", "q", "collections", "show", "shapes_colorhist", cwd=shapes))
    assert "damaged: q/meta.json does not parse" in line
    meta.write_text(good)
    database = shapes / "q" / "collection" / "shapes_colorhist" / "storage.sqlite"
    database.write_bytes(database.read_bytes()[:100] + b"\xff" * 5000)
    line = one_line_error(run_cli("--storage", "q", "collections", "show", "shapes_colorhist", cwd=shapes))
    assert "damaged: q/collection/shapes_colorhist/storage.sqlite" in line


def test_a_damaged_edge_collection_names_its_file(shapes):
    ingest(shapes)
    sidecar = shapes / "q" / "collections" / "shapes_colorhist" / "collection.json"
    sidecar.write_text(sidecar.read_text()[:40])
    line = one_line_error(run_cli("--storage", "q", "collections", "show", "shapes_colorhist", cwd=shapes))
    assert (
        "q/collections/shapes_colorhist/collection.json cannot be read" in line
        and "move the collection's folder aside" in line
    )


def test_a_full_disk_while_ingesting_is_one_line_and_a_rerun_resumes(shapes):
    def file_size_limit() -> None:  # what a full disk does to the writes, without filling one
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    write_list_dataset(shapes / "data" / "shapes", per_class=20)
    full = spawn_cli(
        "--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0", "--batch-size", "4",
        cwd=shapes,
        preexec_fn=file_size_limit,
    )  # fmt: skip
    assert "writing to the embedded store" in one_line_error(full)
    ingest(shapes)
    assert len(stored_paths(shapes, "shapes_colorhist")) == 60


def test_a_server_that_never_answers_names_the_timeout(tmp_path):
    from errors import StoreError
    from store import OpenOptions, open_store

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    try:
        with pytest.raises(StoreError, match="did not answer within the 1 s timeout"):
            open_store(f"http://127.0.0.1:{silent.getsockname()[1]}", options=OpenOptions(timeout=1))
    finally:
        silent.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_grpc_errors_are_shown_by_status_not_class_name(tmp_path):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6334)) == 0:
            pytest.skip("something listens on the gRPC port 6334 here")
    line = one_line_error(
        run_cli("--qdrant-url", f"http://127.0.0.1:{_closed_port()}", "--prefer-grpc", "collections", cwd=tmp_path)
    )
    assert "UNAVAILABLE" in line and "_InactiveRpcError" not in line


# 9. secrets in URLs


def test_credentials_in_the_url_and_the_api_key_are_never_shown(tmp_path, monkeypatch):
    url = f"http://admin:s3cret-pw@127.0.0.1:{_closed_port()}"
    result = spawn_cli("--qdrant-url", url, "--api-key", "k3y-value", "collections", cwd=tmp_path)
    line = one_line_error(result)
    assert "s3cret-pw" not in result.stderr + result.stdout and "k3y-value" not in result.stderr + result.stdout
    assert "http://***@127.0.0.1" in line

    from store.client.server import ServerStore

    monkeypatch.setattr(ServerStore, "_check", lambda self: None)
    store = ServerStore.open(url, api_key="k3y-value")
    assert store.location == url.replace("admin:s3cret-pw", "***")  # what tables, metrics.json and the report show
    store.close()


# 10. cosmetic but real


def test_bidi_nul_and_huge_labels_are_inert_in_the_report_and_galleries(tmp_path):
    folder = tmp_path / "data" / "labels"
    labels = ["\u202eevil", "nul\x00label", "x" * 10_000]
    lines = []
    for c, label in enumerate(labels):
        for i in range(2):
            (folder / "images").mkdir(parents=True, exist_ok=True)
            make_image(list(CLASS_COLOURS.values())[c], 10 * c + i).save(folder / "images" / f"{c}{i}.jpg")
            lines.append(f"{c}{i}.jpg\t{label}")
    (folder / "list_of_images.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest(tmp_path)
    result = run_cli("--storage", "q", "eval", "--data-root", "data", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "\x00" not in page and "\u202e" not in page
    assert "nul\\x00label" in page and "\\u202eevil" in page
    assert (tmp_path / "reports" / "labels_colorhist" / "best.png").stat().st_size > 0


def test_gallery_text_is_inert_and_long_text_is_cut():
    from media.sheets import TILE, _font, fit

    font = _font(12)
    assert fit("\u202eabc\x00", font, TILE) == "\\u202eabc\\x00"
    cut = fit("y" * 10_000, font, TILE, keep_start=True)
    assert cut.endswith("...") and font.getlength(cut) <= TILE < font.getlength(cut[:-3] + "yyyy...")


def test_qdrant_client_warnings_never_precede_the_error(tmp_path):
    result = spawn_cli("--qdrant-url", f"http://127.0.0.1:{_closed_port()}", "collections", cwd=tmp_path)
    one_line_error(result)
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import warnings, store.client.embedded; "
            "warnings.warn('Local mode is not recommended for collections with more than 20,000 points.')",
        ],
        capture_output=True,
        text=True,
        env=CLI_ENV,
    )
    assert shown.returncode == 0 and shown.stderr == ""
