"""Finding the datasets under a data root and naming them.

A dataset folder is a labeled layout (a list file, a Pascal VOC year, a
Revisited set, class subfolders) or a folder holding images at any depth.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from errors import DatasetError
from ingest.reading.image_folders import IMAGE_SUFFIXES, image_files
from ingest.reading.list_file import LIST_FILE
from ingest.reading.revisited import is_revisited
from ingest.reading.voc import is_voc_year, voc_years
from store import slug

ALIASES = {"simple1k": "simple1k", "paris_val": "paris", "voc_val": "voc", "voc_pascal": "voc"}


def dataset_name(folder_name: str) -> str:
    """The study's folder names map to short names; others are lower-cased, with each run of
    characters outside [a-z0-9.] turned into '_'. A name left without an ASCII letter or digit
    ('日本', '...') becomes 'dataset_' and a short hash of the folder's name (in NFC): never
    empty, always the same for the same folder."""
    lowered = folder_name.lower()
    name = ALIASES.get(lowered, slug(lowered).replace("-", "_"))
    if re.search("[a-z0-9]", name):
        return name
    digest = hashlib.sha256(unicodedata.normalize("NFC", folder_name).encode()).hexdigest()
    return f"dataset_{digest[:8]}"


def marked_layout(folder: Path) -> bool:
    """A layout named by its files: a list file, a VOC year, a Revisited set."""
    return (folder / LIST_FILE).is_file() or is_voc_year(folder) or is_revisited(folder)


def _labeled(folder: Path) -> bool:
    """A layout that carries labels: marked by its files, or subfolders holding images (class folders)."""
    return marked_layout(folder) or (
        folder.is_dir() and any(child.is_dir() and any(image_files(child)) for child in folder.iterdir())
    )


def is_dataset(folder: Path) -> bool:
    """A labeled layout, or a folder holding images at any depth (read without labels)."""
    return marked_layout(folder) or (folder.is_dir() and any(image_files(folder)))


LAYOUTS = (
    "a dataset is a folder holding images/ and list_of_images.txt (lines path<TAB>label), one subfolder of "
    "images per class, or images without labels (flat or nested); Pascal VOC (VOCdevkit/VOC2007) and Revisited "
    "Oxford/Paris (roxford5k/, rparis6k/) are read from their own layouts"
)
SHOWN_FOLDERS = 6  # the subfolders an error describes, at most


def discover(data_root: Path) -> dict[str, Path]:
    """Dataset name -> folder for every dataset directly under `data_root` (a labeled layout or a folder of
    images); `data_root` pointed at a dataset folder itself (a list file, a VOC year, a Revisited set, class
    subfolders with nothing under them that is a dataset, or images directly in it with no labeled dataset
    beside them) is that one dataset, named after its folder."""
    if not data_root.is_dir():
        raise DatasetError(f"data root '{data_root}' is not a folder; pass --data-root")
    itself = {dataset_name(data_root.resolve().name): data_root}
    if marked_layout(data_root):
        return itself
    children = sorted(p for p in data_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not any(_labeled(child) for child in children):
        loose = any(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in data_root.iterdir())
        classes = [child for child in children if any(image_files(child))]
        if loose or len(classes) > 1:
            return itself
    found: dict[str, Path] = {}
    for child in children:
        for folder in voc_years(child) or ([child] if is_dataset(child) else []):  # a VOCdevkit holds years
            name = dataset_name(folder.name)
            if name in found:
                raise DatasetError(f"'{found[name]}' and '{folder}' both map to dataset '{name}'; rename or move one")
            found[name] = folder
    return found


def not_a_dataset(data_root: Path) -> str:
    """Which layouts are read and what `data_root` holds, for the line saying no dataset was found there (a
    folder holding any image is a dataset, so what is left holds none)."""
    folders = sorted(path.name for path in data_root.iterdir() if path.is_dir())
    shown = [f"{name}/" for name in folders[:SHOWN_FOLDERS]]
    if len(folders) > SHOWN_FOLDERS:
        shown.append(f"{len(folders) - SHOWN_FOLDERS} more folder(s)")
    suffixes = " ".join(sorted(IMAGE_SUFFIXES))
    inside = f" ({', '.join(shown)})" if shown else ""
    return f"{LAYOUTS}; '{data_root}' holds no image file ({suffixes}) at any depth{inside}"
