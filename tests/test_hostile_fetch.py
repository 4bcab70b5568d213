"""A hostile user's third round (issue 23), `datasets fetch` through the CLI against loopback servers: an
archive that unpacks past its limit, a size other than the catalogue's, redirects (reported, https to
http refused), a full disk and a member name too long: one line each, no staging folder left."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from errors import RetrievalError
from ingest.fetching.catalogue import CATALOGUE
from tests.hostile import small_file_system
from tests.test_fetch import Handler, Served, oxford_blobs, serve_entry, tar_bytes


@dataclass
class Redirecting(Served):
    moved: dict[str, str] | None = None  # path -> Location


class RedirectHandler(Handler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        target = (self.server.served.moved or {}).get(self.path)
        if target is None:
            super().do_GET()
            return
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def http() -> Iterator[Redirecting]:
    yield from _server()


def _server(context: ssl.SSLContext | None = None) -> Iterator[Redirecting]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RedirectHandler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if context else "http"
    server.served = Redirecting(base=f"{scheme}://127.0.0.1:{server.server_address[1]}", moved={})
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.served
    server.shutdown()
    server.server_close()


def fetch_cli(data_root: Path, *extra: str):
    """`datasets fetch roxford5k` in-process (the catalogue entry points at the loopback server)."""
    args = ["datasets", "fetch", "roxford5k", "--data-root", str(data_root), *extra]
    return CliRunner().invoke(cli.cli, args)


def one_line(result) -> str:
    assert isinstance(result.exception, RetrievalError), result.output
    message = str(result.exception)
    assert "\n" not in message and "Errno" not in message
    return message


def nothing_left(data_root: Path) -> None:
    assert not (data_root / "roxford5k").exists()
    assert not (data_root / "downloads" / "roxford5k" / "unpacking").exists()


# 8. unpacked size, size mismatch, redirects


def test_an_archive_that_unpacks_past_its_limit_is_refused(http, tmp_path, monkeypatch):
    blobs = oxford_blobs()
    blobs["oxbuild_images-v1.tgz"] = tar_bytes({"all_souls_000001.jpg": bytes(100 << 20)})  # 100 MiB of zeros
    monkeypatch.setitem(CATALOGUE, "roxford5k", serve_entry(http, "roxford5k", blobs)["roxford5k"])
    assert len(blobs["oxbuild_images-v1.tgz"]) < 1 << 20
    message = one_line(fetch_cli(tmp_path))
    assert "would unpack to 104,857,600 bytes" in message and "--max-unpacked" in message
    nothing_left(tmp_path)
    small = one_line(fetch_cli(tmp_path, "--max-unpacked", "1000"))  # the flag lowers it too
    assert "more than the 1,000 allowed" in small
    done = fetch_cli(tmp_path, "--max-unpacked", str(200 << 20))
    assert done.exit_code == 0, done.output
    assert (tmp_path / "roxford5k" / "jpg" / "all_souls_000001.jpg").stat().st_size == 100 << 20


def test_a_size_other_than_the_catalogues_is_an_error_unless_allowed(http, tmp_path, monkeypatch):
    entry = serve_entry(http, "roxford5k", oxford_blobs())["roxford5k"]
    archive = entry.files[0]
    entry = replace(entry, files=(replace(archive, size=archive.size + 1, checksum=None), *entry.files[1:]))
    monkeypatch.setitem(CATALOGUE, "roxford5k", entry)
    message = one_line(fetch_cli(tmp_path))
    assert "the catalogue says" in message and "--allow-size-mismatch" in message
    nothing_left(tmp_path)
    allowed = fetch_cli(tmp_path, "--allow-size-mismatch")
    assert allowed.exit_code == 0, allowed.output
    assert f"the catalogue says {archive.size + 1:,} (used: --allow-size-mismatch)" in allowed.output


def test_a_server_sending_more_than_the_published_size_is_stopped(http, tmp_path, monkeypatch):
    entry = serve_entry(http, "roxford5k", oxford_blobs())["roxford5k"]
    archive = entry.files[0]
    http.files[f"/roxford5k/{archive.filename}"] += bytes(1 << 20)  # the published size, then a flood
    monkeypatch.setitem(
        CATALOGUE, "roxford5k", replace(entry, files=(replace(archive, checksum=None), *entry.files[1:]))
    )
    message = one_line(fetch_cli(tmp_path))
    assert f"more than the catalogue's {archive.size:,} bytes" in message
    assert not any((tmp_path / "downloads" / "roxford5k").glob("oxbuild*"))
    nothing_left(tmp_path)


def test_every_redirect_is_reported(http, tmp_path, monkeypatch):
    entry = serve_entry(http, "roxford5k", oxford_blobs())["roxford5k"]
    archive = entry.files[0]
    http.moved = {"/old/a.tgz": "/older/a.tgz", "/older/a.tgz": f"/roxford5k/{archive.filename}"}
    entry = replace(entry, files=(replace(archive, url=f"{http.base}/old/a.tgz"), *entry.files[1:]))
    monkeypatch.setitem(CATALOGUE, "roxford5k", entry)
    shown = fetch_cli(tmp_path)
    assert shown.exit_code == 0, shown.output
    assert f"redirected: {http.base}/old/a.tgz -> {http.base}/older/a.tgz -> {http.base}/roxford5k/" in shown.output
    record = json.loads((tmp_path / "roxford5k" / ".fetched.json").read_text())
    assert record["files"][0]["redirects"] == [f"{http.base}/older/a.tgz", f"{http.base}/roxford5k/{archive.filename}"]


@pytest.fixture
def https(tmp_path, monkeypatch) -> Iterator[Redirecting]:
    """A loopback https server whose self-signed certificate this process trusts (SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield from _server(context)


def test_a_redirect_from_https_to_plain_http_is_refused(http, https, tmp_path, monkeypatch):
    entry = serve_entry(http, "roxford5k", oxford_blobs())["roxford5k"]
    archive = entry.files[0]
    https.moved = {"/a.tgz": archive.url}  # to the plain http server
    entry = replace(entry, files=(replace(archive, url=f"{https.base}/a.tgz"), *entry.files[1:]))
    monkeypatch.setitem(CATALOGUE, "roxford5k", entry)
    message = one_line(fetch_cli(tmp_path))
    assert "from https to plain http; refused" in message and archive.url in message
    assert not any(path == f"/roxford5k/{archive.filename}" for path, _ in http.requests)
    nothing_left(tmp_path)


# 10. full disk and names too long


def test_a_member_name_too_long_for_the_file_system_is_one_line(http, tmp_path, monkeypatch):
    blobs = oxford_blobs()
    blobs["oxbuild_images-v1.tgz"] = tar_bytes({f"{'x' * 300}.jpg": b"jpeg", "all_souls_000000.jpg": b"jpeg"})
    monkeypatch.setitem(CATALOGUE, "roxford5k", serve_entry(http, "roxford5k", blobs)["roxford5k"])
    message = one_line(fetch_cli(tmp_path))
    assert "File name too long" in message and "staging folder was removed" in message
    nothing_left(tmp_path)


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 1 MiB file system (a tmpfs: needs root; skipped elsewhere)."""
    with small_file_system(tmp_path / "small", "1m") as folder:
        yield folder


def test_a_full_disk_while_unpacking_is_one_line_and_leaves_no_staging(http, small_disk, monkeypatch):
    blobs = oxford_blobs()
    blobs["oxbuild_images-v1.tgz"] = tar_bytes({"all_souls_000001.jpg": bytes(4 << 20)})  # 4 MiB > the disk
    monkeypatch.setitem(CATALOGUE, "roxford5k", serve_entry(http, "roxford5k", blobs)["roxford5k"])
    message = one_line(fetch_cli(small_disk))
    assert "No space left on device" in message and "staging folder was removed" in message
    nothing_left(small_disk)
