"""How a folder of image files is read: class folders (labels) or images without labels.

A folder of images with no list file, VOC or Revisited layout is read by
where its images lie. Class folders are images exactly one level down
(`<class>/<image>`), every one of them; anything else (images directly in
the folder, or deeper, like a photo library's `2023/holiday/*.jpg`) is read
as images without labels, so a library is never taken for classes unless
`--layout classes` asks. `--layout images` reads any dataset, a labeled one
included, without labels (stored paths stay relative to the image root, so
nested paths are unique).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePosixPath


class Layout(StrEnum):
    """How a dataset folder is read; the values are the `--layout` choices."""

    AUTO = "auto"  # the folder's own layout: list file, VOC, Revisited, class folders, else images
    CLASSES = "classes"  # top folders are labels, whatever lies under them
    IMAGES = "images"  # every image, without labels


class ReadAs(StrEnum):
    """How a dataset was read (`Dataset.layout`, the `datasets` listing's layout column)."""

    LIST = "list"
    VOC = "voc"
    REVISITED = "revisited"
    CLASSES = "classes"
    IMAGES = "images"  # without labels


def class_folders(paths: list[str]) -> bool:
    """Whether every image path lies exactly one folder down (`<class>/<image>`): the class-folder layout."""
    return bool(paths) and all(len(PurePosixPath(path).parts) == 2 for path in paths)


def folder_count(paths: list[str]) -> int:
    """How many distinct folders hold the images (the folder itself counting as one)."""
    return len({PurePosixPath(path).parent for path in paths})


def how_read(name: str, layout: ReadAs, paths: list[str], *, classes: int) -> str:
    """One line saying how a folder of images was read and which option reads it the other way."""
    files = f"{len(paths):,} file(s) in {folder_count(paths):,} folder(s)"
    if layout == ReadAs.IMAGES:
        other = "; --layout classes reads top folders as labels" if any("/" in path for path in paths) else ""
        return f"read '{name}' as unlabeled images: {files}{other}"
    return f"read '{name}' as {classes:,} class folder(s): {files}; --layout images reads it without labels"
