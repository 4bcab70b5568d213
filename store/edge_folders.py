"""The embedded store's folder: its format file, one folder per collection, sidecars and holders.

```
<storage>/store.json                          {"format": "qdrant-edge", ...}: which engine reads it
<storage>/collections/<name>/collection.json  the sidecar: vectors, settings, metadata (provenance)
<storage>/collections/<name>/holder           who holds the collection now (an flock and its owner)
<storage>/collections/<name>/shard/           the Qdrant Edge shard
```

A collection's folder name is its name with '%' and every character outside
letters, digits, '_', '-' and '.' (and a leading '.') percent-encoded, so any
name Qdrant accepts is one folder. Qdrant Edge keeps no collection metadata:
the sidecar does, written aside and renamed so a crash never leaves half of it.

A process holds a collection while it has the shard open: Edge's write-ahead
log takes an exclusive flock, readers included. The holder file takes the same
lock first and records the process and command, so a second process waits for
it (`--wait`) and then names who holds it. A process forked while collections
are open (a DataLoader worker) lets go of its copies of both locks at once,
so a child outliving a killed parent never holds a collection.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import shutil
import sys
import time
import weakref
from pathlib import Path
from urllib.parse import quote, unquote

from errors import CollectionBusyError, StoreError
from redaction import redact

FORMAT_FILE = "store.json"
FORMAT = "qdrant-edge"
SIDECAR = "collection.json"
HOLDER = "holder"
SHARD = "shard"
POLL = 0.1  # seconds between tries on a held collection
ASIDE = "."  # prefix of an old collection folder a swap set aside (no collection's folder starts with '.')

_HELD: weakref.WeakSet[Holder] = weakref.WeakSet()  # holders whose locks a forked child must let go of


def folder_name(name: str) -> str:
    """The folder of collection `name`: reversible, one path component, never '.' or '..'."""
    encoded = quote(name, safe="_-.")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def collection_of(folder: str) -> str:
    return unquote(folder)


def write_json(path: Path, record: dict) -> None:
    """Write `record` beside `path` and rename it into place: readers see the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(record, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def read_json(path: Path) -> dict:
    """A JSON object from `path`; a damaged file is one line naming it."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StoreError(
            f"{path} cannot be read ({error}); move the collection's folder aside and ingest again"
        ) from None
    if not isinstance(record, dict):
        raise StoreError(f"{path} does not hold a JSON object; move the collection's folder aside and ingest again")
    return record


def is_edge_store(folder: Path) -> bool:
    """Whether `folder` holds a store written by this engine."""
    format_file = folder / FORMAT_FILE
    return format_file.is_file() and read_json(format_file).get("format") == FORMAT


def mark_edge_store(folder: Path, version: str) -> None:
    """Record in `folder` that it is an Edge store (before the first collection is written)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / FORMAT_FILE).is_file():
        write_json(folder / FORMAT_FILE, {"format": FORMAT, "qdrant_edge": version, "created": _now()})


def swap_in(new: Path, old: Path, name: str, *, wait: float) -> None:
    """Make folder `new` collection `name`'s folder `old`, in three renames a kill cannot break: the old
    folder set aside (held all the while, so no process opens it), the new one in, the old one removed."""
    aside = old.with_name(ASIDE + old.name)
    holder = None
    if (old / SIDECAR).is_file():
        holder = Holder(old, name)
        holder.acquire(wait)
        shutil.rmtree(aside, ignore_errors=True)  # the removal a killed swap did not finish
        old.rename(aside)
    try:
        new.rename(old)
    finally:
        if holder is not None:
            holder.release()
    shutil.rmtree(aside, ignore_errors=True)


def finish_swaps(base: Path) -> None:
    """Settle what a killed `swap_in` left in `base` (a store's collections folder): an old folder set
    aside is removed when the new one is in its place, else put back; one a running swap holds is left."""
    if not base.is_dir():
        return
    for aside in base.iterdir():
        if not aside.name.startswith(ASIDE) or not aside.is_dir():
            continue
        holder = Holder(aside, collection_of(aside.name[len(ASIDE) :]))
        try:
            holder.acquire(0)
        except CollectionBusyError:
            continue
        try:
            place = aside.with_name(aside.name[len(ASIDE) :])
            if (place / SIDECAR).is_file():
                shutil.rmtree(aside, ignore_errors=True)
            elif not place.exists():
                aside.rename(place)
        finally:
            holder.release()


class Holder:
    """This process's hold on one collection: an exclusive flock on its holder file, with our
    process id and command written in it for whoever waits."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / HOLDER
        self.name = name
        self._fd: int | None = None

    def acquire(self, wait: float) -> None:
        """Take the collection, trying for up to `wait` seconds; past that, name who holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _owner(fd)
                    os.close(fd)
                    raise CollectionBusyError(
                        f"collection '{self.name}' is held by {holder}"
                        + (f" (waited {wait:g} s)" if wait else "")
                        + "; wait for it to finish, or pass --wait SECONDS to wait longer"
                    ) from None
                time.sleep(POLL)
        owner = json.dumps({"pid": os.getpid(), "command": _command(), "since": _now()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner.encode(), 0)
        self._fd = fd
        _HELD.add(self)

    def release(self) -> None:
        _HELD.discard(self)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def let_go_in_child(self) -> None:
        """In a forked child: point our copies of the holder's and the shard's descriptors at
        /dev/null (the numbers stay valid for whoever closes them later; the locks stay the parent's)."""
        if self._fd is None:
            return
        _blank([self._fd, *_descriptors_under(self.path.parent / SHARD)])
        self._fd = None


def _owner(fd: int) -> str:
    """Who the holder file says holds the collection: 'process 123 (python cli.py ingest ...)'."""
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        record = {}
    if not isinstance(record, dict) or "pid" not in record:
        return "another process"
    command = str(record.get("command", "")).strip()
    return f"process {record['pid']}" + (f" ({command}, since {record.get('since', '?')})" if command else "")


def _command() -> str:
    """This process's command line, credentials hidden, for the holder file (a web request says serve)."""
    return redact(" ".join([Path(sys.executable).name, *sys.argv]))


def _descriptors_under(folder: Path) -> list[int]:
    """This process's open descriptors of files under `folder` (Linux; none found elsewhere)."""
    found = []
    with contextlib.suppress(OSError):
        prefix = str(folder.resolve())
        for entry in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/self/fd/{entry}").startswith(prefix):
                    found.append(int(entry))
    return found


def _blank(descriptors: list[int]) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in descriptors:
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def _let_go_in_child() -> None:
    for holder in list(_HELD):
        holder.let_go_in_child()


os.register_at_fork(after_in_child=_let_go_in_child)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
