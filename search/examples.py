"""More like these, less like those: the examples of a query, as typed and as found.

An example is typed as a stored point's id, a stored path (as stored, or the
file's own path under the dataset's image folder) or an image file on disk;
`resolve` finds which, a stored point first (it needs no model), and says in
one line what it could not find, with the nearest stored path.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from errors import QueryError
from store.example_query import Strategy


class Side(StrEnum):
    """Which examples a point is: more like it, or less like it (the web app's two buttons)."""

    LIKE = "like"
    UNLIKE = "unlike"


@dataclass(frozen=True)
class Examples:
    """What `search --like ... --unlike ...` asks: each value an id, a stored path or an image file."""

    like: tuple[str, ...] = ()
    unlike: tuple[str, ...] = ()
    strategy: Strategy = Strategy.BEST

    def __post_init__(self) -> None:
        both = sorted(set(self.like) & set(self.unlike))
        if both:
            raise QueryError(f"'{both[0]}' is given both as --like and as --unlike; keep it on one side")

    def __bool__(self) -> bool:
        return bool(self.like or self.unlike)

    def describe(self) -> str:
        """'like a, b; unlike c' as typed."""
        sides = [("like", self.like), ("unlike", self.unlike)]
        return "; ".join(f"{side} {', '.join(values)}" for side, values in sides if values)


@dataclass(frozen=True)
class Example:
    """One example as found: a stored point (`point_id`, its stored `path` and labels) or an image `file`."""

    typed: str
    positive: bool
    point_id: str | None = None
    path: str | None = None
    labels: tuple[str, ...] = ()
    file: Path | None = None

    def to_json(self) -> dict:
        return {
            "typed": self.typed,
            "side": "like" if self.positive else "unlike",
            "id": self.point_id,
            "path": self.path,
            "labels": list(self.labels),
            "file": None if self.file is None else str(self.file),
        }


@dataclass(frozen=True)
class Lookup:
    """How a typed example is looked up in one collection: its id's payload, a path's stored point (the
    forms a path may stand for: `search.point_refs.stored_forms`) and, for the hint, every stored path."""

    collection: str
    payload: Callable[[str], object | None]
    find_path: Callable[[str], str | None]
    stored_paths: Callable[[], list[str]]


def resolve(typed: str, positive: bool, lookup: Lookup) -> Example:
    """The stored point or image file `typed` names; one line naming what was tried where it names none."""
    side = "--like" if positive else "--unlike"
    try:
        point = str(uuid.UUID(typed))
    except ValueError:
        point = lookup.find_path(typed)
    else:
        if lookup.payload(point) is None:
            raise QueryError(f"{side} {typed}: no point in '{lookup.collection}' has this id")
    if point is not None:
        payload = lookup.payload(point)
        return Example(typed, positive, point, payload.path, payload.label_set)
    file = Path(typed).expanduser()
    if file.is_file():
        return Example(typed, positive, file=file)
    close = difflib.get_close_matches(Path(typed).as_posix(), lookup.stored_paths(), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise QueryError(
        f"{side} {typed}: no point in '{lookup.collection}' has this path and there is no such file; {hint}"
        f"(give a stored id, a stored path such as bus/db_100.jpg, or an image file)"
    )
