"""UMAP layouts computed in the background, so the map draws at once (a PCA preview) and swaps when UMAP is ready.

UMAP takes a minute or more at 20,000 points on a small machine; PCA a
fraction of a second. A request never waits for UMAP: it starts one worker
thread for the collection (one per collection at a time, whatever the number
of requests) and answers with what is at hand. The thread hands the vectors
to a child process that runs UMAP (spawned, not forked from a threaded
server; a daemon, so it ends with the server): umap-learn's compiled loops
hold the interpreter lock an epoch at a time, which in a thread of the server
slowed every request while it ran. The thread writes the layout into the
cache only if the collection's content is still the one it was started for;
a failure is kept as one line for that content (the latest content of each
collection only), so the page says why it stays on PCA instead of starting UMAP
again on every poll. A collection that `serve` lets go to a waiting command
meanwhile (CollectionBusyError) is no failure: the worker ends and the next
poll starts it again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

from errors import CollectionBusyError
from store import Points
from web.layout import LayoutCache, compute_layout, project

CHILD_NICENESS = 10  # the UMAP process yields the CPU to the server's requests
PREVIEW = "PCA preview; the UMAP layout is being computed (the map changes to it when it is ready)"


@dataclass(frozen=True)
class MapAnswer:
    """What the map's data endpoint sends: a layout's JSON as cached (read while it was there: another content's
    layout written meanwhile removes the file), a note saying what it is and why, and whether a better layout
    (UMAP) is on its way, so the page asks again."""

    layout: bytes
    note: str
    pending: bool = False

    def body(self) -> bytes:
        """The layout's JSON object with the note and pending flag put first: no parsing of a megabyte of JSON."""
        return f'{{"note":{json.dumps(self.note)},"pending":{json.dumps(self.pending)},'.encode() + self.layout[1:]


@dataclass(frozen=True)
class UmapJob:
    """One collection's UMAP to compute: its content key, how to read its vectors, and whether a key is current."""

    collection: str
    key: str
    read: Callable[[], Points]  # the collection's points with vectors
    current: Callable[[], str]  # the collection's content key now


class UmapWorkers:
    """At most one UMAP thread per collection; what failed for each collection's latest content key."""

    def __init__(self, layouts: LayoutCache) -> None:
        self.layouts = layouts
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}  # collection -> its worker
        self._failed: dict[str, tuple[str, str]] = {}  # collection -> (content key, why in one line)

    def failure(self, collection: str, key: str) -> str | None:
        """Why the UMAP of the collection's content `key` failed, if it did."""
        with self._lock:
            failed = self._failed.get(collection)
        return failed[1] if failed is not None and failed[0] == key else None

    def start(self, job: UmapJob) -> None:
        """Start the job's thread unless one runs for the collection already (it finishes first; the next
        request after it starts the one for the new content) or the job's content failed before."""
        with self._lock:
            if job.collection in self._running or self._failed.get(job.collection, ("", ""))[0] == job.key:
                return
            thread = threading.Thread(target=self._run, args=(job,), name=f"umap-{job.collection}", daemon=True)
            self._running[job.collection] = thread
        thread.start()

    def wait(self, collection: str, timeout: float | None = None) -> None:
        """Until the collection's worker (if any) is done (tests wait so; a request never does)."""
        with self._lock:
            thread = self._running.get(collection)
        if thread is not None:
            thread.join(timeout)

    def _run(self, job: UmapJob) -> None:
        try:
            layout = compute_layout(job.read(), job.key, "umap", projector=project_in_child)
            if job.current() == job.key:  # the content changed meanwhile: its own worker comes next
                self.layouts.write(job.collection, layout)
        except CollectionBusyError:
            pass  # serve let the collection go to a waiting command: no failure, the next poll starts it again
        except Exception as error:  # noqa: BLE001 - any failure of umap-learn leaves the page on PCA, saying why
            line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            with self._lock:
                self._failed[job.collection] = (job.key, f"{type(error).__name__}: {line}")
        finally:
            with self._lock:
                self._running.pop(job.collection, None)


def project_in_child(vectors: np.ndarray, method: str) -> np.ndarray:
    """`web.layout.project` run in a spawned child process; its error as one line, or its exit code if it died."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_project_and_send, args=(vectors, method, sending), daemon=True, name="map-layout")
    child.start()
    sending.close()
    try:
        answer = receiving.recv()
    except EOFError:
        child.join()
        raise RuntimeError(f"the layout process ended with exit code {child.exitcode}") from None
    finally:
        receiving.close()
    child.join()
    if isinstance(answer, str):
        raise RuntimeError(answer)
    return answer


def _project_and_send(vectors: np.ndarray, method: str, sending: Connection) -> None:
    """In the child, at a lower priority than the server it works for (pages first): the coordinates, or the
    error's first line, sent back."""
    try:
        os.nice(CHILD_NICENESS)
        sending.send(project(vectors, method))
    except Exception as error:  # noqa: BLE001 - whatever umap-learn raises goes back to the page as one line
        lines = str(error).strip().splitlines()
        sending.send(f"{type(error).__name__}: {lines[0] if lines else 'no message'}")
    finally:
        sending.close()
