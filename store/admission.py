"""One web request's calls as one admission: what a request has begun using, it may go on using until it ends.

A yielding holder (`serve`) lets a collection go to a process waiting for it
and refuses new calls on it meanwhile. A page makes several calls (its info,
its summary, a scroll of its points a page at a time); refused between two of
them it would answer 503 halfway. Inside `one_request()` an engine that yields
keeps a collection for the request from its first call to the request's end
(`Admission.keep`), refuses only requests that had not begun using it, and lets
it go when the last one ends. Outside a request (a command, a worker thread of
the web app) nothing changes: each call stands alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Admission:
    """What one request keeps: a release for each (owner, collection) it has begun using."""

    def __init__(self) -> None:
        self._releases: dict[Hashable, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def keeps(self, key: Hashable) -> bool:
        """Whether the request has begun using `key` (an engine's own (owner, collection))."""
        with self._lock:
            return key in self._releases

    def keep(self, key: Hashable, release: Callable[[], None]) -> None:
        """The request keeps `key` until it ends, when `release` is called."""
        with self._lock:
            self._releases.setdefault(key, release)

    def end(self) -> None:
        """Call every release, each once."""
        with self._lock:
            releases, self._releases = list(self._releases.values()), {}
        for release in releases:
            release()


_current: ContextVar[Admission | None] = ContextVar("admission", default=None)


def current() -> Admission | None:
    """The admission of the request this call belongs to; None outside a request."""
    return _current.get()


@contextmanager
def one_request() -> Iterator[Admission]:
    """The calls made inside the block (and in the threads that copy its context) as one request's."""
    admission = Admission()
    token = _current.set(admission)
    try:
        yield admission
    finally:
        _current.reset(token)
        admission.end()
