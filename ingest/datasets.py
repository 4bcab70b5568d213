"""Reading image folders: the study's list layout, class subfolders, or images without labels.

A dataset folder holds either `images/` plus `list_of_images.txt` (lines
`relative/path<TAB>label`, paths relative to `images/`), one subfolder of
images per class, or images without labels, flat or nested at any depth
(`ingest.layouts` says which folder reads as which, and `--layout` names it).
A list with no tab on any line lists images without labels, one path a line.
A list line may name several labels separated by commas
(`path<TAB>car,person`): the image is then relevant to every image sharing at
least one of them; its first label is its primary one. Every bad line is reported with its line number, and no
path outside the image root is ever opened.

Two public benchmarks are read from their own layouts instead: Pascal VOC
(`VOCdevkit/VOC2007`, `ingest.voc`) and Revisited Oxford/Paris (`roxford5k/`,
`rparis6k/`, `ingest.revisited`).

Symlinks, files and folders alike, are followed only when they resolve inside
the dataset's image root (the folder the stored paths are relative to, where
galleries look too); every other one is skipped and reported with its reason.
A list line matches its file whatever the Unicode normalisation (NFC or NFD)
of either, and the stored path is the file's name on disk; spaces at either
end of a path are part of the name.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from errors import DatasetError
from ingest.layouts import Layout, ReadAs, class_folders, how_read
from ingest.revisited import database_items, is_revisited
from ingest.voc import ANNOTATIONS, IMAGES, VocOptions, image_labels, is_voc_year, object_areas, split_ids, voc_years
from media.containment import containment_problem, leaves_folder, resolved_problem
from store import slug

LIST_FILE = "list_of_images.txt"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
ALIASES = {"simple1k": "simple1k", "paris_val": "paris", "voc_val": "voc", "voc_pascal": "voc"}


@dataclass(frozen=True)
class Item:
    path: str
    label: str | None  # the first (primary) label; None for an image read without labels
    labels: tuple[str, ...] | None = None  # every label, when there are several

    @property
    def label_set(self) -> tuple[str, ...]:
        return self.labels or (() if self.label is None else (self.label,))


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
    description: str = ""  # how the labels were made, where a reader made them (Pascal VOC's modes)
    layout: ReadAs = ReadAs.LIST

    @property
    def classes(self) -> list[str]:
        return sorted({label for item in self.items for label in item.label_set})

    @property
    def multi_label(self) -> bool:
        return any(item.labels for item in self.items)

    @property
    def labeled(self) -> bool:
        """Whether its images carry labels (an unlabeled dataset can be searched, not evaluated)."""
        return self.layout != ReadAs.IMAGES

    @property
    def how_read(self) -> str | None:
        """One line saying how a folder without a layout of its own (class folders, images) was read."""
        if self.layout not in (ReadAs.CLASSES, ReadAs.IMAGES):
            return None
        return how_read(self.name, self.layout, [item.path for item in self.items], classes=len(self.classes))

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "folder": str(self.folder),
            "images": len(self.items),
            "classes": self.classes,
            "multi_label": self.multi_label,
            "layout": self.layout,
            "description": self.description,
            "problems": [asdict(p) for p in self.problems],
        }


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


def _marked(folder: Path) -> bool:
    """A layout named by its files: a list file, a VOC year, a Revisited set."""
    return (folder / LIST_FILE).is_file() or is_voc_year(folder) or is_revisited(folder)


def _labeled(folder: Path) -> bool:
    """A layout that carries labels: marked by its files, or subfolders holding images (class folders)."""
    return _marked(folder) or (
        folder.is_dir() and any(child.is_dir() and any(_image_files(child)) for child in folder.iterdir())
    )


def is_dataset(folder: Path) -> bool:
    """A labeled layout, or a folder holding images at any depth (read without labels)."""
    return _marked(folder) or (folder.is_dir() and any(_image_files(folder)))


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
    if _marked(data_root):
        return itself
    children = sorted(p for p in data_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not any(_labeled(child) for child in children):
        loose = any(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in data_root.iterdir())
        classes = [child for child in children if any(_image_files(child))]
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


def select_datasets(
    data_root: Path,
    names: tuple[str, ...] | list[str] = (),
    voc: VocOptions | None = None,
    *,
    layout: Layout = Layout.AUTO,
) -> dict[str, Dataset]:
    """The named datasets under `data_root` (all when none are named), read; unknown names are an error.

    `voc` says how Pascal VOC folders are read (split, difficult objects, single-label mode), `layout`
    how a folder of images is (`ingest.layouts`)."""
    found = discover(data_root)
    chosen = list(names) or list(found)
    missing = [name for name in chosen if name not in found]
    if missing or not chosen:
        what = f"no dataset {', '.join(repr(name) for name in missing)}" if missing else "no dataset"
        hint = f"; {not_a_dataset(data_root)}" if not found else " (--data-root names the folder that holds them)"
        raise DatasetError(f"{what} under '{data_root}' (found: {', '.join(found) or 'none'}){hint}")
    return {name: read_dataset(found[name], name, voc, layout=layout) for name in chosen}


def read_dataset(
    folder: Path, name: str | None = None, voc: VocOptions | None = None, *, layout: Layout = Layout.AUTO
) -> Dataset:
    """Items and problems of one dataset folder, in list (or sorted path) order; `layout` images drops
    every label (a labeled dataset searched as if unlabeled)."""
    name = name or dataset_name(folder.name)
    if _marked(folder):
        dataset = _read_marked(folder, name, voc or VocOptions())
    elif is_dataset(folder):
        dataset = _read_folder(folder, name, layout)
    else:
        raise DatasetError(
            f"'{folder}' is not a dataset: expected images/ with {LIST_FILE}, class subfolders of images, or images"
        )
    if layout != Layout.IMAGES or not dataset.labeled:
        return dataset
    items = [Item(item.path, None) for item in dataset.items]
    return Dataset(dataset.name, dataset.folder, dataset.image_root, items, dataset.problems, layout=ReadAs.IMAGES)


def _read_marked(folder: Path, name: str, voc: VocOptions) -> Dataset:
    """A dataset whose files name its layout: a VOC year, a Revisited set or a list file."""
    if is_voc_year(folder):
        return _read_voc(folder, name, voc)
    if is_revisited(folder):
        return _read_revisited(folder, name)
    return _read_list(folder, name)


def _image_files(folder: Path):
    return (p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _read_folder(folder: Path, name: str, layout: Layout) -> Dataset:
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


def _read_voc(year: Path, name: str, options: VocOptions) -> Dataset:
    """The images of a VOC split with the classes of their annotated objects (`ingest.voc`)."""
    image_root = year / IMAGES
    items: list[Item] = []
    problems: list[Problem] = []
    for image_id in split_ids(year, options.split):
        path = f"{image_id}.jpg"
        reason = None
        if not re.fullmatch(r"[\w-][\w.-]*", image_id):
            reason = f"image id '{image_id}' is not a file name"
        elif not os.path.lexists(image_root / path):
            reason = f"listed image '{IMAGES}/{path}' does not exist"
        else:
            reason = containment_problem(image_root, path)
        if reason is None and (problem := containment_problem(year / ANNOTATIONS, f"{image_id}.xml")) is not None:
            reason = f"{ANNOTATIONS}/{image_id}.xml: {problem}"
        if reason is None:
            try:
                labels = image_labels(
                    object_areas(year / ANNOTATIONS / f"{image_id}.xml", options.difficult), options.single_label
                )
            except ValueError as error:
                reason = f"{ANNOTATIONS}/{image_id}.xml: {error}"
            else:
                reason = (
                    None
                    if labels
                    else "no object to label it by" + ("" if options.difficult else " (difficult objects excluded)")
                )
        if reason is not None:
            problems.append(Problem(path, reason))
            continue
        items.append(Item(path, labels[0], labels if len(labels) > 1 else None))
    return Dataset(name + options.suffix(), year, image_root, items, problems, options.describe(year.name), ReadAs.VOC)


def _read_revisited(folder: Path, name: str) -> Dataset:
    """The database images of Revisited Oxford or Paris, labelled by landmark (`ingest.revisited`)."""
    image_root = folder / "jpg"
    items: list[Item] = []
    problems: list[Problem] = []
    for path, label in database_items(folder):
        if not leaves_folder(path) and not os.path.lexists(image_root / path):
            problems.append(Problem(path, f"database image 'jpg/{path}' does not exist"))
        elif (reason := containment_problem(image_root, path)) is not None:
            problems.append(Problem(path, reason))
        else:
            items.append(Item(path, label))
    description = f"Revisited {folder.name} database (whole images, labelled by landmark); queries at eval time"
    return Dataset(name, folder, image_root, items, problems, description, ReadAs.REVISITED)


def _read_list(folder: Path, name: str) -> Dataset:
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
