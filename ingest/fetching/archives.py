"""Unpacking downloaded archives into a dataset folder, member by member, by the catalogue's rules.

Every member is checked before anything is written: an absolute name, a `..` component, a link
(symbolic or hard) pointing outside the archive's own tree, or a device or pipe refuses the whole
archive. Files are written by this module itself (never by tarfile's or zipfile's extractors), each
to the path its `Place` rule gives, so no member can choose where it lands; links inside the tree are
not recreated (the official archives have none) and are counted as skipped.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from errors import DatasetError
from ingest.fetching.catalogue import Place

Advance = Callable[[int, int], None]


@dataclass(frozen=True)
class Member:
    """An archive member as this module sees it: kind is file, dir, symlink, hardlink or other."""

    name: str
    kind: str
    size: int = 0
    link: str = ""


@dataclass(frozen=True)
class Unpacked:
    placed: int
    skipped: int


def unpack(
    archive: Path, kind: str, places: tuple[Place, ...], *, folder: Path, advance: Advance, limit: int | None = None
) -> Unpacked:
    """Write the members `places` take into `folder`; nothing at all when any member is unsafe, or when
    they would unpack to more than `limit` bytes (their sizes as the archive declares them, which the
    readers enforce)."""
    broken = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error)
    with _open(archive, kind) as (members, read):
        for member, _ in members:
            _refuse_unsafe(archive, member)
        chosen: dict[str, tuple[Member, Any]] = {}
        for member, handle in members:
            target = destination(member.name, places) if member.kind == "file" else None
            if target is not None and target not in chosen:
                chosen[target] = (member, handle)
        total = sum(member.size for member, _ in chosen.values())
        if limit is not None and total > limit:
            raise DatasetError(
                f"{archive.name} would unpack to {total:,} bytes, more than the {limit:,} allowed; the archive "
                f"was not unpacked (pass --max-unpacked BYTES if it is right)"
            )
        done = 0
        advance(done, total)
        for target, (member, handle) in chosen.items():
            path = folder / target
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with read(handle) as source, path.open("xb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
            except broken as error:
                raise DatasetError(
                    f"{archive.name} is damaged at '{member.name}' ({error}); delete it and rerun"
                ) from None
            done += member.size
            advance(done, total)
    return Unpacked(len(chosen), sum(member.kind != "dir" for member, _ in members) - len(chosen))


def destination(name: str, places: tuple[Place, ...]) -> str | None:
    """Where a member goes, relative to the dataset folder (the longest matching rule wins), or None."""
    name = _clean(name)
    for place in sorted(places, key=lambda p: len(p.source), reverse=True):
        if not name.startswith(place.source):
            continue
        rest = name[len(place.source) :]
        if not rest or (place.suffix and not rest.lower().endswith(place.suffix.lower())):
            return None
        return place.target + (posixpath.basename(rest) if place.flatten else rest)
    return None


def _clean(name: str) -> str:
    """The member name with a leading './' and repeated or trailing slashes removed."""
    cleaned = posixpath.normpath(name.replace("\\", "/"))
    return "" if cleaned == "." else cleaned


def _absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:", path))


def _escapes(name: str) -> bool:
    """A member name that is absolute or has a '..' component."""
    return _absolute(name) or ".." in name.replace("\\", "/").split("/")


def _outside(path: str) -> bool:
    """A link target (relative to the archive's top) that is absolute or climbs above it."""
    return _absolute(path) or posixpath.normpath(path.replace("\\", "/")).split("/")[0] == ".."


def _refuse_unsafe(archive: Path, member: Member) -> None:
    where = f"{archive.name}: member '{member.name}'"
    if _escapes(member.name):
        raise DatasetError(f"{where} would be written outside the target folder; the archive was not unpacked")
    if member.kind == "symlink":
        here = posixpath.dirname(_clean(member.name))
        if _absolute(member.link) or _outside(posixpath.join(here, member.link.replace("\\", "/"))):
            raise DatasetError(
                f"{where} links to '{member.link}', outside the target folder; the archive was not unpacked"
            )
    elif member.kind == "hardlink" and _outside(member.link):
        raise DatasetError(f"{where} links to '{member.link}', outside the target folder; the archive was not unpacked")
    elif member.kind == "other":
        raise DatasetError(f"{where} is a device or pipe, not a file; the archive was not unpacked")


@contextmanager
def _open(archive: Path, kind: str) -> Iterator[tuple[list[tuple[Member, Any]], Callable[[Any], IO[bytes]]]]:
    """The members of a tar (any compression) or zip archive, and a reader of one member's bytes."""
    broken = (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error)
    try:
        opened = zipfile.ZipFile(archive) if kind == "zip" else tarfile.open(archive, "r:*")
    except broken as error:
        raise DatasetError(
            f"{archive.name} cannot be read as a {kind} archive ({error}); delete it and rerun"
        ) from error
    with opened:
        try:
            if isinstance(opened, zipfile.ZipFile):
                members, read = [(_zip_member(opened, info), info) for info in opened.infolist()], opened.open
            else:
                members, read = [(_tar_member(info), info) for info in opened.getmembers()], opened.extractfile
        except broken as error:
            raise DatasetError(f"{archive.name} is damaged ({error}); delete it and rerun") from error
        yield members, read


def _tar_member(info: tarfile.TarInfo) -> Member:
    if info.isfile():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    else:
        kind = "other"
    return Member(info.name, kind, info.size, info.linkname)


def _zip_member(zipped: zipfile.ZipFile, info: zipfile.ZipInfo) -> Member:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return Member(info.filename, "symlink", 0, zipped.read(info).decode("utf-8", "replace"))
    if info.is_dir():
        return Member(info.filename, "dir")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # zips made without Unix modes have no type bits
        return Member(info.filename, "other")
    return Member(info.filename, "file", info.file_size)
