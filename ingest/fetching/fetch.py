"""`datasets fetch`: download a catalogued public dataset, verify it, and unpack it where the readers look.

Downloads go to `<data-root>/downloads/<name>/` through a `.part` file that a rerun resumes (HTTP
Range from its size; a server that ignores Range restarts it from zero). A finished file keeps its
name only once its published checksum matches; a mismatch moves it to `.rejected`. The dataset is
unpacked into a staging folder that becomes `<data-root>/<folder>` only when complete, with
`.fetched.json` in it: a rerun after that does nothing. Nothing here draws: progress goes through
the caller's `progress(title)` factory, in bytes.

httpx (already installed with qdrant-client) is used rather than urllib for its separate connect
and read timeouts: without a network the command fails within the connect timeout, while a slow
server is still given time between chunks.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from errors import DatasetError, DownloadError
from ingest.fetching.archives import Advance, unpack
from ingest.fetching.catalogue import CATALOGUE, Entry, RemoteFile
from ingest.fetching.redirects import followed

ProgressFactory = Callable[[str], AbstractContextManager[Advance]]
MARKER = ".fetched.json"
DOWNLOADS = "downloads"
CHUNK = 1 << 20
UNPACK_MARGIN = 3  # an archive may unpack to this many times its published size (JPEGs do not compress)...
UNPACK_FLOOR = 64 << 20  # ...or this many bytes, whichever is more


@dataclass(frozen=True)
class FetchSettings:
    """How `fetch` downloads and what a download may be: `max_unpacked` bytes per archive (None:
    UNPACK_MARGIN times its published size, at least UNPACK_FLOOR), whether a size other than the
    catalogue's is used anyway, how often a dropped connection is resumed, and the timeouts in seconds."""

    max_unpacked: int | None = None
    allow_size_mismatch: bool = False
    retries: int = 3
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    def unpack_limit(self, file: RemoteFile, size: int) -> int:
        if self.max_unpacked is not None:
            return self.max_unpacked
        return max(UNPACK_MARGIN * (file.size or size), UNPACK_FLOOR)


@dataclass(frozen=True)
class PlannedFile:
    """A catalogue file and what is already on disk: 'present' (complete), 'partial' (`have` bytes) or 'missing'."""

    file: RemoteFile
    state: str
    have: int

    def to_json(self) -> dict:
        return {**self.file.to_json(), "state": self.state, "have": self.have}


@dataclass(frozen=True)
class FetchPlan:
    """What `fetch` will do, known without the network: shown before any byte is downloaded."""

    entry: Entry
    folder: Path
    downloads: Path
    files: list[PlannedFile]
    done: bool

    def to_json(self) -> dict:
        return {
            "name": self.entry.name,
            "folder": str(self.folder),
            "downloads": str(self.downloads),
            "done": self.done,
            "files": [planned.to_json() for planned in self.files],
        }


@dataclass(frozen=True)
class FetchedFile:
    """A file as used: its bytes and sha256, and whether a published checksum verified it (None: none published)."""

    filename: str
    url: str
    bytes: int
    sha256: str
    checksum: str | None
    verified: bool | None
    how: str
    redirects: tuple[str, ...] = ()  # every URL the download was sent on to, in order

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class FetchReport:
    name: str
    folder: Path
    downloads: Path
    files: list[FetchedFile] = field(default_factory=list)
    placed: int = 0
    skipped: int = 0
    already: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "folder": str(self.folder),
            "downloads": str(self.downloads),
            "already": self.already,
            "placed": self.placed,
            "skipped": self.skipped,
            "files": [file.to_json() for file in self.files],
            "notes": self.notes,
        }


def entry_for(name: str, catalogue: dict[str, Entry] | None = None) -> Entry:
    catalogue = CATALOGUE if catalogue is None else catalogue
    if name not in catalogue:
        raise DatasetError(f"no public dataset '{name}' to fetch; known: {', '.join(catalogue)}")
    return catalogue[name]


def plan(name: str, data_root: Path, catalogue: dict[str, Entry] | None = None) -> FetchPlan:
    """The files of dataset `name` and their state on disk; refuses a target folder not made by fetch."""
    entry = entry_for(name, catalogue)
    folder = data_root / entry.folder
    downloads = data_root / DOWNLOADS / entry.name
    done = (folder / MARKER).is_file()
    if folder.exists() and not done:
        raise DatasetError(
            f"'{folder}' already exists and was not made by `datasets fetch`; it is read as it is "
            f"(move it away to fetch a fresh copy)"
        )
    files = []
    for file in entry.files:
        path, part = downloads / file.filename, downloads / f"{file.filename}.part"
        if path.is_file():
            files.append(PlannedFile(file, "present", path.stat().st_size))
        elif part.is_file():
            files.append(PlannedFile(file, "partial", part.stat().st_size))
        else:
            files.append(PlannedFile(file, "missing", 0))
    return FetchPlan(entry, folder, downloads, files, done)


