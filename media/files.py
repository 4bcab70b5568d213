"""Files: what identifies one's content (its size, modification time and sha256), and the atomic write every
record and page goes through (`write_bytes_atomic`, `write_text_atomic`: the old file or the new, never a part)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from errors import MediaError

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileFacts:
    """Size and modification time tell cheaply whether a file may have changed; the hash says whether it did."""

    size: int
    mtime_ns: int
    sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def facts_of(path: Path, data: bytes | None = None) -> FileFacts:
    """The facts of `path`; `data`, when given, is its content already read."""
    stat = path.stat()
    sha256 = hashlib.sha256(data).hexdigest() if data is not None else file_sha256(path)
    return FileFacts(stat.st_size, stat.st_mtime_ns, sha256)


def identical_groups(files: Iterable[tuple[str, str | None]]) -> list[list[str]]:
    """Groups (two or more, sorted) of paths whose files have the same sha256, from (path, sha256) pairs."""
    groups: dict[str, list[str]] = {}
    for path, sha256 in files:
        if sha256:
            groups.setdefault(sha256, []).append(path)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


def write_text_atomic(path: Path, text: str) -> None:
    """`text` (UTF-8) into `path`, as `write_bytes_atomic` writes."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """`data` into `path` (its folder made if missing), as `written_atomically` writes one file."""
    with written_atomically(path) as (out,):
        out.write(data)


@contextmanager
def written_atomically(*paths: Path) -> Iterator[list[BinaryIO]]:
    """Files to write (binary, seekable) beside each of `paths` (their folders made if missing), flushed to
    disk and renamed into place together once the block ends: readers see the old files or the new ones,
    never a part (the temporary names end in .part, which no reader opens); a full disk, an error or a kill
    in the block leaves the previous files (or none), never a truncated one; a write that fails is one line
    naming the file."""
    staged: list[tuple[Path, BinaryIO, str]] = []
    try:
        for path in paths:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:200]}.", suffix=".part")
            except OSError as error:
                raise MediaError(
                    f"cannot write '{path}' ({error.strerror or error}); free space or fix the folder, and rerun"
                ) from None
            staged.append((path, os.fdopen(handle, "wb"), temporary))
        try:
            yield [out for _, out, _ in staged]
        except OSError as error:
            raise _failed(" and ".join(f"'{path}'" for path in paths), error) from None
        for path, out, _ in staged:
            _flushed(path, out)
        for path, _, temporary in staged:
            _renamed(path, temporary)
    finally:
        for _, out, temporary in staged:
            # a full disk fails the close's flush again; the error raised above is the one to report
            with contextlib.suppress(OSError):
                out.close()
            Path(temporary).unlink(missing_ok=True)


def _flushed(path: Path, out: BinaryIO) -> None:
    try:
        out.flush()
        os.fsync(out.fileno())
    except OSError as error:
        raise _failed(f"'{path}'", error) from None


def _renamed(path: Path, temporary: str) -> None:
    try:
        os.replace(temporary, path)
    except OSError as error:
        raise _failed(f"'{path}'", error) from None


def _failed(named: str, error: OSError) -> MediaError:
    return MediaError(
        f"cannot write {named} ({error.strerror or error}); nothing was left half-written: free space and rerun"
    )
