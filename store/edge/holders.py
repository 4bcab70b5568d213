"""Who holds a collection: an exclusive flock on its holder file, with the holding process and command in it.

A process holds a collection while it has the shard open: Edge's write-ahead
log takes an exclusive flock, readers included. The holder file takes the same
lock first and records the process and command, so a second process waits for
it (`--wait`) and then names who holds it. A process forked while collections
are held (a DataLoader worker) lets go of its copies of both locks at once, so
a child outliving a killed parent never holds a collection. Only
`store/edge/shards.py` takes a hold.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import weakref
from pathlib import Path

from errors import CollectionBusyError
from redaction import redact
from store.edge.store_folder import HOLDER, SHARD, now

POLL = 0.1  # seconds between tries on a held collection

_HELD: weakref.WeakSet[Holder] = weakref.WeakSet()  # holders whose locks a forked child must let go of


class Holder:
    """This process's hold on one collection (in `folder`), taken for good by `acquire` until `release`."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / HOLDER
        self.name = name
        self._fd: int | None = None

    def acquire(self, wait: float) -> None:
        """Take the collection, trying for up to `wait` seconds; past that, name who holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with contextlib.suppress(PermissionError):  # the command line it records is this user's (one made 0644 too)
            os.fchmod(fd, 0o600)
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
        owner = json.dumps({"pid": os.getpid(), "command": _command(), "since": now()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner.encode(), 0)
        self._fd = fd
        _HELD.add(self)

    @property
    def descriptor(self) -> int:
        """The holder file's descriptor while held: a child process given it shares the hold."""
        if self._fd is None:
            raise RuntimeError(f"collection '{self.name}' is not held")
        return self._fd

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
