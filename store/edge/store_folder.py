"""The embedded store's folder: its format file, one folder per collection, and each collection's sidecar.

```
<storage>/store.json                          {"format": "qdrant-edge", ...}: which engine reads it
<storage>/collections/<name>/collection.json  the sidecar: vectors, settings, metadata (provenance)
<storage>/collections/<name>/holder           who holds the collection now (store/edge/holders.py)
<storage>/collections/<name>/shard/           the Qdrant Edge shard
```

A collection's folder name is its name with '%' and every character outside
letters, digits, '_', '-' and '.' (and a leading '.') percent-encoded, so any
name Qdrant accepts is one folder. Qdrant Edge keeps no collection metadata:
the sidecar does, written atomically so a crash never leaves half of it.
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path
from urllib.parse import quote, unquote

from errors import StoreError
from media.files import write_text_atomic
from store.provenance import provenance_problem

FORMAT_FILE = "store.json"
FORMAT = "qdrant-edge"
SIDECAR = "collection.json"
HOLDER = "holder"
SHARD = "shard"
ASIDE = ".aside-"  # prefix of an old collection folder a swap set aside (no collection's folder starts with '.')


def folder_name(name: str) -> str:
    """The folder of collection `name`: reversible, one path component, never '.' or '..'."""
    encoded = quote(name, safe="_-.")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


COLLECTION_ADVICE = "move the collection's folder aside and ingest again"
FORMAT_ADVICE = (
    'write {"format": "qdrant-edge"} into it (the collections beside it are untouched), or pass --storage with '
    "another folder"
)
SIDECAR_TYPES = {"name": str, "dim": int, "points": int, "distance": str, "settings": dict, "metadata": dict}
TYPE_WORDS = {str: "a text", int: "a whole number", dict: "a JSON object"}


def read_json(path: Path, advice: str = COLLECTION_ADVICE) -> dict:
    """A JSON object from `path`; a damaged file is one line naming it and saying what to do (`advice`)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StoreError(f"{path} cannot be read ({error}); {advice}") from None
    if not isinstance(record, dict):
        raise StoreError(f"{path} does not hold a JSON object; {advice}")
    return record


def is_edge_store(folder: Path) -> bool:
    """Whether `folder` holds a store written by this engine."""
    format_file = folder / FORMAT_FILE
    return format_file.is_file() and read_json(format_file, FORMAT_ADVICE).get("format") == FORMAT


def now() -> str:
    """The time now, UTC, to the second, as the format and holder files record it."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class StoreFolder:
    """Where each part of the Edge store in `path` lives, and its format file and sidecars read and written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = f"embedded:{path.resolve()}"

    def mark(self, version: str) -> None:
        """Record that the folder is an Edge store (before the first collection is written)."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / FORMAT_FILE).is_file():
            write_text_atomic(
                self.path / FORMAT_FILE,
                json.dumps({"format": FORMAT, "qdrant_edge": version, "created": now()}, indent=1, sort_keys=True),
            )

    def names(self) -> list[str]:
        """The collections, sorted: the folders that have a sidecar."""
        base = self.path / "collections"
        if not base.is_dir():
            return []
        return sorted(
            unquote(f.name) for f in base.iterdir() if (f / SIDECAR).is_file() and not f.name.startswith(ASIDE)
        )

    def collection(self, name: str) -> Path:
        return self.path / "collections" / folder_name(name)

    def shard(self, name: str) -> Path:
        return self.collection(name) / SHARD

    def has(self, name: str) -> bool:
        """Whether `name` is a collection: its sidecar is written last on creating and removed first on dropping."""
        return (self.collection(name) / SIDECAR).is_file()

    def sidecar(self, name: str) -> dict:
        """The collection's sidecar; one whose fields have the wrong types is one line naming the file."""
        path = self.collection(name) / SIDECAR
        record = read_json(path)
        for key, kind in SIDECAR_TYPES.items():
            value = record.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise StoreError(f"{path}: '{key}' is {value!r}, not {TYPE_WORDS[kind]}; {COLLECTION_ADVICE}")
        problem = provenance_problem(record.get("metadata") or {})
        if problem:
            raise StoreError(f"{path}: {problem}, which does not parse; {COLLECTION_ADVICE}")
        return record

    def write_sidecar(self, name: str, record: dict) -> None:
        """Replace the sidecar whole: readers see the old one or the new one."""
        write_text_atomic(self.collection(name) / SIDECAR, json.dumps(record, indent=1, sort_keys=True))

    def unmark(self, name: str) -> None:
        """Remove the sidecar: `name` is no longer a collection, whatever happens to its folder next."""
        (self.collection(name) / SIDECAR).unlink()

    def swap_in(self, new: Path, old: Path) -> None:
        """Folder `new` takes the place of `old` in two renames a kill cannot break: `old` set aside, `new` in.
        The caller holds both; the folder set aside is removed after (`remove_set_aside`)."""
        aside = old.with_name(ASIDE + old.name)
        shutil.rmtree(aside, ignore_errors=True)  # the removal a killed swap did not finish
        old.rename(aside)
        new.rename(old)

    def remove_set_aside(self, name: str) -> None:
        collection = self.collection(name)
        shutil.rmtree(collection.with_name(ASIDE + collection.name), ignore_errors=True)

    def set_aside(self) -> list[tuple[str, Path]]:
        """(collection name, folder) of every old folder a swap set aside and did not remove: named with
        `ASIDE` and holding a sidecar (any other hidden folder, `.ipynb_checkpoints` say, is left alone)."""
        base = self.path / "collections"
        if not base.is_dir():
            return []
        found = (f for f in base.iterdir() if f.name.startswith(ASIDE) and (f / SIDECAR).is_file())
        return [(unquote(f.name[len(ASIDE) :]), f) for f in found]

    def settle(self, name: str, aside: Path) -> None:
        """What a killed swap left of `name`: the old folder removed when the new one is in place, else put back."""
        place = self.collection(name)
        if (place / SIDECAR).is_file():
            shutil.rmtree(aside, ignore_errors=True)
        elif not place.exists():
            aside.rename(place)
