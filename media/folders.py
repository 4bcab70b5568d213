"""The folders the tool writes its reports and pictures into, checked before any heavy work, and each
collection's own folder under reports/."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from errors import MediaError

RESERVED = {"ingest"}  # reports/ingest/ holds the ingest reports, never a collection's


def writable_folder(folder: Path, option: str = "--reports", create: bool = True) -> Path:
    """`folder`, created if missing (with `create` False only checked: nothing is made); a file
    there, or a folder that cannot be written, is one clear error naming it and `option` instead of
    an OSError halfway through a run."""
    if folder.exists() and not folder.is_dir():
        raise MediaError(f"{option} '{folder}' is a file, not a folder; pass a folder")
    if not create:
        ancestor = next(parent for parent in (folder, *folder.absolute().parents) if parent.exists())
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise MediaError(f"cannot create {option} folder '{folder}': '{ancestor}' is not writable; pass another")
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MediaError(f"cannot create {option} folder '{folder}': {error.strerror or error}; pass another") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MediaError(f"{option} folder '{folder}' is not writable; pass another")
    return folder


def safe_name(text: str) -> str:
    """`text` as a file name, one per text: every run of characters outside [A-Za-z0-9._+-] becomes '-'
    and dots at either end go; when that changed it (or only its case), a short hash of the exact text is
    appended, so that two texts never share a name, even on a case-insensitive disk."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip(".")
    if cleaned == text and cleaned == cleaned.lower() and cleaned not in RESERVED:
        return cleaned
    return f"{cleaned.lower() or 'collection'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def report_folder(reports_dir: Path, collection: str) -> Path:
    """reports/<collection>; a name unsafe in a file name gets a hash of itself, never another's folder."""
    return reports_dir / safe_name(collection)
