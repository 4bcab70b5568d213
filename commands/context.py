"""What every command shares: the Context (store, reports, screen) and the options that fill it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from encoders import INITS
from redaction import remember
from render import Screen
from store.engines import EngineKind
from store.naming import DEFAULT_STORAGE
from store.types import Quantization

if TYPE_CHECKING:
    from store import VectorStore


@dataclass(kw_only=True)
class Context:
    """The options every command shares and the store they name, opened once per command.

    `handed`: a store already open (a test, a program running commands in-process) that every
    command uses instead of opening one; its owner closes it, so `close` leaves it open."""

    storage: str = DEFAULT_STORAGE
    qdrant_url: str | None = None
    api_key: str | None = None
    prefer_grpc: bool = False
    reports: Path = Path("reports")
    screen: Screen = field(default_factory=Screen)
    engine: str | None = None  # an EngineKind value (--engine)
    wait: float = 0.0
    idle_release: float | None = None  # a long-running command lets go of collections unused this long
    yielding: bool = False  # a long-running command lets go of a collection another process waits for
    handed: VectorStore | None = None
    _store: VectorStore | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._store = self.handed

    def store(self, create: bool = False) -> VectorStore:
        """The store, opened on first use (embedded unless a URL is given); only ingest creates one."""
        if self._store is None:
            from store import OpenOptions, open_store

            options = OpenOptions(
                prefer_grpc=self.prefer_grpc, wait=self.wait, idle_release=self.idle_release, yielding=self.yielding
            )
            self._store = open_store(
                self.qdrant_url, self.api_key, self.storage, create=create, engine=self.engine, options=options
            )
        return self._store

    def check_store(self) -> VectorStore | None:
        """Before any model loads: open the store if it exists (a locked, damaged or unreachable one
        fails now), else check that it can be created; nothing is created yet. The store, or None."""
        if self._store is None:
            from store import OpenOptions, open_existing_store

            options = OpenOptions(prefer_grpc=self.prefer_grpc, wait=self.wait)
            self._store = open_existing_store(
                self.qdrant_url, self.api_key, self.storage, engine=self.engine, options=options
            )
        return self._store

    def close(self) -> None:
        """Release the store when the command ends (an embedded store holds the collections it used)."""
        if self._store is not None and self._store is not self.handed:
            self._store.close()


ENV_STORAGE = "RETRIEVAL_STORAGE"
ENV_ENGINE = "RETRIEVAL_ENGINE"
ENV_WAIT = "RETRIEVAL_WAIT"
ENGINE_NAMES = tuple(kind.value for kind in EngineKind)
DEFAULT_WAIT = 10.0
ENV_REPORTS = "RETRIEVAL_REPORTS"
ENV_DATA_ROOT = "RETRIEVAL_DATA_ROOT"


def _override(field: str):
    """A callback that puts an option given after the command's name into the Context."""

    def callback(ctx: click.Context, param: click.Parameter, value):
        if value is not None and value is not False:
            setattr(ctx.find_object(Context), field, secret(ctx, param, value) if field in SECRET_FIELDS else value)

    return callback


SECRET_FIELDS = ("api_key", "qdrant_url")  # options whose value (or URL password) is hidden wherever it is shown


URL_OPTIONS = ("qdrant_url", "url")  # options holding a URL: only its user and password are secret


def secret(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A callback for an option holding a key or a URL with credentials: `redact` hides the key, or the URL's
    user and password, from then on (terminal, reports, holder files), whatever form the text shows it in."""
    return remember(value, url=param.name in URL_OPTIONS)


def store_options(command):
    """The group's store and report options, accepted after the command's name too (they win there)."""
    options = [
        click.option(
            "--storage", callback=_override("storage"), expose_value=False, help=f"Store folder [{ENV_STORAGE}]."
        ),
        click.option(
            "--qdrant-url", callback=_override("qdrant_url"), expose_value=False, help="Server URL [QDRANT_URL]."
        ),
        click.option("--api-key", callback=_override("api_key"), expose_value=False, help="API key [QDRANT_API_KEY]."),
        click.option(
            "--prefer-grpc",
            is_flag=True,
            default=None,
            callback=_override("prefer_grpc"),
            expose_value=False,
            help="Talk to the server over gRPC.",
        ),
        click.option(
            "--reports",
            type=click.Path(path_type=Path),
            callback=_override("reports"),
            expose_value=False,
            help=f"Reports folder [{ENV_REPORTS}].",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINE_NAMES),
            callback=_override("engine"),
            expose_value=False,
            help=f"Engine of a new embedded store [{ENV_ENGINE}].",
        ),
        click.option(
            "--wait",
            type=click.FloatRange(0),
            callback=_override("wait"),
            expose_value=False,
            help=f"Seconds to wait for a held collection [{ENV_WAIT}].",
        ),
        click.option("--debug", is_flag=True, expose_value=False, help="Show tracebacks."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def data_root_option(help: str = "Folder holding one folder per dataset."):
    return click.option(
        "--data-root",
        envvar=ENV_DATA_ROOT,
        show_envvar=True,
        default="data",
        show_default=True,
        type=click.Path(path_type=Path),
        help=help,
    )


def images_moved_option(command):
    """--data-root for commands that read images of stored collections: only when the images moved."""
    return click.option(
        "--data-root",
        envvar=ENV_DATA_ROOT,
        show_envvar=True,
        type=click.Path(path_type=Path),
        help="Where to look for the images when they are not where each collection recorded them (the data moved).",
    )(command)


def interactive() -> bool:
    """Whether a question can be asked: stdin is a terminal."""
    return sys.stdin.isatty()


def command_line() -> str:
    """This command as typed, with every credential hidden (it goes into reports)."""
    from redaction import redact

    return redact(" ".join(["python", "cli.py", *sys.argv[1:]]))


def model_options(command):
    """--device, --weights and --init, for the commands that load an encoder."""
    command = click.option(
        "--init",
        type=click.Choice(INITS),
        help="Random weights, for tests and benchmarks (default: pretrained; search and serve use what each "
        "collection recorded).",
    )(command)
    command = click.option("--weights", multiple=True, help="NAME=PATH: a local model folder or weights file.")(command)
    return click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)(
        command
    )


def format_option(command):
    """--format table|json: every listing has a human and a machine form."""
    choice = click.Choice(["table", "json"])
    return click.option(
        "--format", "output", type=choice, default="table", show_default=True, help="A table, or JSON on stdout."
    )(command)


def index_options(command):
    """A collection's index settings (`store.IndexSettings`): what `ingest` builds and `collections reindex`
    gives a stored collection."""
    options = [
        click.option("--on-disk", is_flag=True, help="Keep vectors on disk (memory-mapped)."),
        click.option("--hnsw-m", type=click.IntRange(0), help="HNSW edges per node (Qdrant: 16)."),
        click.option("--hnsw-ef-construct", type=click.IntRange(4), help="HNSW build beam (Qdrant: 100)."),
        click.option("--hnsw-ef", type=click.IntRange(1), help="Embedded store: the beam of approximate queries."),
        click.option(
            "--rescore/--no-rescore",
            default=None,
            help="Embedded store, quantized: rescore approximate hits with the original vectors (Edge: off).",
        ),
        click.option(
            "--oversampling",
            type=click.FloatRange(1),
            help="Embedded store, quantized: gather this many times the hits asked for before rescoring.",
        ),
        click.option(
            "--quantization",
            type=click.Choice([kind.value for kind in Quantization]),
            default="none",
            help="Quantized copy of the vectors for approximate search.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
