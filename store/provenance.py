"""What a collection says about itself: the one place its metadata is written and read.

Kept in Qdrant's collection metadata, which the embedded store and servers
both keep: where the images are, which encoder and which weights made the
vectors (`WeightsIdentity`, computed by `encoders.identity`) and in which
precision, the preprocessing, the versions of the project and its main
libraries, when it was created and last written, how
many stored points the last ingest found no longer listed, and whether its
points carry labels (`labeled`: every reader knows without scanning). A collection
written before this existed (or by another tool) has none: it reads as None,
shown as "provenance unknown".
"""

from __future__ import annotations

import datetime
import importlib.metadata
import sys
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from store.payload import PAYLOAD_SCHEMA, SCHEMA_KEY

PROVENANCE_KEY = "provenance"
LIBRARIES = ("torch", "transformers", "timm", "qdrant-client", "numpy", "pillow")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@dataclass(frozen=True)
class WeightsIdentity:
    """`kind`: none, random, random-tiny, hf-snapshot, file-sha256, folder-sha256, imported (vectors made
    elsewhere; `value` is the sha256 of the file they came from) or unknown."""

    kind: str
    value: str | None = None
    seed: int | None = None

    @property
    def random(self) -> bool:
        return self.kind in ("random", "random-tiny")

    def describe(self) -> str:
        """A short line for tables: 'random weights (random-tiny, seed 0)', 'hf snapshot 3a4b5c6d'..."""
        if self.random:
            return f"random weights ({self.kind}, seed {self.seed})"
        if self.kind == "none":
            return "no weights"
        if self.kind == "hf-snapshot":
            return f"hf snapshot {(self.value or '?')[:12]}"
        if self.kind in ("file-sha256", "folder-sha256"):
            return f"{self.kind.split('-')[0]} sha256 {(self.value or '?')[:12]}"
        if self.kind == "imported":
            return f"imported vectors (sha256 {(self.value or '?')[:12]})"
        return "unknown weights"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def read(cls, record: dict | None) -> WeightsIdentity:
        record = record or {}
        seed = record.get("seed")
        return cls(str(record.get("kind", "unknown")), record.get("value"), seed if isinstance(seed, int) else None)


@dataclass(frozen=True)
class Provenance:
    """Where a collection's vectors came from; `weights` is a `WeightsIdentity` as a dict."""

    dataset: str
    image_root: str  # absolute; the stored paths are relative to it
    encoder: str
    model_id: str
    weights: dict
    preprocessing: str | None
    dim: int
    versions: dict = field(default_factory=dict)
    created: str = ""
    updated: str = ""
    stale: int = 0  # stored points whose images the last ingest found no longer listed
    imported_from: str | None = None  # the file of vectors made elsewhere (`python cli.py import`)
    same_as: bool = False  # imported vectors that the registered encoder of that name would give
    precision: str = "fp32"  # the encoder's arithmetic, fp32 or bf16 (encoders/precision.py); absent before: fp32
    complete: bool = True  # False from the start of a write (import, ingest) to its end; absent before: complete
    labeled: bool = True  # False for images read without labels (searchable, not evaluable); absent before: labeled
    schema: int = PAYLOAD_SCHEMA

    @property
    def weights_identity(self) -> WeightsIdentity:
        return WeightsIdentity.read(self.weights)

    @property
    def random_weights(self) -> bool:
        return self.weights_identity.random

    def touched(self, **changes) -> Provenance:
        """A copy with `changes` and the update time set to now."""
        return replace(self, **changes, updated=now())

    def to_metadata(self) -> dict:
        return {SCHEMA_KEY: self.schema, PROVENANCE_KEY: asdict(self)}

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def read(cls, metadata: dict) -> Provenance | None:
        """The provenance in a collection's metadata; None when it has none or it does not parse."""
        record = metadata.get(PROVENANCE_KEY)
        if not isinstance(record, dict) or provenance_problem(metadata):
            return None
        try:
            return cls(**{key: record[key] for key in cls.__dataclass_fields__ if key in record})
        except TypeError:
            return None


FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "dataset": (str,),
    "image_root": (str,),
    "encoder": (str,),
    "model_id": (str,),
    "weights": (dict,),
    "preprocessing": (str, type(None)),
    "dim": (int,),
    "versions": (dict,),
    "created": (str,),
    "updated": (str,),
    "stale": (int,),
    "imported_from": (str, type(None)),
    "same_as": (bool,),
    "precision": (str,),
    "complete": (bool,),
    "labeled": (bool,),
    "schema": (int,),
}


def provenance_problem(metadata: dict) -> str | None:
    """Why the provenance recorded in `metadata` does not parse ('dim' is '4x', ...); None when it does or
    when there is none."""
    record = metadata.get(PROVENANCE_KEY)
    if record is None:
        return None
    if not isinstance(record, dict):
        return f"its provenance is {type(record).__name__}, not a JSON object"
    for key, kinds in FIELD_TYPES.items():
        value = record.get(key)
        if key in record and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            return f"provenance '{key}' is {value!r}"
    return None


def unfinished(name: str, provenance: Provenance | None) -> str | None:
    """One line when collection `name` records a write that did not finish (killed, interrupted, failed);
    None for a complete collection or one that records nothing."""
    if provenance is None or provenance.complete:
        return None
    rerun = "the same `python cli.py import`" if provenance.imported_from else "`python cli.py ingest`"
    return (
        f"collection '{name}' was not completely written (its last import or ingest stopped before the end); "
        f"rerun {rerun} to complete it"
    )


def no_labels(name: str) -> str:
    """The start of the line saying collection `name` holds images read without labels (`Provenance.labeled`);
    each command says what it cannot do without them."""
    return f"collection '{name}' has no labels (its images were read without labels)"


def random_marked(name: str, random_weights: bool) -> str:
    """`name`, with ' (random weights)' after it when its vectors come from random weights: the one mark of every
    title and table of the terminal and the figures (never a result; pages draw `_macros.html`'s `random_mark`)."""
    return f"{name} (random weights)" if random_weights else name


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def versions() -> dict:
    """The project's version and those of Python and the main libraries installed."""
    found = {"project": tomllib.loads(PYPROJECT.read_text())["project"]["version"], "python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
