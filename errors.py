"""The project's own exceptions: each carries one line a user can act on.

`cli.py` alone turns them into that line and an exit code; library code raises
them and never prints.
"""

from __future__ import annotations


class RetrievalError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    exit_code = 2


class WeightsMissingError(RetrievalError):
    """A model's weights are neither cached nor reachable."""


class WeightsMismatchError(RetrievalError):
    """A weights file does not fit its model: tensors missing, left over or of another shape."""


class DatasetError(RetrievalError):
    """A dataset folder or its list of images cannot be read."""


class DownloadError(DatasetError):
    """A public dataset cannot be downloaded or fails its checksum (`datasets fetch`)."""


class StoreError(RetrievalError):
    """The Qdrant store cannot be reached or refuses an operation."""


class CollectionNotFoundError(StoreError):
    """A named collection does not exist in the store."""


class QueryError(RetrievalError):
    """An ad-hoc query cannot be answered as asked."""


class EvaluationError(RetrievalError):
    """A collection cannot be evaluated as asked (too few points, no labels)."""


class MediaError(RetrievalError):
    """A picture (a gallery sheet) or the reports folder cannot be written where asked."""


class BusyError(RetrievalError):
    """The web app is already doing as much of some work (decoding uploads) as it allows at once."""


class CollectionBusyError(StoreError):
    """A collection of the embedded store is held by another process past the wait allowed.

    `collection` and `holder` ('process 12 (python cli.py eval ...)') let a page say so in its own words."""

    def __init__(self, message: str, *, collection: str = "", holder: str = "another process") -> None:
        super().__init__(message)
        self.collection = collection
        self.holder = holder
