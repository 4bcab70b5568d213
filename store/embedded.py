"""qdrant-client's embedded mode: a Qdrant store in a local folder, in this process.

It is brute force in Python and always exact; it keeps no payload indexes and
refuses a second process on the same folder.
"""

from __future__ import annotations

from pathlib import Path

from qdrant_client import QdrantClient, models

from errors import StoreError
from store.qdrant import QdrantStore


class EmbeddedStore(QdrantStore):
    """The store in `path`; opened by `store.open_store`."""

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> EmbeddedStore:
        """With `create` False a missing store is an error, not a new empty one
        (a misspelled --storage would otherwise look empty)."""
        if not create and not (Path(path) / "meta.json").is_file():
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
        return cls(client, f"embedded:{Path(path).resolve()}")

    @property
    def in_process(self) -> bool:
        return True

    def _search_params(self, exact: bool) -> models.SearchParams | None:
        return None  # always exact; search parameters have no effect here

    def _index_label(self, name: str) -> None:
        """No payload indexes in the embedded store: filters scan every point."""