def fetch(
    name: str,
    data_root: Path,
    catalogue: dict[str, Entry] | None = None,
    *,
    progress: ProgressFactory | None = None,
    settings: FetchSettings | None = None,
) -> FetchReport:
    """Download, verify and unpack dataset `name` under `data_root` (see the module's docstring).

    A connection dropped mid-file is resumed up to `settings.retries` times; a host that cannot be reached
    fails at once with one line naming the files to download by hand and the folder to put them in.
    Every redirect is followed by hand and recorded; one from https to plain http is refused. A size
    other than the catalogue's is an error unless `settings` allow it, and an archive that would unpack
    past its limit is refused. A full disk or a name too long for it is one line; the staging folder
    is removed (a `.part` download is kept, to resume).
    """
    import httpx

    progress = progress or (lambda title: nullcontext(lambda done, total: None))
    settings = settings or FetchSettings()
    planned = plan(name, data_root, catalogue)
    report = FetchReport(planned.entry.name, planned.folder, planned.downloads)
    if planned.done:
        report.already = True
        return report
    planned.downloads.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in planned.files:
        path = planned.downloads / item.file.filename
        redirects: list[str] = []
        if item.state == "present":
            with progress(f"verify {item.file.filename}") as advance:
                size, digests = _hash_file(path, advance)
            how = "present"
        else:
            try:
                size, digests = _download(item.file, path, progress, settings=settings, redirects=redirects)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                raise DownloadError(_offline(planned, item.file, error)) from error
            except httpx.TransportError as error:
                raise DownloadError(f"{item.file.url}: {error or type(error).__name__}; rerun to resume") from error
            except OSError as error:
                raise DownloadError(
                    f"cannot write '{path}.part' ({error.strerror or error}); free space and rerun to resume"
                ) from None
            how = "resumed" if item.state == "partial" else "downloaded"
        fetched = _verify(item.file, path, size=size, digests=digests, how=how)
        report.files.append(replace(fetched, redirects=tuple(redirects)))
        if item.file.size is not None and size != item.file.size:
            mismatch = f"{item.file.filename} has {size:,} bytes; the catalogue says {item.file.size:,}"
            if not settings.allow_size_mismatch:
                raise DownloadError(
                    f"{mismatch}: not used (not the published file); check '{path}', then rerun with "
                    f"--allow-size-mismatch to use it, or delete it to download it again"
                )
            report.notes.append(f"{mismatch} (used: --allow-size-mismatch)")
        paths.append(path)
    staging = planned.downloads / "unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        for file, path in zip(planned.entry.files, paths, strict=True):
            limit = settings.unpack_limit(file, path.stat().st_size)
            _place(file, path, staging, progress=progress, report=report, limit=limit)
        (staging / MARKER).write_text(json.dumps({"name": report.name, "files": [f.to_json() for f in report.files]}))
        planned.folder.parent.mkdir(parents=True, exist_ok=True)
        staging.replace(planned.folder)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(
            f"cannot unpack {report.name} into '{staging}' ({_os_reason(error)}); the staging folder was removed: "
            f"free space (or fix the folder) and rerun"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _os_reason(error: OSError) -> str:
    """The error's words and the file it names, shortened (a name too long is the point of some)."""
    reason = error.strerror or str(error)
    if error.filename:
        name = Path(str(error.filename)).name
        reason += f": '{name[:60]}{'…' if len(name) > 60 else ''}'"
    return reason


def _download(
    file: RemoteFile, path: Path, progress: ProgressFactory, *, settings: FetchSettings, redirects: list
) -> tuple[int, dict]:
    """Stream `file.url` into `path`.part, resuming from its size, up to `settings.retries` times more;
    (bytes, digests) of the whole file. The URLs it was redirected to are added to `redirects`."""
    import httpx

    part = path.with_name(f"{path.name}.part")
    attempt = 0
    while True:
        try:
            return _stream(file, part, progress, settings=settings, redirects=redirects)
        except (httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError) as error:
            if attempt == settings.retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"{file.filename}: the connection dropped after {have} bytes ({error or type(error).__name__}); "
                    f"rerun the same command to resume"
                ) from error
            attempt += 1


