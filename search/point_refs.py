"""How a point typed on the command line or in a URL is looked for: an id checked as a UUID, and a path in each
form it may be stored in."""

from __future__ import annotations

import uuid
from pathlib import Path

from errors import QueryError


def stored_forms(path: str, roots: list[Path]) -> list[str]:
    """What a --path may stand for, most literal first: the stored relative path as typed, the same without
    a leading 'images/', and, for a file that exists (relative to the working folder or absolute), its path
    relative to each of `roots` it lies under."""
    forms = [path, Path(path).as_posix()]
    if forms[-1].startswith("images/"):
        forms.append(forms[-1].removeprefix("images/"))
    file = Path(path).expanduser()
    if file.is_file():
        for root in roots:
            try:
                forms.append(file.resolve().relative_to(root.resolve()).as_posix())
            except ValueError:  # not under this root
                continue
    return list(dict.fromkeys(forms))


def checked_id(text: str) -> str:
    """A point id as stored (a UUID), or a clear error instead of the engine's."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise QueryError(f"'{text}' is not a point id (ids are UUIDs; `--format json` shows them)") from None
