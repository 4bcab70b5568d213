"""Reading labeled image folders: the study's list layout or class subfolders.

A dataset folder holds either `images/` plus `list_of_images.txt` (lines
`relative/path<TAB>label`, paths relative to `images/`) or one subfolder of
images per class. Every bad line is reported with its line number, and no
path outside the image root is ever opened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from errors import DatasetError
from store import slug

LIST_FILE = "list_of_images.txt"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
ALIASES = {"simple1k": "simple1k", "paris_val": "paris", "voc_val": "voc", "voc_pascal": "voc"}


@dataclass(frozen=True)
class Item:
    path: str
    label: str


@dataclass(frozen=True)
class Problem:
    """Something skipped: `where` is a file path or 'list_of_images.txt:LINE'."""

    where: str
    reason: str


@dataclass
class Dataset:
    name: str
    folder: Path
    image_root: Path
    items: list[Item]
    problems: list[Problem] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return sorted({item.label for item in self.items})

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "folder": str(self.folder),
            "images": len(self.items),
            "classes": self.classes,
            "problems": [asdict(p) for p in self.problems],
        }


def dataset_name(folder_name: str) -> str:
    """The study's folder names map to short names; others are lower-cased."""
    lowered = folder_name.lower()
    return ALIASES.get(lowered, slug(lowered).replace("-", "_"))


def is_dataset(folder: Path) -> bool:
    if (folder / LIST_FILE).is_file():
        return True
    return folder.is_dir() and any(child.is_dir() and any(_image_files(child)) for child in folder.iterdir())


def discover(data_root: Path) -> dict[str, Path]:
    """Dataset name -> folder for every dataset directly under `data_root`."""
    if not data_root.is_dir():
        raise DatasetError(f"data root '{data_root}' is not a folder; pass --data-root")
    found: dict[str, Path] = {}
    for folder in sorted(p for p in data_root.iterdir() if p.is_dir()):
        if not is_dataset(folder):
            continue
        name = dataset_name(folder.name)
        if name in found:
            raise DatasetError(f"'{found[name]}' and '{folder}' both map to dataset '{name}'; rename or move one")
        found[name] = folder
    return found


def select_datasets(data_root: Path, names: tuple[str, ...] | list[str] = ()) -> dict[str, Dataset]:
    """The named datasets under `data_root` (all when none are named), read; unknown names are an error."""
    found = discover(data_root)
    chosen = list(names) or list(found)
    missing = [name for name in chosen if name not in found]
    if missing or not chosen:
        raise DatasetError(f"no dataset {', '.join(missing)} under '{data_root}' (found: {', '.join(found) or 'none'})")
    return {name: read_dataset(found[name], name) for name in chosen}


def read_dataset(folder: Path, name: str | None = None) -> Dataset:
    """Items and problems of one dataset folder, in list (or sorted path) order."""
    name = name or dataset_name(folder.name)
    if (folder / LIST_FILE).is_file():
        return _read_list(folder, name)
    if is_dataset(folder):
        return _read_class_folders(folder, name)
    raise DatasetError(f"'{folder}' is not a dataset: expected images/ with {LIST_FILE}, or class subfolders of images")


def _image_files(folder: Path):
    return (p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _read_class_folders(folder: Path, name: str) -> Dataset:
    items = [
        Item(path.relative_to(folder).as_posix(), path.relative_to(folder).parts[0])
        for path in sorted(_image_files(folder))
        if len(path.relative_to(folder).parts) > 1
    ]
    return Dataset(name, folder, folder, items)


def _read_list(folder: Path, name: str) -> Dataset:
    image_root = folder / "images" if (folder / "images").is_dir() else folder
    raw = (folder / LIST_FILE).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    items: list[Item] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        where = f"{LIST_FILE}:{number}"
        try:
            line = line_bytes.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            problems.append(Problem(where, "line is not valid UTF-8"))
            continue
        if not line.strip():
            continue
        item, reason = _parse_line(line, image_root)
        if reason is None and item.path in seen:
            reason = f"duplicate of line {seen[item.path]}"
        if reason is not None:
            problems.append(Problem(where, reason))
            continue
        seen[item.path] = number
        items.append(item)
    return Dataset(name, folder, image_root, items, problems)


def _parse_line(line: str, image_root: Path) -> tuple[Item | None, str | None]:
    if "\t" not in line:
        return None, "no tab between path and label"
    path, label = (part.strip() for part in line.split("\t", 1))
    if not path:
        return None, "empty path"
    if not label:
        return None, "empty label"
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or Path(path).is_absolute():
        return None, f"path '{path}' leaves the image folder"
    if not (image_root / pure).is_file():
        return None, f"listed file '{pure}' does not exist"
    return Item(pure.as_posix(), label), None