def _stream(
    file: RemoteFile, part: Path, progress: ProgressFactory, *, settings: FetchSettings, redirects: list
) -> tuple[int, dict]:
    import httpx

    have = part.stat().st_size if part.is_file() else 0
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    cap = None if settings.allow_size_mismatch else file.size
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    with followed(file, headers, timeout=timeout, redirects=redirects) as response:
        if have and (response.status_code == 416 or (response.status_code == 206 and not _resumes_at(response, have))):
            part.unlink()
            return _stream(file, part, progress, settings=settings, redirects=redirects)
        if response.status_code not in (200, 206):
            raise DownloadError(
                f"{file.url} answered HTTP {response.status_code}; download it by hand into "
                f"'{part.parent}' and rerun the same command"
            )
        if response.status_code == 200:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        digests = _hash_file(part, lambda done, total: None, have)[1] if have else _digests()
        with part.open("ab" if have else "wb") as out, progress(file.filename) as advance:
            advance(have, total)
            for chunk in response.iter_raw():
                if cap is not None and have + len(chunk) > cap:  # a server sending more than published
                    out.close()
                    part.unlink()
                    raise DownloadError(
                        f"{file.url} sends more than the catalogue's {cap:,} bytes; stopped and deleted "
                        f"(rerun with --allow-size-mismatch to take it whole)"
                    )
                out.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
                have += len(chunk)
                advance(have, total)
    if total is not None and have != total:
        raise httpx.RemoteProtocolError(f"received {have} of {total} bytes")
    part.replace(part.with_name(part.name.removesuffix(".part")))
    return have, digests


def _resumes_at(response, have: int) -> bool:
    """A 206 whose Content-Range starts where the partial file ends."""
    content_range = response.headers.get("Content-Range", "")
    return content_range.startswith(f"bytes {have}-")


def _digests() -> dict:
    return {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}


def _hash_file(path: Path, advance: Advance, limit: int | None = None) -> tuple[int, dict]:
    """md5 and sha256 of the first `limit` bytes of `path` (all when None)."""
    digests = _digests()
    total = path.stat().st_size if limit is None else limit
    done = 0
    with path.open("rb") as source:
        while done < total:
            chunk = source.read(min(CHUNK, total - done))
            if not chunk:
                break
            for digest in digests.values():
                digest.update(chunk)
            done += len(chunk)
            advance(done, total)
    return done, digests


def _verify(file: RemoteFile, path: Path, *, size: int, digests: dict, how: str) -> FetchedFile:
    """The file's record; a published checksum that does not match moves it aside and stops the fetch."""
    sha256 = digests["sha256"].hexdigest()
    if file.checksum is None:
        return FetchedFile(file.filename, file.url, size, sha256, None, None, how)
    algorithm, expected = file.checksum.split(":", 1)
    actual = digests[algorithm].hexdigest()
    if actual != expected.lower():
        rejected = path.with_name(f"{path.name}.rejected")
        path.replace(rejected)
        raise DownloadError(
            f"{file.filename}: {algorithm} {actual} is not the published {expected} ({file.checksum_source}); "
            f"moved to '{rejected}' — rerun to download it again"
        )
    return FetchedFile(file.filename, file.url, size, sha256, file.checksum, True, how)


def _place(
    file: RemoteFile, path: Path, staging: Path, *, progress: ProgressFactory, report: FetchReport, limit: int
) -> None:
    if file.archive is None:
        target = staging / (file.save_as or file.filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        report.placed += 1
        return
    with progress(f"unpack {file.filename}") as advance:
        unpacked = unpack(path, file.archive, file.places, folder=staging, advance=advance, limit=limit)
    report.placed += unpacked.placed
    report.skipped += unpacked.skipped


def _offline(planned: FetchPlan, failed: RemoteFile, error: Exception) -> str:
    """One line: the host could not be reached; which URLs to download by hand, and where to put them."""
    wanted = [file.url for file in planned.entry.files if not (planned.downloads / file.filename).is_file()]
    host = urlsplit(failed.url).netloc
    return (
        f"cannot reach {host} ({error or type(error).__name__}); download {' '.join(wanted)} into "
        f"'{planned.downloads}' and rerun `python cli.py datasets fetch {planned.entry.name} "
        f"--data-root {planned.downloads.parent.parent}` "
        f"(files found there are verified, then unpacked)"
    )
