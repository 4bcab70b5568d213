"""Scratch folders in the temporary folder, owned by a live process; the next one removes those a killed one left.

A scratch folder (a `tune` copy of a collection, the web app's uploads) holds
an owner file locked (flock) for as long as its process lives, with that
process's id in it for a person reading it. A kill leaves the folder; the next
scratch folder of the same kind removes every folder of that kind whose owner
file no process holds, naming each in a warning. A folder is made under a
hidden name and renamed into view only once its lock is taken, so a folder
being made is never taken for a leftover; a folder without an owner file is not
ours to judge and is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from types import TracebackType

OWNER = ".owner"
log = logging.getLogger(__name__)


class ScratchFolder:
    """A new folder `<temp>/<prefix>XXXX`, this process's until `close` (or the `with` block's end) removes it."""

    def __init__(self, prefix: str, base: Path | None = None) -> None:
        self.base = Path(base or tempfile.gettempdir())
        sweep_scratch(prefix, self.base)
        making = Path(tempfile.mkdtemp(prefix=f".{prefix}", dir=self.base))
        fd = os.open(making / OWNER, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"pid": os.getpid()}).encode())
        self.path = making.with_name(making.name[1:])
        making.rename(self.path)
        self._remove = weakref.finalize(self, _remove, self.path, fd, os.getpid())  # at `close`, dropped, or exit

    def close(self) -> None:
        """Remove the folder and everything in it, then let go of its lock."""
        self._remove()

    def __enter__(self) -> ScratchFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _remove(folder: Path, fd: int, owner: int) -> None:
    """The folder removed by the process that made it (a forked child exiting leaves it to its parent)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)
    os.close(fd)


def sweep_scratch(prefix: str, base: Path | None = None) -> list[Path]:
    """Remove the `prefix` scratch folders in `base` (the temporary folder) whose owner process is gone."""
    removed = []
    for folder in sorted(Path(base or tempfile.gettempdir()).glob(f"{prefix}*")):
        if folder.is_symlink() or not (folder / OWNER).is_file():
            continue
        with contextlib.suppress(OSError):
            fd = os.open(folder / OWNER, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive
            finally:
                os.close(fd)
            shutil.rmtree(folder)
            removed.append(folder)
            log.warning("removed %s, a scratch folder left by a killed process", folder)
    return removed
