"""The study's list layout: `images/` plus `list_of_images.txt`, one `path<TAB>label` line an image.

Paths are relative to `images/`. A list with no tab on any line lists images
without labels, one path a line. A list line may name several labels separated
by commas (`path<TAB>car,person`). Every bad line is reported with its line
number, and no path outside the image root is ever opened. A list line matches
its file whatever the Unicode normalisation (NFC or NFD) of either, and the
stored path is the file's name on disk; spaces at either end of a path are
part of the name.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

from ingest.reading.dataset_records import Dataset, Item, Problem
from ingest.reading.layouts import ReadAs
from media.containment import containment_problem, leaves_folder

LIST_FILE = "list_of_images.txt"


def read_list_folder(folder: Path, name: str) -> Dataset:
    """A dataset folder holding a list file: its items, or none when the list is linked from elsewhere."""
    image_root = folder / "images" if (folder / "images").is_dir() else folder
    problem = containment_problem(folder, LIST_FILE)
    if problem is not None:  # a list linked from elsewhere is not read (its lines would be echoed in reports)
        return Dataset(name, folder, image_root, [], [Problem(LIST_FILE, problem)])
    items, problems = read_list(folder / LIST_FILE, image_root)
    layout = ReadAs.IMAGES if items and all(item.label is None for item in items) else ReadAs.LIST
    return Dataset(name, folder, image_root, items, problems, layout=layout)


def read_list(list_file: Path, image_root: Path, require_files: bool = True) -> tuple[list[Item], list[Problem]]:
    """The items and bad lines of a list file (`path<TAB>label` lines, paths relative to `image_root`); a list
    with no tab on any line lists images without labels, one path a line (what `collections export` writes
    for an unlabeled collection).

    With `require_files` False a listed file need not exist (vectors imported from
    elsewhere): its path is kept as written.
    """
    raw = list_file.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    unlabeled = b"\t" not in raw
    items: list[Item] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    listings: dict[Path, dict[str, str]] = {}
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        where = f"{list_file.name}:{number}"
        try:
            line = line_bytes.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            problems.append(Problem(where, "line is not valid UTF-8"))
            continue
        if not line.strip():
            continue
        item, reason = _parse_line(line, image_root, listings, require_files=require_files, unlabeled=unlabeled)
        if reason is None and item.path in seen:
            reason = f"duplicate of line {seen[item.path]}"
        if reason is not None:
            problems.append(Problem(where, reason))
            continue
        seen[item.path] = number
        items.append(item)
    return items, problems


def _parse_line(
    line: str,
    image_root: Path,
    listings: dict[Path, dict[str, str]],
    *,
    require_files: bool = True,
    unlabeled: bool = False,
) -> tuple[Item | None, str | None]:
    """The item of one list line: the path is kept as written (spaces too), each label stripped; an
    `unlabeled` list's line is a path alone."""
    label: str | None = None
    labels: tuple[str, ...] | None = None
    if unlabeled:
        path = line
    elif "\t" not in line:
        return None, "no tab between path and label"
    else:
        path, label = line.split("\t", 1)
        label = label.strip()
    if not path.strip():
        return None, "empty path"
    if label is not None:
        if not label:
            return None, "empty label"
        if "\t" in label:
            return None, "more than two tab-separated columns (expected path<TAB>label; several labels: a,b)"
        labels = tuple(dict.fromkeys(part.strip() for part in label.split(",")))  # in order, repeats once
        if "" in labels:
            return None, f"empty label in '{label}' (labels are separated by single commas)"
        label, labels = labels[0], labels if len(labels) > 1 else None
    pure = PurePosixPath(path.replace("\\", "/"))
    if leaves_folder(path):
        return None, f"path '{path}' leaves the image folder"
    found = _on_disk(image_root, pure, listings)
    if found is None and path != path.strip():  # spaces around a path are kept unless no such file exists
        found = _on_disk(image_root, PurePosixPath(path.strip().replace("\\", "/")), listings)
    if found is None and not require_files:
        return Item(pure.as_posix(), label, labels), None
    if found is None:
        return None, f"listed file '{pure}' does not exist"
    reason = containment_problem(image_root, found.as_posix())
    if reason is not None:
        return None, f"'{found}': {reason}"
    return Item(found.as_posix(), label, labels), None


def _on_disk(root: Path, relative: PurePosixPath, listings: dict[Path, dict[str, str]]) -> PurePosixPath | None:
    """`relative` as named on disk when it is a file under `root`: each part as written, or else
    the entry of its folder with the same NFC form (`listings` caches folders read). None if absent."""
    current = root
    for part in relative.parts:
        if not os.path.lexists(current / part):
            if current not in listings:
                try:
                    listings[current] = {unicodedata.normalize("NFC", n): n for n in os.listdir(current)}
                except OSError:
                    listings[current] = {}
            part = listings[current].get(unicodedata.normalize("NFC", part))
            if part is None:
                return None
        current = current / part
    return PurePosixPath(current.relative_to(root).as_posix()) if current.is_file() else None
