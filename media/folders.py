"""The folders the tool writes its reports and pictures into, checked before any heavy work."""

from __future__ import annotations

import os
from pathlib import Path

from errors import MediaError


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
