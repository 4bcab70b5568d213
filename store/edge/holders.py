"""Who holds a collection: an exclusive flock on its holder file, with the holding process and command in it.

A process holds a collection while it has the shard open: Edge's write-ahead
log takes an exclusive flock, readers included. The holder file takes the same
lock first and records the process and command, so a second process waits for
it (`--wait`) and then names who holds it. A process forked while collections
are held (a DataLoader worker) lets go of its copies of both locks at once, so
a child outliving a killed parent never holds a collection. Only
`store/edge/shards.py` takes a hold.

While it waits, a process says so: it keeps a file `wanted-<pid>` beside the
holder file, naming itself and its command, under an exclusive flock, and
removes it when it gets the collection or gives up. A holder that yields
(`serve`) looks for one (`waiter`: one listing of the collection's folder) and
lets go. A waiter killed with -9 cannot remove its file, but its flock goes
with it: a file whose lock can be taken is stale and is removed by whoever
finds it, so a dead waiter never keeps a holder yielding.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from errors import CollectionBusyError
from redaction import redact
from store.edge.store_folder import HOLDER, SHARD, now

POLL = 0.1  # seconds between tries on a held collection
WANTED = "wanted-"  # prefix of a waiting process's file beside the holder file

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
        with contextlib.ExitStack() as waiting:
            deadline, wanted = time.monotonic() + wait, False
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
                            + "; wait for it to finish, or pass --wait SECONDS to wait longer",
                            collection=self.name,
                            holder=holder,
                        ) from None
                    if not wanted:  # the first miss: say that this process waits for it
                        waiting.enter_context(_wanting(self.path.parent))
                        wanted = True
                    time.sleep(POLL)
        owner = json.dumps(_record())
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


def waiter(folder: Path) -> str | None:
    """The first live process waiting for the collection in `folder` ('process 12 (python cli.py eval ...)'),
    or None; the files of waiters that died are removed on the way."""
    try:
        names = sorted(name for name in os.listdir(folder) if name.startswith(WANTED))
    except OSError:
        return None
    return next(filter(None, (_waiting(folder / name) for name in names)), None)


@contextlib.contextmanager
def _wanting(folder: Path) -> Iterator[None]:
    """While the block runs, the collection in `folder` is wanted by this process (its file, flocked); where
    the file cannot be made (a folder this user cannot write), it waits without saying so."""
    path = folder / f"{WANTED}{os.getpid()}"
    while True:  # the file at `path` locked, not one a holder removed as stale between our open and our lock
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same(path, fd):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_record()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):  # a swap may have moved the folder away
            path.unlink()
        os.close(fd)


def _waiting(path: Path) -> str | None:
    """Who waits, from the wanted file at `path` while its waiter lives; None, the file removed, once it died."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # its waiter holds the lock: alive
        owner = _owner(fd)
        os.close(fd)
        return owner
    if _same(path, fd):  # locked by us: no live waiter has it
        with contextlib.suppress(OSError):
            path.unlink()
    os.close(fd)
    return None


def _same(path: Path, fd: int) -> bool:
    """Whether `fd` is the file at `path` now."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


def _record() -> dict:
    """What the holder and wanted files say of this process."""
    return {"pid": os.getpid(), "command": _command(), "since": now()}


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
