"""The one owner of every shard this process holds: each opened on first use, held while used, let go here.

A shard is open in one process at a time (Edge's write-ahead log takes an
flock). `OpenShards` is the only place a collection's holder lock is taken
(`_hold`, `store/edge/holders.py`; in the collection's folder, or in the folder
a swap set aside while it is settled) and the only place a shard is opened,
created, closed and let go: it counts the calls using each shard, lets go of
all of them on `close`, and with `idle_release` of each unused that long (a
long-running server). A `yielding` holder (`serve`) also lets go of a collection
another process waits for (its wanted file, `holders.waiter`, looked for every
YIELD_CHECK seconds) as soon as no call of this process uses it, refuses new
calls on it meanwhile (a web request that had begun using it goes on to its
end: `store/admission.py`), and takes it back on the first call after the waiter is
done; it never waits for a collection another process holds (a page says so at
once). What needs a collection's folder to itself (the HNSW
build in a child process, a drop, a rename) asks for it with `alone`; taking a hold
removes what a killed index build left in the shard (`sweep_leftovers`).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import qdrant_edge as edge

from errors import CollectionBusyError, StoreError
from store import admission
from store.edge.engine_errors import engine_errors
from store.edge.holders import Holder, waiter
from store.edge.indexing import sweep_leftovers
from store.edge.store_folder import StoreFolder

YIELD_CHECK = 0.2  # seconds between a yielding holder's looks for a process waiting for what it holds


@dataclass
class _Open:
    """A shard this process holds, with how many calls use it now and when it was last used."""

    shard: edge.EdgeShard
    holder: Holder
    users: int = 0
    last: float = field(default_factory=time.monotonic)
    written: bool = False  # points were written: the sidecar's count is refreshed on letting go
    wanted: str | None = None  # the process waiting for it, which a yielding holder lets go to


class OpenShards:
    """The shards of the Edge store in `folder` that this process holds.

    `wait`: seconds to wait for a collection another process holds.
    `idle_release`: when set, a collection unused for that many seconds is let go
    (the web app); otherwise collections are held until `close`.
    `yielding`: a collection another process waits for is let go (see the module), and one another process
    holds is never waited for (a server's page says so at once instead).
    """

    def __init__(
        self, folder: StoreFolder, *, wait: float = 0.0, idle_release: float | None = None, yielding: bool = False
    ) -> None:
        self.folder = folder
        self.wait = 0.0 if yielding else wait
        self.yielding = yielding
        self._open: dict[str, _Open] = {}
        self._lock = threading.RLock()
        self._closed = threading.Event()
        if idle_release is not None or yielding:
            threading.Thread(target=self._watch, args=(idle_release,), daemon=True).start()

    def close(self) -> None:
        """Let go of every shard this process holds."""
        self._closed.set()
        with self._lock:
            for name in list(self._open):
                self._let_go(name)

    @contextmanager
    def use(self, name: str, *, wait: float | None = None, writes: bool = False) -> Iterator[edge.EdgeShard]:
        """The open shard of `name`, held by this process while the block runs (waiting up to `wait`
        seconds, default the store's, for another process to let it go); `writes`: the block writes
        points, so the sidecar's count is refreshed when the shard is let go."""
        request = admission.current()
        with self._lock:
            entry = self._open.get(name)
            begun = request is not None and request.keeps((self, name))
            if entry is not None and entry.wanted and not begun:  # only a request that had begun using it goes on
                raise _yielded(name, entry.wanted)
            entry = entry or self._take(name, self._hold(name, wait))
            entry.users += 1
            if request is not None and not begun:  # the request keeps it until it ends (`store/admission.py`)
                entry.users += 1
                request.keep((self, name), lambda: self._done(name, entry))
        try:
            with engine_errors(self.folder, name):
                yield entry.shard
            entry.written |= writes
        finally:
            self._done(name, entry)

    def _done(self, name: str, entry: _Open) -> None:
        """One user of `entry` (a call, or a request keeping it) has ended; the last lets a waiter take it."""
        with self._lock:
            entry.users -= 1
            entry.last = time.monotonic()
            if entry.wanted and not entry.users and self._open.get(name) is entry:
                self._let_go(name)  # the calls in flight have ended: the waiter takes it now

    def create(self, name: str, config: edge.EdgeConfig) -> bool:
        """Create the shard of `name` with `config` and hold it open; False when the collection exists
        already (this process holds it, or another part of the same ingest created it while we waited)."""
        self.folder.collection(name).mkdir(parents=True, exist_ok=True)
        with self._lock:
            if name in self._open:
                return False
            holder = self._hold(name, None)
            if self.folder.has(name):
                holder.release()
                return False
            shutil.rmtree(self.folder.shard(name), ignore_errors=True)  # what a killed create left
            self._take(name, holder, config)
        return True

    @contextmanager
    def alone(self, name: str, doing: str) -> Iterator[Path]:
        """The folder of `name`, held by this process with its shard closed while the block runs (for a
        child process that opens the shard, or the folder's removal or rename); `doing` says what, for
        the error when a call of this process is using the shard."""
        with self.alone_held(name, doing):
            yield self.folder.collection(name)

    @contextmanager
    def alone_held(self, name: str, doing: str) -> Iterator[Holder]:
        """As `alone`, the block given the hold itself (a child process shares its descriptor)."""
        with self._lock:
            entry = self._open.get(name)
            if entry is not None and entry.users:
                raise StoreError(f"collection '{name}' is in use in this process; {doing} when the query ends")
            self._let_go(name)
            holder = self._hold(name, None)
            try:
                yield holder
            finally:
                holder.release()

    def settle_swaps(self) -> None:
        """Settle what a killed swap left (`StoreFolder.settle`: only folders a swap set aside), each held while
        it is settled; one a running swap holds is left to it."""
        for name, aside in self.folder.set_aside():
            try:
                holder = self._hold(name, 0, aside)
            except CollectionBusyError:
                continue
            try:
                self.folder.settle(name, aside)
            finally:
                holder.release()

    def _hold(self, name: str, wait: float | None, folder: Path | None = None) -> Holder:
        """Take `name`'s holder lock in `folder` (default the collection's), waiting up to `wait` seconds
        (default the store's): the only place a holder lock is taken. A yielding holder leaves it to a process
        waiting for it."""
        place = folder or self.folder.collection(name)
        wanting = waiter(place) if self.yielding else None
        if wanting:
            raise _yielded(name, wanting)
        holder = Holder(place, name)
        holder.acquire(self.wait if wait is None else wait)
        sweep_leftovers(self.folder.shard(name), name)  # held now: no build that is still running owns them
        return holder

    def _take(self, name: str, holder: Holder, config: edge.EdgeConfig | None = None) -> _Open:
        """Open the shard of `name`, which `holder` holds (creating it with `config`); on failure let go."""
        shard_path = str(self.folder.shard(name))
        try:
            with engine_errors(self.folder, name, opening=True):
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
        if entry.written and self.folder.has(name):
            count = entry.shard.count(edge.CountRequest(exact=True))
            self.folder.write_sidecar(name, {**self.folder.sidecar(name), "points": count})  # what a listing shows
        entry.shard.close()
        entry.holder.release()

    def _watch(self, idle: float | None) -> None:
        """Let go of each collection unused for `idle` seconds (None: never for that) and, when yielding, of
        each another process waits for, as soon as no call uses it."""
        while not self._closed.wait(YIELD_CHECK if self.yielding or idle is None else min(idle / 2, 1.0)):
            with self._lock:
                held = list(self._open)
            wanting = {name: waiter(self.folder.collection(name)) for name in held} if self.yielding else {}
            with self._lock:
                now = time.monotonic()
                for name, entry in list(self._open.items()):
                    entry.wanted = wanting.get(name)  # a waiter that gave up or died is no longer waited for
                    idled = idle is not None and now - entry.last >= idle
                    if entry.users == 0 and (entry.wanted or idled):
                        self._let_go(name)


def _yielded(name: str, wanting: str) -> CollectionBusyError:
    """The error of a call on a collection a yielding holder leaves to `wanting`, the process waiting for it."""
    return CollectionBusyError(
        f"collection '{name}' is in use by {wanting}, which waits for it; try again in a moment",
        collection=name,
        holder=wanting,
    )
