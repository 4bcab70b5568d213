"""How an Edge store holds its collections: each shard opened on first use, held while used.

A shard is open in one process at a time (Edge's write-ahead log takes an
flock); `HeldShards` takes the holder lock first (`store/edge_folders.py`),
counts the calls using each shard, lets go of all of them on `close`, and with
`idle_release` of each unused that long (a long-running server). Edge raises
bare Exceptions: `engine_errors` turns each into one line naming the collection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import qdrant_edge as edge

from errors import CollectionBusyError, StoreError
from store import edge_folders as folders

DISK_FULL = ("StorageFull", "FileTooLarge", "No space left", "code: 28,", "code: 27,", "QuotaExceeded")


@dataclass
class _Open:
    """A shard this process holds, with how many calls use it now and when it was last used."""

    shard: edge.EdgeShard
    holder: folders.Holder
    users: int = 0
    last: float = field(default_factory=time.monotonic)
    written: bool = False  # points were written: the sidecar's count is refreshed on letting go


class HeldShards:
    """The shards of the Edge store in `path` that this process holds.

    `wait`: seconds to wait for a collection another process holds.
    `idle_release`: when set, a collection unused for that many seconds is let go
    (the web app); otherwise collections are held until `close`.
    """

    def __init__(self, path: Path, wait: float = 0.0, idle_release: float | None = None) -> None:
        self.path = path
        self.location = f"embedded:{path.resolve()}"
        self.wait = wait
        self._open: dict[str, _Open] = {}
        self._lock = threading.RLock()
        self._closed = threading.Event()
        if idle_release is not None:
            threading.Thread(target=self._release_idle, args=(idle_release,), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for name in list(self._open):
                self._let_go(name)

    def _folder(self, name: str) -> Path:
        return self.path / "collections" / folders.folder_name(name)

    @contextmanager
    def _shard(self, name: str, wait: float | None = None) -> Iterator[edge.EdgeShard]:
        """The open shard of `name`, held by this process while the block runs (waiting up to `wait`
        seconds, default the store's, for another process to let it go)."""
        self.require(name)
        with self._lock:
            entry = self._open.get(name) or self._take(name, wait=wait)
            entry.users += 1
        try:
            with self._engine_errors(name):
                yield entry.shard
        finally:
            with self._lock:
                entry.users -= 1
                entry.last = time.monotonic()

    def _take(
        self,
        name: str,
        config: edge.EdgeConfig | None = None,
        wait: float | None = None,
        holder: folders.Holder | None = None,
    ) -> _Open:
        """Hold `name` (unless `holder` holds it already) and open its shard (creating it with `config`)."""
        folder = self._folder(name)
        if holder is None:
            holder = folders.Holder(folder, name)
            holder.acquire(self.wait if wait is None else wait)
        try:
            with self._engine_errors(name):
                shard_path = str(folder / folders.SHARD)
                shard = edge.EdgeShard.create(shard_path, config) if config else edge.EdgeShard.load(shard_path)
        except BaseException:
            holder.release()
            raise
        entry = _Open(shard, holder)
        self._open[name] = entry
        return entry

    def _let_go(self, name: str) -> None:
        entry = self._open.pop(name, None)
        if entry is None:
            return
        if entry.written and (self._folder(name) / folders.SIDECAR).is_file():
            count = entry.shard.count(edge.CountRequest(exact=True))
            self._write_sidecar(name, {**self._sidecar(name), "points": count})  # what a listing shows while held
        entry.shard.close()
        entry.holder.release()

    def _release_idle(self, idle: float) -> None:
        while not self._closed.wait(min(idle / 2, 1.0)):
            with self._lock:
                now = time.monotonic()
                for name, entry in list(self._open.items()):
                    if entry.users == 0 and now - entry.last >= idle:
                        self._let_go(name)

    @contextmanager
    def _engine_errors(self, name: str) -> Iterator[None]:
        """Edge raises bare Exceptions: each becomes one line naming the collection."""
        try:
            yield
        except (StoreError, KeyboardInterrupt):
            raise
        except OSError as error:
            raise StoreError(
                f"collection '{name}' in {self.location}: {error.strerror or error}; free disk space or fix the "
                f"folder's permissions and rerun the same command (what was written is kept)"
            ) from None
        except Exception as error:
            text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if "WouldBlock" in text:
                raise CollectionBusyError(
                    f"collection '{name}' is open in another process that does not say which; wait for it to finish"
                ) from None
            if any(sign in text for sign in DISK_FULL):
                raise StoreError(
                    f"writing to the embedded store {self.path} failed (collection '{name}': the disk is full or "
                    f"a file size limit was reached); free disk space and rerun the same command (what was "
                    f"written is kept)"
                ) from None
            raise StoreError(f"collection '{name}' in {self.location}: Qdrant Edge says: {text}") from None

    def _sidecar(self, name: str) -> dict:
        return folders.read_json(self._folder(name) / folders.SIDECAR)

    def _write_sidecar(self, name: str, record: dict) -> None:
        folders.write_json(self._folder(name) / folders.SIDECAR, record)
