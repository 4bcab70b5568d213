"""Edge raises bare Exceptions with a message: each becomes one line naming the collection and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from errors import CollectionBusyError, RetrievalError, StoreError
from store.edge.store_folder import StoreFolder

DISK_FULL = ("StorageFull", "FileTooLarge", "No space left", "code: 28,", "code: 27,", "QuotaExceeded")


@contextmanager
def engine_errors(folder: StoreFolder, name: str, *, opening: bool = False) -> Iterator[None]:
    """What Edge raises in the block, as one line about collection `name` of the store in `folder`; `opening`:
    the block opens the shard, so an error there means its files are damaged."""
    try:
        yield
    except (RetrievalError, KeyboardInterrupt):  # already one line, or the user's Ctrl-C
        raise
    except OSError as error:
        raise StoreError(
            f"collection '{name}' in {folder.location}: {error.strerror or error}; free disk space or fix the "
            f"folder's permissions and rerun the same command (what was written is kept)"
        ) from None
    except Exception as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "WouldBlock" in text:
            raise CollectionBusyError(
                f"collection '{name}' is open in another process that does not say which; wait for it to finish",
                collection=name,
            ) from None
        if any(sign in text for sign in DISK_FULL):
            raise StoreError(
                f"writing to the embedded store {folder.path} failed (collection '{name}': the disk is full or "
                f"a file size limit was reached); free disk space and rerun the same command (what was "
                f"written is kept)"
            ) from None
        if opening:
            raise StoreError(
                f"collection '{name}' in {folder.location} cannot be opened, its files are damaged (Qdrant Edge "
                f"says: {text}); drop it (`python cli.py collections drop {name} --yes`) and ingest it again"
            ) from None
        raise StoreError(f"collection '{name}' in {folder.location}: Qdrant Edge says: {text}") from None
