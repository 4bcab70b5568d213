"""A hostile user's third round (issue 23), the web app: the body counted as it arrives (chunked too),
decodes bounded in number, the Host header checked and never reflected, security headers on every
answer, a thumbnail served when it cannot be cached, an incomplete collection flagged; uploads checked
before they are kept, kept within bounds and removed when the server stops (issue 33)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from encoders import build_encoder
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import ImagePayload, Provenance, open_store, point_id
from tests.conftest import CLI_ENV, ROOT, write_list_dataset
from web.backend import MAX_UPLOAD_BYTES
from web.guard import SECURITY_HEADERS

HEADERS = {name.lower(): value for name, value in SECURITY_HEADERS.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """shapes_colorhist (ingested) and half_colorhist, a collection whose write did not finish."""
    tmp = tmp_path_factory.mktemp("hostile-web")
    write_list_dataset(tmp / "data" / "Shapes", per_class=2)
    store = open_store(path=tmp / "q")
    dataset = read_dataset(discover(tmp / "data")["shapes"], "shapes")
    ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))
    unfinished = Provenance("half", str(tmp), "colorhist", "x", {"kind": "none"}, None, 4, complete=False)
    store.ensure_collection("half_colorhist", 4, provenance=unfinished)
    store.upsert(
        "half_colorhist",
        [point_id("half", "a.jpg")],
        np.eye(1, 4),
        payloads=[ImagePayload("a", "a.jpg", "half", "x", 0)],
    )
    store.close()
    return tmp


@pytest.fixture(scope="module")
def opened(built: Path):
    store = open_store(path=built / "q")
    yield store
    store.close()


def client_for(opened, built: Path, reports: str = "reports", **options) -> TestClient:
    from web import create_app
    from web.backend import Options

    app = create_app(lambda: opened, Options(built / "data", built / reports, "cpu", **options))
    return TestClient(app, raise_server_exceptions=False)


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


# 4. the body counted as it arrives


def test_a_chunked_upload_past_the_limit_is_refused(opened, built):
    client = client_for(opened, built)
    chunk = b"x" * (1 << 20)
    sent = []

    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(MAX_UPLOAD_BYTES // len(chunk) + 8):
            sent.append(len(chunk))
            yield chunk

    response = client.post(
        "/c/shapes_colorhist/upload", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413 and "larger than 20 MB" in response.text
    assert all(response.headers[name] == value for name, value in HEADERS.items())


def test_the_running_server_stops_reading_a_chunked_body_and_refuses_other_hosts(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    open_store(path=tmp_path / "q").close()
    args = ["--storage", "q", "serve", "--port", str(port), "--allowed-host", "photos.lan"]
    server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], cwd=tmp_path, env=CLI_ENV)
    try:
        _wait_for(port, server)
        assert _status(port, "evil.example") == 400
        assert _status(port, f"127.0.0.1:{port}") == _status(port, "photos.lan") == 200
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(
                b"POST /c/x/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
            )
            part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
            connection.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            sent = 0
            chunk = b"%x\r\n%s\r\n" % (1 << 16, b"y" * (1 << 16))
            try:
                while sent < 3 * MAX_UPLOAD_BYTES:  # the server hangs up long before
                    connection.sendall(chunk)
                    sent += 1 << 16
            except OSError:
                pass
            answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 2 * MAX_UPLOAD_BYTES
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(port: int, server: subprocess.Popen) -> None:
    for _ in range(600):
        assert server.poll() is None, "serve stopped"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not start")


def _status(port: int, host: str) -> int:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return int(connection.recv(64).split()[1])


# 5. decodes bounded in number


def test_uploads_are_decoded_at_most_max_decodes_at_once(opened, built, monkeypatch):
    import web.backend

    decode = web.backend.load_rgb
    running, most = [0], [0]
    lock = threading.Lock()

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)  # long enough for the other uploads to arrive
        with lock:
            running[0] -= 1
        return decode(*args, **kwargs)

    monkeypatch.setattr(web.backend, "load_rgb", counted)
    client = client_for(opened, built, max_decodes=2)
    answers = []

    def upload():
        files = {"file": ("a.png", png((40, 30)), "image/png")}
        answers.append(client.post("/c/shapes_colorhist/upload", files=files).status_code)

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 6
    assert 1 <= most[0] <= 2


def test_an_upload_that_cannot_get_a_decoding_slot_is_told_to_retry(opened, built, monkeypatch):
    import web.backend

    decode = web.backend.load_rgb
    inside, release = threading.Event(), threading.Event()

    def held(*args, **kwargs):
        inside.set()
        release.wait(30)
        return decode(*args, **kwargs)

    monkeypatch.setattr(web.backend, "load_rgb", held)
    monkeypatch.setattr(web.backend, "DECODE_WAIT", 0.05)
    client = client_for(opened, built, max_decodes=1)
    files = {"file": ("a.png", png((40, 30)), "image/png")}
    first = threading.Thread(target=lambda: client.post("/c/shapes_colorhist/upload", files=files))
    first.start()
    assert inside.wait(30)
    busy = client.post("/c/shapes_colorhist/upload", files=files)
    release.set()
    first.join()
    assert busy.status_code == 503 and busy.headers["retry-after"]
    assert "retry in a moment" in busy.text


# uploads kept within bounds, checked first, removed when the server stops (issue 33)


def _uploaded(temp: Path) -> list[Path]:
    return [file for folder in temp.glob("web-uploads-*") for file in folder.iterdir() if file.name != ".owner"]


def test_an_upload_is_checked_before_it_is_kept_the_oldest_go_first_and_all_go_when_the_server_stops(
    opened, built, tmp_path, monkeypatch
):
    import web.explore

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(web.explore, "KEPT_UPLOADS", 2, raising=False)
    with client_for(opened, built) as client:
        noise = {"file": ("noise.jpg", np.random.default_rng(0).bytes(50_000), "image/jpeg")}
        refused = client.post("/c/shapes_colorhist/upload", files=noise, follow_redirects=False)
        assert refused.status_code == 400 and "not an image" in refused.text
        assert _uploaded(tmp_path) == []  # refused before it was kept, redirect followed or not
        urls = []
        for size in ((40, 30), (41, 30), (42, 30)):
            files = {"file": ("a.png", png(size), "image/png")}
            answer = client.post("/c/shapes_colorhist/upload", files=files, follow_redirects=False)
            assert answer.status_code == 303
            urls.append(answer.headers["location"])
        assert len(_uploaded(tmp_path)) == 2  # the newest two
        assert "upload it again" in client.get(urls[0]).text
        assert all(client.get(url).status_code == 200 for url in urls[1:])
        monkeypatch.setattr(web.explore, "KEPT_UPLOAD_BYTES", len(png((42, 30))), raising=False)
        client.post("/c/shapes_colorhist/upload", files={"file": ("b.png", png((43, 30)), "image/png")})
        assert len(_uploaded(tmp_path)) == 1  # past the bytes, only the newest
        assert list(tmp_path.glob("web-uploads-*"))
    assert not list(tmp_path.glob("web-uploads-*"))  # the server stopped


# 7. Host checked and never reflected; headers on every answer


def test_a_foreign_host_is_refused_and_never_reflected(opened, built):
    served = client_for(opened, built, allowed_hosts=("127.0.0.1", "photos.lan"))
    assert served.get("/", headers={"host": "evil.example"}).status_code == 400
    assert served.get("/", headers={"host": "EVIL.example:8000"}).status_code == 400
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "photos.lan"):
        assert served.get("/", headers={"host": host}).status_code == 200, host
    library = client_for(opened, built)  # no served address: any Host, and still nothing reflected
    page = library.get("/", headers={"host": "evil.example"})
    assert page.status_code == 200 and "evil.example" not in page.text
    assert 'src="/static/app.js"' in page.text
    for url in ("/c/shapes_colorhist/", "/c/nothing", "/c/shapes_colorhist/thumb/x", "/eval", "/eval/nothing"):
        answer = library.get(url, headers={"host": "evil.example"}, follow_redirects=False)
        assert "evil.example" not in answer.text + str(answer.headers), url


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/static/style.css",
        "/c/shapes_colorhist",
        f"/c/shapes_colorhist/thumb/{point_id('shapes', 'red/00.jpg')}",
        "/c/missing",
        "/nowhere",
    ],
)
def test_every_answer_carries_the_security_headers(opened, built, url):
    response = client_for(opened, built).get(url)
    assert {name: response.headers.get(name) for name in HEADERS} == HEADERS, url


# 10. a thumbnail that cannot be cached is served all the same


def test_a_thumbnail_that_cannot_be_cached_is_served_uncached(opened, built):
    (built / "blocked").mkdir()
    (built / "blocked" / ".thumbnails").write_text("a file where the cache folder should be")
    response = client_for(opened, built, reports="blocked").get(
        f"/c/shapes_colorhist/thumb/{point_id('shapes', 'red/00.jpg')}"
    )
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(response.content)).size[0] <= 160


# 2. an incomplete collection is flagged, and its queries refused


def test_an_incomplete_collection_is_flagged_and_its_queries_refused(opened, built):
    client = client_for(opened, built)
    listing = client.get("/")
    assert "not completely written" in listing.text
    response = client.get(f"/c/half_colorhist/p/{point_id('half', 'a.jpg')}")
    assert response.status_code == 400 and "not completely written" in response.text


# 6. credentials out of the server's log


def test_the_servers_log_never_holds_a_password(opened, built, monkeypatch, caplog):
    def broken(self):
        raise RuntimeError("cannot reach http://alice:S3cretPW@qdrant:6333/collections")

    monkeypatch.setattr("web.backend.Backend.collections", broken)
    with caplog.at_level("ERROR", logger="web"):
        response = client_for(opened, built).get("/")
    assert response.status_code == 500 and "S3cretPW" not in response.text
    logged = caplog.text
    assert "error answering /" in logged and "http://***@qdrant:6333" in logged
    assert "S3cretPW" not in logged
