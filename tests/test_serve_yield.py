"""`serve` yields a collection to a command waiting for it, and a page of a collection another process holds
answers at once: the processes are the point, so the waiters and holders are processes of their own."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from errors import CollectionBusyError
from store import OpenOptions, open_store, point_id
from store.admission import one_request
from store.edge.holders import Holder
from store.edge.store_folder import HOLDER, folder_name
from tests.conftest import CLI_ENV, ROOT, write_list_dataset
from tests.hostile import ingest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock and /proc as on Linux")
HELD = "shapes_colorhist"
SERVED_WAIT = 60.0  # serve's --wait: a page must not wait for it


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """Two tiny collections (shapes_colorhist, dots_colorhist) in the store 'q' of a module folder."""
    tmp = tmp_path_factory.mktemp("yield")
    write_list_dataset(tmp / "data" / "shapes", per_class=2)
    write_list_dataset(tmp / "data" / "dots", per_class=1)
    ingest(tmp)
    return tmp


@pytest.fixture
def client(shared: Path):
    """The web app over the store as `serve` opens it (yielding, with idle release), its store closed after."""
    from fastapi.testclient import TestClient

    from commands.serving import IDLE_RELEASE
    from web import create_app
    from web.backend import Options

    store = open_store(
        path=shared / "q", options=OpenOptions(wait=SERVED_WAIT, idle_release=IDLE_RELEASE, yielding=True)
    )
    yield TestClient(create_app(lambda: store, Options(shared / "data", shared / "reports", "cpu")))
    store.close()


def _collection(shared: Path) -> Path:
    return shared / "q" / "collections" / folder_name(HELD)


def _python(shared: Path, code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=shared, env=CLI_ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _until(found, what: str, limit: float = 60.0):
    deadline = time.monotonic() + limit
    while not (value := found()):
        assert time.monotonic() < deadline, f"no {what} within {limit:g} s"
        time.sleep(0.01)
    return value


def _holder_pid(shared: Path) -> int | None:
    try:
        return json.loads((_collection(shared) / HOLDER).read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def test_serve_lets_go_of_a_collection_a_command_waits_for_and_takes_it_back(shared, client):
    assert client.get(f"/c/{HELD}").status_code == 200  # serve holds it now
    statuses: list[int] = []
    stop = threading.Event()

    def browse() -> None:  # a page of the collection every 0.3 s: it is never idle for serve's idle release
        while not stop.is_set():
            statuses.append(client.get(f"/c/{HELD}").status_code)
            stop.wait(0.3)

    browsing = threading.Thread(target=browse)
    browsing.start()
    try:
        waiter = subprocess.Popen(  # a fresh `search` of the collection, with its default --wait (10 s)
            [sys.executable, str(ROOT / "cli.py"), "--storage", "q", "search", "-c", HELD, "--path", "red/00.jpg",
             "--format", "json"],
            cwd=shared, env=CLI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wanted = _collection(shared) / f"wanted-{waiter.pid}"
        asked = None
        while _holder_pid(shared) != waiter.pid and waiter.poll() is None:  # when it asked, when it got it
            asked = asked or (wanted.exists() and time.monotonic())
            time.sleep(0.01)
        got = time.monotonic()
        out, err = waiter.communicate(timeout=120)
    finally:
        stop.set()
        browsing.join()
    assert waiter.returncode == 0, err  # within its default --wait: serve let go while pages came every 0.3 s
    assert len(json.loads(out)["hits"]) == 5
    assert asked, "the waiter got the collection without waiting: serve did not hold it"
    print(f"\nthe waiter waited {got - asked:.2f} s for serve to let go")
    assert not wanted.exists()
    assert client.get(f"/c/{HELD}").status_code == 200 and _holder_pid(shared) == os.getpid()  # taken back
    assert 200 in statuses and set(statuses) <= {200, 503}


def test_a_waiter_killed_with_minus_9_leaves_no_lasting_yield(shared, client):
    plain = open_store(path=shared / "q")  # a command's hold, which does not yield
    plain.hold(HELD)
    waiter = _python(
        shared,
        f"from store import OpenOptions, open_store; open_store(path='q', options=OpenOptions(wait=60)).hold({HELD!r})",
    )
    wanted = _collection(shared) / f"wanted-{waiter.pid}"
    try:
        _until(wanted.exists, "wanted file")
    finally:
        waiter.send_signal(signal.SIGKILL)
        waiter.wait()
        plain.close()
    assert wanted.exists()  # the killed waiter could not remove it
    assert client.get(f"/c/{HELD}").status_code == 200  # its lock went with it: nobody waits
    time.sleep(0.5)  # a few of serve's looks for waiters
    assert client.get(f"/c/{HELD}").status_code == 200 and _holder_pid(shared) == os.getpid()  # still held by serve
    assert not wanted.exists()


def test_a_page_of_a_collection_another_process_holds_answers_at_once(shared, client):
    """The holder lets go as soon as anyone waits for the collection (a wanted file appears): a page that waited
    would get it and answer 200, so the 503s below show that no page waited."""
    holder = _python(
        shared,
        f"import time; from pathlib import Path; from store import open_store; s = open_store(path='q'); "
        f"s.hold({HELD!r}); print('held', flush=True)\n"
        f"while not list(Path({str(_collection(shared))!r}).glob('wanted-*')): time.sleep(0.02)\n"
        "s.close()",
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = client.get(f"/c/{HELD}")
        home = client.get("/")
        data_answers = [
            client.get(f"/c/{HELD}/map.json"),
            client.get(f"/c/{HELD}/thumb/{point_id('shapes', 'red/00.jpg')}"),
        ]
    finally:
        holder.kill()
        holder.wait()
    assert busy.status_code == 503 and busy.headers["retry-after"]
    assert f"Collection {HELD} is in use by process {holder.pid} (python -c" in busy.text
    for data in data_answers:  # what a script reads: JSON, not the page
        assert data.status_code == 503 and data.headers["retry-after"] and data.json()["busy"] is True
        assert data.json()["collection"] == HELD and data.json()["holder"].startswith(f"process {holder.pid} (")
    assert "try again in a moment" in busy.text
    assert home.status_code == 200
    assert f"collection &#39;{HELD}&#39; is held by process {holder.pid}" in home.text
    assert 'href="/c/dots_colorhist"' in home.text


@contextlib.contextmanager
def _waiting(shared: Path) -> Iterator[None]:
    """A process waiting for HELD, as the yielding store sees one: a wanted file under an flock (this process's,
    on a file description of its own, which the store's own looks cannot take)."""
    wanted = _collection(shared) / "wanted-1"
    fd = os.open(wanted, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, json.dumps({"pid": 1, "command": "cli.py eval"}).encode(), 0)
        yield
    finally:
        os.close(fd)
        wanted.unlink(missing_ok=True)


def _refused(store) -> bool:
    """Whether a new request's call on HELD is refused, the waiter named."""
    with one_request():
        try:
            store.count(HELD)
        except CollectionBusyError as error:
            return "process 1 (cli.py eval" in str(error)
    return False


def test_a_page_that_began_using_a_collection_finishes_when_a_waiter_comes_new_requests_are_refused(
    shared, client, monkeypatch
):
    from web import backend

    summarize, waiter = backend.summarize, contextlib.ExitStack()

    def waiter_arrives(store, name, **options):  # after the page's first call (the collection's info)
        waiter.enter_context(_waiting(shared))
        _until(lambda: _refused(store), "refusal of a new request")
        return summarize(store, name, **options)  # every point read, a page at a time

    monkeypatch.setattr(backend, "summarize", waiter_arrives)
    with waiter:
        assert client.get(f"/c/{HELD}").status_code == 200  # the page went on to its end
        holder = Holder(_collection(shared), HELD)
        holder.acquire(0)  # and its end let the collection go to the waiter
        holder.release()
