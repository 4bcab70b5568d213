"""What identifies a file's content: its size, modification time and sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
