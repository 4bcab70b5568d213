"""A query image or text turned into a vector: in this process, or ahead in a forked child.

A cold `python cli.py search --image/--text` spends most of its time importing
torch and building the model, and about a second importing qdrant-client and
reading the embedded store. Imports hold the GIL, so a thread cannot overlap
the two (measured: no gain); a child process can, on another core. The child
is forked before either is imported, builds the encoder that the collection's
name points to, embeds the query and sends the vector back while the parent
opens the store.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from encoders import BuildSettings, Encoder, build_encoder, build_text_encoder
from errors import QueryError
from media.images import BadImage, load_rgb
from store import WeightsIdentity

if TYPE_CHECKING:
    from PIL import Image

    from search.query_records import Query


@dataclass(frozen=True)
class Embedded:
    """A query's unit vector, the weights and precision that made it, the seconds spent embedding it
    (decode, preprocess, forward) and, apart, loading the model (0 when it was loaded already)."""

    vector: np.ndarray
    weights: WeightsIdentity | None
    seconds: float
    precision: str = "fp32"
    load_seconds: float = 0.0


def embed_query(encoder: Encoder, query: Query) -> Embedded:
    started = time.perf_counter()
    if query.kind == "text":
        vector = encoder.embed_texts([query.text])[0]
    else:
        vector = encoder.embed_pil([decode(query.image)])[0]
    return Embedded(vector, encoder.weights, time.perf_counter() - started, encoder.precision)


def decode(path: Path) -> Image.Image:
    """The query image decoded as ingest decodes the stored ones by default (full-size decode)."""
    try:
        return load_rgb(path)
    except BadImage as error:
        raise QueryError(f"cannot read image '{path}': {error}") from None
    except OSError as error:
        raise QueryError(f"cannot read image '{path}': {error.strerror or error}") from None


def can_fork() -> bool:
    """Fork only where it is safe: before torch is loaded and while this process has one thread
    (a fork taken while another thread holds a lock can leave the child waiting forever)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and "torch" not in sys.modules
        and threading.active_count() == 1
    )


class EmbedAhead:
    """A forked child that loads `encoder` and embeds `query`; `result()` waits for the vector."""

    def __init__(self, encoder: str, query: Query, settings: BuildSettings) -> None:
        context = multiprocessing.get_context("fork")
        self.encoder = encoder
        self.init = settings.init
        self.precision = settings.precision
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child, args=(send, encoder, query), kwargs={"settings": settings}, daemon=True
        )
        self._process.start()
        send.close()

    def result(self) -> Embedded:
        """What `embed_query` gives in the child; the child's error is raised here."""
        try:
            outcome, value = self._receive.recv()
        except EOFError:
            self._process.join()
            raise QueryError(f"the process embedding the query stopped (exit code {self._process.exitcode})") from None
        if outcome == "error":
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child if it still runs (the parent failed first, or needs another encoder)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()


def _child(send: Connection, encoder: str, query: Query, *, settings: BuildSettings) -> None:
    try:
        build = build_text_encoder if query.kind == "text" else build_encoder
        started = time.perf_counter()
        model = build(
            encoder, settings.device, weights=settings.weights, init=settings.init, precision=settings.precision
        )
        loaded = time.perf_counter() - started
        outcome = ("ok", replace(embed_query(model, query), load_seconds=loaded))
    except BaseException as error:  # raised again in the parent
        outcome = ("error", error)
    try:
        send.send(outcome)
    except Exception as error:  # an exception that does not pickle
        send.send(("error", QueryError(f"embedding the query failed: {outcome[1]!r} ({error})")))
