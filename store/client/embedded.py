"""qdrant-client's embedded mode: a Qdrant store in a local folder, in this process.

It is brute force in Python and always exact; it keeps no payload indexes and
refuses a second process on the same folder. That lock is an open file: a
process forked while the store is open (a DataLoader worker) closes its copy
at once, so a worker outliving a killed parent never holds the folder.
qdrant-client's "Local mode is not recommended" warning is silenced: the
design already says so, and it would precede every one-line error.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import warnings
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from qdrant_client import QdrantClient, models

from errors import StoreError
from store.base import Loader
from store.capabilities import Capabilities
from store.client.qdrant import QdrantStore
from store.types import IndexSettings, SearchSettings

warnings.filterwarnings("ignore", "Local mode is not recommended", UserWarning)  # writes warn too, from any thread

_OPEN: weakref.WeakSet[EmbeddedStore] = weakref.WeakSet()  # stores whose lock a forked child must let go of
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# Brute force in Python over every point loaded at open; one process at a time. The limit is measured
# by bench/embedded_limits.py (BENCHMARKS.md): past 20,000 points opening and each query take seconds.
LOCAL_MODE = Capabilities(
    exact_only=True,
    local_vectors=True,
    threads=False,
    index_settings=False,
    shared=False,
    note_above=20_000,
    advice="move it to Qdrant Edge with `python cli.py store migrate`, or run a Qdrant server and pass --qdrant-url",
    fused_query=True,
)


class EmbeddedStore(QdrantStore):
    """The store in `path`; opened by `store.open_store`."""

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> EmbeddedStore:
        """With `create` False a missing store is an error, not a new empty one
        (a misspelled --storage would otherwise look empty)."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"--storage '{path}' is a file, not a folder; pass the folder of an embedded store")
        if not create and not (folder / "meta.json").is_file():
            raise StoreError(
                f"there is no embedded store in '{path}'; create one with `python cli.py ingest`, "
                f"or pass --storage with its folder or --qdrant-url for a server"
            )
        try:
            client = QdrantClient(path=str(path))
        except RuntimeError as error:
            if "already accessed" in str(error):
                raise StoreError(
                    f"the embedded store in '{path}' is open in another process; wait for it to "
                    f"finish, or run a Qdrant server and pass --qdrant-url"
                ) from None
            raise
        except ValueError as error:  # json.JSONDecodeError and pydantic's errors: a damaged meta.json
            raise StoreError(
                f"the embedded store in '{path}' is damaged: {folder / 'meta.json'} does not parse "
                f"({_first_line(error)}); move the folder aside and ingest again"
            ) from None
        except sqlite3.DatabaseError as error:
            damaged = _damaged_file(folder) or folder / "collection"
            raise StoreError(
                f"the embedded store in '{path}' is damaged: {damaged}: {error}; move the folder aside and ingest again"
            ) from None
        except OSError as error:
            raise StoreError(
                f"cannot open the embedded store in '{path}': {error.strerror or error}; pass --storage "
                f"with a folder you can write to"
            ) from None
        store = cls(client, f"embedded:{folder.resolve()}")
        _OPEN.add(store)
        store.settle()
        return store

    @property
    def capabilities(self) -> Capabilities:
        return LOCAL_MODE

    def close(self) -> None:
        _OPEN.discard(self)
        super().close()

    def _search_params(self, exact: bool, search: SearchSettings | None = None) -> models.SearchParams | None:
        return None  # always exact; search parameters have no effect here

    def _index_label(self, name: str) -> None:
        """No payload indexes in the embedded store: filters scan every point."""

    # writes: a full disk is named as such (the engine says "database or disk is full" or raises OSError)

    def ensure_collection(self, *args, **kwargs) -> bool:
        with self._disk_errors():
            return super().ensure_collection(*args, **kwargs)

    def drop(self, *args, **kwargs) -> None:
        with self._disk_errors():
            super().drop(*args, **kwargs)

    def _write(self, *args, **kwargs) -> None:
        with self._disk_errors():
            super()._write(*args, **kwargs)

    def overwrite_payloads(self, *args, **kwargs) -> None:
        with self._disk_errors():
            super().overwrite_payloads(*args, **kwargs)

    def delete(self, *args, **kwargs) -> None:
        with self._disk_errors():
            super().delete(*args, **kwargs)

    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> AbstractContextManager[Loader]:
        """A plain load, after switching the collection's SQLite file to write-ahead logging.

        qdrant-client commits every point on its own, and in SQLite's default
        journal mode each commit waits for the disk: 16 ms a point here (1,000
        384-d points in 16.2 s), against 0.39 s with WAL and synchronous=NORMAL,
        which still never corrupts the file (a power cut can lose the last
        commits; ingest resumes them). The mode stays with the file.
        """
        connection = _sqlite_connection(self._client, name)
        if connection is not None:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        return self._plain_load(name)

    @contextmanager
    def _disk_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            raise StoreError(
                f"writing to the embedded store {self.location.removeprefix('embedded:')} failed: {error}; "
                f"free disk space and rerun the same command (what was written is kept)"
            ) from None
        except OSError as error:
            if error.errno not in DISK_FULL:
                raise
            raise StoreError(
                f"writing to the embedded store {self.location.removeprefix('embedded:')} failed: "
                f"{error.strerror}; free disk space and rerun the same command (what was written is kept)"
            ) from None

    def _lock_file(self):
        """qdrant-client's open lock file (private to it; None if it changes)."""
        return getattr(getattr(self._client, "_client", None), "_flock_file", None)


def _release_locks_in_child() -> None:
    """In a forked child: close the copies of the lock files (never unlock: the parent holds the lock)."""
    for store in list(_OPEN):
        lock = store._lock_file()
        if lock is not None and not lock.closed:
            lock.close()


os.register_at_fork(after_in_child=_release_locks_in_child)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _damaged_file(folder: Path) -> Path | None:
    """The first collection file SQLite finds damaged, if any."""
    for file in sorted(folder.glob("collection/*/storage.sqlite")):
        try:
            with sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True) as connection:
                if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    return file
        except sqlite3.DatabaseError:
            return file
    return None


def _sqlite_connection(client: QdrantClient, name: str) -> sqlite3.Connection | None:
    """The SQLite connection qdrant-client's local mode keeps for collection `name`; None where its internals differ."""
    local = getattr(client, "_client", None)
    collections = getattr(local, "collections", {})
    collection = collections.get(name) or collections.get(getattr(local, "aliases", {}).get(name))
    persistence = getattr(collection, "storage", None)
    return getattr(persistence, "storage", None)
