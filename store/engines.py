"""The engines a store folder or URL can be read with, chosen by name from one table.

A server is chosen by its URL. An embedded store folder records its format:
an Edge store has `store.json`; a folder with qdrant-client's `meta.json` is a
local-mode store of an earlier release, still opened by its own engine (and
moved to Edge by `python cli.py store migrate`). A new folder gets `--engine`,
by default Qdrant Edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from errors import StoreError
from store.base import VectorStore


class EngineKind(StrEnum):
    """The embedded engines, by the name `--engine` takes (a server is chosen by its URL instead)."""

    EDGE = "edge"
    LOCAL = "local"


DEFAULT_ENGINE = EngineKind.EDGE


@dataclass(frozen=True)
class Engine:
    """An embedded engine: its kind, what it is, how to tell its folders and how to open one."""

    name: EngineKind
    description: str
    owns: Callable[[Path], bool]
    open: Callable[..., VectorStore]


def _open_edge(path: Path, create: bool, *, wait: float, idle_release: float | None, yielding: bool) -> VectorStore:
    from store.edge import EdgeStore

    return EdgeStore.open(path, create, wait=wait, idle_release=idle_release, yielding=yielding)


def _open_local(path: Path, create: bool, *, wait: float, idle_release: float | None, yielding: bool) -> VectorStore:
    from store.client.embedded import EmbeddedStore

    return EmbeddedStore.open(path, create)


def _is_edge(folder: Path) -> bool:
    from store.edge.store_folder import is_edge_store

    return is_edge_store(folder)


ENGINES = {
    EngineKind.EDGE: Engine(
        EngineKind.EDGE, "Qdrant Edge: Qdrant's engine in this process (HNSW, quantization)", _is_edge, _open_edge
    ),
    EngineKind.LOCAL: Engine(
        EngineKind.LOCAL,
        "qdrant-client's local mode: every point in Python memory, exact search only",
        lambda folder: (folder / "meta.json").is_file() and not _is_edge(folder),
        _open_local,
    ),
}


def engine_of(folder: Path) -> Engine | None:
    """The engine whose store `folder` holds; None for a folder that holds no store yet."""
    return next((engine for engine in ENGINES.values() if folder.is_dir() and engine.owns(folder)), None)


def choose(folder: Path, asked: str | None) -> Engine:
    """The engine for `folder`: its own format, else the one asked for (an `EngineKind` value), else the default."""
    if asked is not None and asked not in set(EngineKind):
        raise StoreError(f"unknown engine '{asked}'; choose one of {', '.join(EngineKind)}")
    found = engine_of(folder)
    if found is not None and asked is not None and asked != found.name:
        raise StoreError(
            f"'{folder}' is a {found.name} store ({found.description}); leave out --engine, or move it with "
            f"`python cli.py store migrate`"
        )
    return found or ENGINES[EngineKind(asked or DEFAULT_ENGINE)]


def has_store(folder: Path) -> bool:
    return engine_of(folder) is not None
