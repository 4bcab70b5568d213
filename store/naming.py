"""Collection names and point ids, fixed by the design so reruns are idempotent."""

from __future__ import annotations

import re
import shlex
import uuid

DEFAULT_STORAGE = "qdrant_storage"  # folder of the embedded store
EMBEDDED = "embedded:"  # an embedded store's location: 'embedded:<absolute folder>'; a server's is its URL
MAX_NAME = 255  # Qdrant's longest collection name
FORBIDDEN = set('<>:"/\\|?*')  # characters Qdrant refuses in a collection name
MAX_DIM = 65_536  # Qdrant's largest vector size
STAGING_SUFFIX = ".rebuild"
GENERATION = ".gen-"  # a collection behind an alias: '<name>.gen-<8 hex digits>' (local mode and servers)
SWAP_SUFFIX = ".swap"  # the alias that marks a whole new generation of '<name>' as the one to swap in

# Namespace of every point id: uuid5(POINT_NAMESPACE, "<dataset>/<relative path>").
POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "qdrant-image-retrieval/points")


def slug(text: str) -> str:
    """Lower-case, with every run of characters outside [a-z0-9.-] turned into one '-'."""
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def collection_name(dataset: str, encoder: str) -> str:
    """'<dataset>_<encoder>', e.g. collection_name('paris', 'clip') == 'paris_clip'."""
    return f"{slug(dataset)}_{slug(encoder)}"


def name_problem(name: str) -> str | None:
    """Why Qdrant would refuse `name` as a collection name, or None: it must be 1 to 255
    characters, without control characters or any of <>:"/\\|?*."""
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"it is {len(name)} characters long (at most {MAX_NAME})"
    bad = sorted({c for c in name if c in FORBIDDEN or ord(c) < 32 or ord(c) == 127})
    if bad:
        return f"it contains {', '.join(repr(c) for c in bad)}"
    return None


def staging_name(name: str) -> str:
    """The collection a rebuild of `name` is written into beside it, until `VectorStore.replace` swaps it in."""
    return f"{name[: MAX_NAME - len(STAGING_SUFFIX)]}{STAGING_SUFFIX}"


def is_staging(name: str) -> bool:
    """Whether `name` is a rebuild's staging collection (one a killed rebuild left is no collection of the
    user's: never listed, dropped by the next rebuild of its collection)."""
    return name.endswith(STAGING_SUFFIX)


def generation_name(name: str) -> str:
    """A new collection for a rebuild of `name` on an engine with aliases: '<name>.gen-<8 hex digits>'."""
    return f"{name[: MAX_NAME - len(GENERATION) - 8]}{GENERATION}{uuid.uuid4().hex[:8]}"


def generation_of(collection: str) -> str | None:
    """The name whose generation `collection` is ('a.gen-0123abcd' -> 'a'), or None."""
    base, found, token = collection.rpartition(GENERATION)
    return base if found and re.fullmatch(r"[0-9a-f]{8}", token) else None


def swap_alias(name: str) -> str:
    """The alias marking the generation a swap of `name` puts in place (`QdrantStore.replace`)."""
    return f"{name}{SWAP_SUFFIX}"


def swapped(alias: str) -> str | None:
    """The name a swap marker `alias` belongs to, or None for any other alias."""
    return alias.removesuffix(SWAP_SUFFIX) if alias.endswith(SWAP_SUFFIX) else None


def point_id(dataset: str, path: str) -> str:
    """The UUIDv5 of a dataset image: the same image always gets the same id."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{dataset}/{path}"))


def store_option(location: str) -> str:
    """The option that opens the store at `location` again (an embedded folder, or a server's URL with its
    credentials already removed), quoted for a shell: how a printed command names its store."""
    if location.startswith(EMBEDDED):
        return f"--storage {shlex.quote(location.removeprefix(EMBEDDED))}"
    return f"--qdrant-url {shlex.quote(location)}"
