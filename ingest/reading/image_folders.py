"""Folders of image files: class folders (each image's top folder its label) or images without labels.

Symlinks, files and folders alike, are followed only when they resolve inside
the dataset's image root (the folder the stored paths are relative to, where
galleries look too); every other one is skipped and reported with its reason.
`ingest.reading.layouts` says which folder reads as which, and `--layout` names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from errors import DatasetError
from ingest.reading.dataset_records import Dataset, Item, Problem
from ingest.reading.layouts import Layout, ReadAs, class_folders
from media.containment import resolved_problem

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


def image_files(folder: Path) -> Iterator[Path]:
    """Every image file under `folder`, at any depth."""
    return (p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_folder(folder: Path, name: str, layout: Layout) -> Dataset:
    """A folder of image files: class folders (the top folder of each image its label) when asked or when
    every image lies exactly one folder down, else every image without a label."""
    problems: list[Problem] = []
    paths = [
        path.relative_to(folder).as_posix() for path in _walk(folder, folder, (folder.resolve(),), problems=problems)
    ]
    if layout == Layout.IMAGES or (layout == Layout.AUTO and not class_folders(paths)):
        return Dataset(name, folder, folder, [Item(path, None) for path in paths], problems, layout=ReadAs.IMAGES)
    items = [Item(path, path.split("/")[0]) for path in paths if "/" in path]
    if not items:
        raise DatasetError(
            f"'{folder}' has no class folders (its images lie directly in it); --layout images reads them without labels"
        )
    return Dataset(name, folder, folder, items, problems, layout=ReadAs.CLASSES)


def _walk(directory: Path, top: Path, real: tuple[Path, ...], *, problems: list[Problem]) -> Iterator[Path]:
    """Image files under `directory` in sorted order; `real` holds the resolved folders from the
    image root down to `directory`. Symlinks out of the root, broken or looping are reported."""
    root = real[0]
    for entry in sorted(directory.iterdir()):
        image = entry.suffix.lower() in IMAGE_SUFFIXES
        if entry.is_symlink():
            reason = resolved_problem(entry, root)
            if reason is None and entry.is_dir() and entry.resolve() in real:
                reason = "symlink to a folder containing it (a loop); not followed"
            if reason is not None:
                if image or entry.is_dir() or not entry.exists():
                    problems.append(Problem(entry.relative_to(top).as_posix(), reason))
                continue
        if entry.is_dir():
            yield from _walk(entry, top, (*real, entry.resolve()), problems=problems)
        elif image and entry.is_file():
            yield entry
