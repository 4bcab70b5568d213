"""`datasets fetch` against a loopback HTTP server that serves small archives in the official layouts.

The catalogue's own entries are used with their URLs pointed at the local server (and, where an
entry has a published checksum, the md5 of the generated archive), so the placement rules tested
are the real ones. Expected bytes and digests come from the generated archives, never from the code.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from errors import DatasetError, DownloadError
from ingest import read_dataset
from ingest.fetching.archives import unpack
from ingest.fetching.catalogue import CATALOGUE, Place
from ingest.fetching.fetch import FetchSettings, fetch, plan


@dataclass
class Served:
    """What the server holds and saw: files by path, requests as (path, Range header)."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_once: set[str] = field(default_factory=set)
    ignore_range: bool = False
    base: str = ""


class Handler(BaseHTTPRequestHandler):
    """GET with `Range: bytes=N-` support; drops the connection half-way once for paths in drop_once."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        served: Served = self.server.served
        wanted = self.headers.get("Range")
        served.requests.append((self.path, wanted))
        blob = served.files.get(self.path)
        if blob is None:
            self.send_error(404)
            return
        start = 0
        if wanted and not served.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted)[1])
            if start >= len(blob):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(blob)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
        else:
            self.send_response(200)
        body = blob[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in served.drop_once:
            served.drop_once.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http() -> Iterator[Served]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.served = Served(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.served
    server.shutdown()
    server.server_close()


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz", links: tuple = ()) -> bytes:
    """A tar archive of files (name -> bytes) and links ((name, type, target), ...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, kind, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tar.addfile(info)
    return buffer.getvalue()


def serve_entry(http: Served, name: str, blobs: dict[str, bytes], checksums: bool = True) -> dict:
    """A catalogue holding entry `name` with its files served from `http` (blobs by file name); a
    published checksum becomes the md5 of the served blob, a published size its size."""
    entry = CATALOGUE[name]
    files = []
    for file in entry.files:
        blob = blobs[file.filename]
        http.files[f"/{name}/{file.filename}"] = blob
        checksum = f"md5:{hashlib.md5(blob).hexdigest()}" if file.checksum and checksums else file.checksum
        size = len(blob) if file.size is not None else None  # a published size is the served file's
        files.append(replace(file, url=f"{http.base}/{name}/{file.filename}", checksum=checksum, size=size))
    return {name: replace(entry, files=tuple(files))}


def oxford_blobs() -> dict[str, bytes]:
    jpgs = {"all_souls_000000.jpg": b"souls-0", "radcliffe_camera_000519.jpg": b"radcliffe" * 1000}
    gnd = {"imlist": ["all_souls_000000", "radcliffe_camera_000519"], "qimlist": ["all_souls_000000"], "gnd": []}
    return {
        "oxbuild_images-v1.tgz": tar_bytes({**jpgs, "README.txt": b"not an image"}),
        "gnd_roxford5k.pkl": pickle.dumps(gnd),
    }


def voc_blobs() -> dict[str, bytes]:
    top = "VOCdevkit/VOC2007/"
    members = {
        f"{top}JPEGImages/000005.jpg": b"jpeg-000005",
        f"{top}JPEGImages/000007.jpg": b"jpeg-000007" * 500,
        f"{top}Annotations/000005.xml": b"<annotation><object><name>chair</name></object></annotation>",
        f"{top}ImageSets/Main/val.txt": b"000005\n000007\n",
    }
    return {"VOCtrainval_06-Nov-2007.tar": tar_bytes(members, "w")}


@contextmanager
def progress_log(log: list):
    def factory(title: str):
        @contextmanager
        def bar():
            yield lambda done, total: log.append((title, done, total))

        return bar()

    yield factory


def test_roxford5k_is_downloaded_flattened_and_left_alone_on_a_rerun(http, tmp_path):
    blobs = oxford_blobs()
    catalogue = serve_entry(http, "roxford5k", blobs)
    log: list = []
    with progress_log(log) as progress:
        report = fetch("roxford5k", tmp_path, catalogue, progress=progress)
    folder = tmp_path / "roxford5k"
    assert sorted(p.name for p in (folder / "jpg").iterdir()) == ["all_souls_000000.jpg", "radcliffe_camera_000519.jpg"]
    assert (folder / "jpg" / "radcliffe_camera_000519.jpg").read_bytes() == b"radcliffe" * 1000
    assert (folder / "gnd_roxford5k.pkl").read_bytes() == blobs["gnd_roxford5k.pkl"]
    assert (report.placed, report.skipped) == (3, 1)  # README.txt is no .jpg: left out
    tgz = blobs["oxbuild_images-v1.tgz"]
    [archive, gnd] = report.files
    assert (archive.bytes, archive.sha256, archive.verified) == (len(tgz), hashlib.sha256(tgz).hexdigest(), None)
    assert ("oxbuild_images-v1.tgz", len(tgz), len(tgz)) in log  # the bar's total is the Content-Length
    assert (tmp_path / "downloads" / "roxford5k" / "oxbuild_images-v1.tgz").read_bytes() == tgz
    assert json.loads((folder / ".fetched.json").read_text())["name"] == "roxford5k"

    before = len(http.requests)
    again = fetch("roxford5k", tmp_path, catalogue)
    assert again.already and len(http.requests) == before


def test_rparis6k_flattens_the_landmark_folders_of_both_archives(http, tmp_path):
    blobs = {
        "paris_1-v1.tgz": tar_bytes({"paris/defense/paris_defense_000000.jpg": b"d0", "paris/eiffel/": b""}),
        "paris_2-v1.tgz": tar_bytes({"paris/louvre/paris_louvre_000001.jpg": b"l1"}),
        "gnd_rparis6k.pkl": pickle.dumps({"imlist": [], "qimlist": [], "gnd": []}),
    }
    fetch("rparis6k", tmp_path, serve_entry(http, "rparis6k", blobs))
    jpg = tmp_path / "rparis6k" / "jpg"
    assert {p.name: p.read_bytes() for p in jpg.iterdir()} == {
        "paris_defense_000000.jpg": b"d0",
        "paris_louvre_000001.jpg": b"l1",
    }


def test_voc2007_keeps_the_devkit_layout_and_checks_the_md5(http, tmp_path):
    report = fetch("voc2007", tmp_path, serve_entry(http, "voc2007", voc_blobs()))
    voc = tmp_path / "VOCdevkit" / "VOC2007"
    assert (voc / "JPEGImages" / "000007.jpg").read_bytes() == b"jpeg-000007" * 500
    assert (voc / "Annotations" / "000005.xml").is_file()
    assert (voc / "ImageSets" / "Main" / "val.txt").read_text() == "000005\n000007\n"
    assert report.files[0].verified is True


def test_imagenette_val_split_becomes_named_class_folders(http, tmp_path):
    archive = tar_bytes(
        {
            "imagenette2-160/val/n01440764/ILSVRC2012_val_00009111.JPEG": b"tench",
            "imagenette2-160/val/n03888257/ILSVRC2012_val_00001000.JPEG": b"chute",
            "imagenette2-160/train/n01440764/n01440764_1.JPEG": b"train",
            "imagenette2-160/noisy_imagenette.csv": b"path,label\n",
        }
    )
    fetch("imagenette", tmp_path, serve_entry(http, "imagenette", {"imagenette2-160.tgz": archive}))
    dataset = read_dataset(tmp_path / "imagenette")
    assert dataset.classes == ["parachute", "tench"]
    assert [item.path for item in dataset.items] == [
        "parachute/ILSVRC2012_val_00001000.JPEG",
        "tench/ILSVRC2012_val_00009111.JPEG",
    ]


def test_a_checksum_mismatch_is_refused_and_the_file_set_aside(http, tmp_path):
    catalogue = serve_entry(http, "voc2007", voc_blobs())
    entry = catalogue["voc2007"]
    wrong = replace(entry.files[0], checksum="md5:" + hashlib.md5(b"something else").hexdigest())
    with pytest.raises(DownloadError, match="is not the published"):
        fetch("voc2007", tmp_path, {"voc2007": replace(entry, files=(wrong,))})
    downloads = tmp_path / "downloads" / "voc2007"
    assert not (downloads / "VOCtrainval_06-Nov-2007.tar").exists()
    assert (downloads / "VOCtrainval_06-Nov-2007.tar.rejected").is_file()
    assert not (tmp_path / "VOCdevkit").exists()


def test_a_file_placed_by_hand_is_verified_before_use(http, tmp_path):
    catalogue = serve_entry(http, "voc2007", voc_blobs())
    downloads = tmp_path / "downloads" / "voc2007"
    downloads.mkdir(parents=True)
    (downloads / "VOCtrainval_06-Nov-2007.tar").write_bytes(b"a truncated copy")
    with pytest.raises(DownloadError, match="md5"):
        fetch("voc2007", tmp_path, catalogue)
    assert http.requests == [] and not (tmp_path / "VOCdevkit").exists()


def test_an_interrupted_download_resumes_with_range_on_the_next_call(http, tmp_path):
    blobs = voc_blobs()
    tar = blobs["VOCtrainval_06-Nov-2007.tar"]
    catalogue = serve_entry(http, "voc2007", blobs)
    http.drop_once.add("/voc2007/VOCtrainval_06-Nov-2007.tar")
    with pytest.raises(DownloadError, match="rerun the same command to resume"):
        fetch("voc2007", tmp_path, catalogue, settings=FetchSettings(retries=0))
    part = tmp_path / "downloads" / "voc2007" / "VOCtrainval_06-Nov-2007.tar.part"
    assert part.read_bytes() == tar[: len(tar) // 2]
    assert plan("voc2007", tmp_path, catalogue).files[0].state == "partial"

    report = fetch("voc2007", tmp_path, catalogue, settings=FetchSettings(retries=0))
    assert http.requests[-1] == ("/voc2007/VOCtrainval_06-Nov-2007.tar", f"bytes={len(tar) // 2}-")
    assert (tmp_path / "downloads" / "voc2007" / "VOCtrainval_06-Nov-2007.tar").read_bytes() == tar
    assert (report.files[0].how, report.files[0].verified) == ("resumed", True)
    assert (tmp_path / "VOCdevkit" / "VOC2007" / "JPEGImages" / "000007.jpg").read_bytes() == b"jpeg-000007" * 500


def test_a_dropped_connection_is_resumed_within_one_call(http, tmp_path):
    tar = voc_blobs()["VOCtrainval_06-Nov-2007.tar"]
    catalogue = serve_entry(http, "voc2007", voc_blobs())
    http.drop_once.add("/voc2007/VOCtrainval_06-Nov-2007.tar")
    fetch("voc2007", tmp_path, catalogue)
    assert [wanted for _, wanted in http.requests] == [None, f"bytes={len(tar) // 2}-"]
    assert (tmp_path / "downloads" / "voc2007" / "VOCtrainval_06-Nov-2007.tar").read_bytes() == tar


def test_a_server_ignoring_range_restarts_the_file_cleanly(http, tmp_path):
    catalogue = serve_entry(http, "voc2007", voc_blobs())
    downloads = tmp_path / "downloads" / "voc2007"
    downloads.mkdir(parents=True)
    (downloads / "VOCtrainval_06-Nov-2007.tar.part").write_bytes(b"garbage that must not stay in front")
    http.ignore_range = True
    report = fetch("voc2007", tmp_path, catalogue)
    assert http.requests[0][1] == "bytes=35-"
    assert (downloads / "VOCtrainval_06-Nov-2007.tar").read_bytes() == voc_blobs()["VOCtrainval_06-Nov-2007.tar"]
    assert report.files[0].verified is True


OUTSIDE = [
    pytest.param({"../escaped.jpg": b"x"}, (), id="dotdot-member"),
    pytest.param({"jpg/../../escaped.jpg": b"x"}, (), id="dotdot-inside-member"),
    pytest.param({"/tmp/escaped.jpg": b"x"}, (), id="absolute-member"),
    pytest.param({}, (("evil.jpg", tarfile.SYMTYPE, "../../escaped.jpg"),), id="symlink-relative"),
    pytest.param({}, (("evil.jpg", tarfile.SYMTYPE, "/etc/passwd"),), id="symlink-absolute"),
    pytest.param({}, (("evil.jpg", tarfile.LNKTYPE, "../escaped.jpg"),), id="hardlink"),
]


@pytest.mark.parametrize(("members", "links"), OUTSIDE)
def test_an_archive_member_escaping_the_folder_refuses_the_archive(http, tmp_path, members, links):
    root = tmp_path / "deep" / "data"
    blobs = oxford_blobs()
    blobs["oxbuild_images-v1.tgz"] = tar_bytes({"good.jpg": b"fine", **members}, links=links)
    with pytest.raises(DatasetError, match="outside the target folder"):
        fetch("roxford5k", root, serve_entry(http, "roxford5k", blobs))
    written = [p for p in tmp_path.rglob("*") if p.is_file() or p.is_symlink()]
    assert all(p.parent.name == "roxford5k" and p.parent.parent.name == "downloads" for p in written), written
    assert not (root / "roxford5k").exists()


def test_a_zip_member_escaping_the_folder_is_refused(tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("set/a.jpg", b"fine")
        zipped.writestr("set/../../escaped.jpg", b"x")
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(DatasetError, match="outside the target folder"):
        unpack(archive, "zip", (Place("set/", "images/"),), folder=folder, advance=lambda done, total: None)
    assert list(folder.iterdir()) == [] and not (tmp_path / "escaped.jpg").exists()


def test_a_zip_symlink_pointing_outside_is_refused(tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        link = zipfile.ZipInfo("set/a.jpg")
        link.external_attr = (0o120777 << 16) | 0x20
        zipped.writestr(link, "../../../etc/passwd")
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(DatasetError, match="links to '../../../etc/passwd'"):
        unpack(archive, "zip", (Place("set/", "images/"),), folder=folder, advance=lambda done, total: None)
    assert list(folder.iterdir()) == []


def test_offline_fails_at_once_with_one_line_naming_the_urls_and_the_folder(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    entry = CATALOGUE["roxford5k"]
    urls = [f"http://127.0.0.1:{port}/{file.filename}" for file in entry.files]
    offline = {
        "roxford5k": replace(entry, files=tuple(replace(f, url=u) for f, u in zip(entry.files, urls, strict=True)))
    }
    with pytest.raises(DownloadError) as raised:
        fetch("roxford5k", tmp_path, offline, settings=FetchSettings(connect_timeout=2))
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"cannot reach 127.0.0.1:{port}")
    assert all(url in message for url in urls)
    assert str(tmp_path / "downloads" / "roxford5k") in message
    assert not (tmp_path / "roxford5k").exists()


def test_http_errors_and_unknown_names_are_one_line_errors(http, tmp_path):
    catalogue = serve_entry(http, "voc2007", voc_blobs())
    http.files.clear()
    with pytest.raises(DownloadError, match="answered HTTP 404"):
        fetch("voc2007", tmp_path, catalogue)
    with pytest.raises(DatasetError, match="no public dataset 'coco'.*known: voc2007"):
        fetch("coco", tmp_path, catalogue)


def test_a_folder_not_made_by_fetch_is_left_alone(http, tmp_path):
    (tmp_path / "VOCdevkit" / "VOC2007").mkdir(parents=True)
    with pytest.raises(DatasetError, match="not made by `datasets fetch`"):
        fetch("voc2007", tmp_path, serve_entry(http, "voc2007", voc_blobs()))
    assert http.requests == []


def test_cli_lists_the_catalogue_as_json():
    from cli import cli

    result = CliRunner().invoke(cli, ["datasets", "fetch", "--list", "--format", "json"], catch_exceptions=False)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"roxford5k", "rparis6k", "voc2007", "imagenette"}
    assert rows["voc2007"]["files"][0]["checksum"] == "md5:c52e279531787c972589f7e41ab4ae64"
    assert all(file["checksum_source"] for row in rows.values() for file in row["files"])
