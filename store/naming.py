"""Collection names and point ids, fixed by the design so reruns are idempotent."""

from __future__ import annotations

import re
import uuid

DEFAULT_STORAGE = "qdrant_storage"  # folder of the embedded store
MAX_NAME = 255  # Qdrant's longest collection name
FORBIDDEN = set('<>:"/\\|?*')  # characters Qdrant refuses in a collection name
MAX_DIM = 65_536  # Qdrant's largest vector size
STAGING_SUFFIX = ".rebuild"

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


def point_id(dataset: str, path: str) -> str:
    """The UUIDv5 of a dataset image: the same image always gets the same id."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{dataset}/{path}"))
