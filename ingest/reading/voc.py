"""Pascal VOC read from its own layout: `VOCdevkit/VOC2007` or `VOC2012`.

A year folder holds `JPEGImages/`, `Annotations/<id>.xml` and
`ImageSets/Main/<split>.txt` (one image id a line). The labels of an image are
the classes of the objects in its annotation, difficult objects left out
unless asked for. Two modes:

- multi-label (the default): every class of the image, largest total box area
  first; two images are relevant to each other when they share a class;
- single-label: only the class with the largest total box area (ties by class
  name), the study's one-label-per-image setting.

Box area is (xmax - xmin + 1) * (ymax - ymin + 1), VOC's inclusive pixel
coordinates. Options other than the defaults are part of the dataset's name
(`voc2007_train_single`), so each variant is its own collection.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from errors import DatasetError
from ingest.reading.dataset_records import Dataset, Item, Problem
from ingest.reading.layouts import ReadAs
from media.containment import containment_problem

IMAGES, ANNOTATIONS, SPLITS = "JPEGImages", "Annotations", Path("ImageSets") / "Main"
YEAR = re.compile(r"voc\d{4}", re.IGNORECASE)


@dataclass(frozen=True)
class VocOptions:
    split: str = "val"
    difficult: bool = False  # count objects marked difficult
    single_label: bool = False  # only the class with the largest total box area

    def suffix(self) -> str:
        """What the dataset's name gains for options other than the defaults."""
        parts = [self.split] if self.split != "val" else []
        parts += ["single"] if self.single_label else []
        parts += ["difficult"] if self.difficult else []
        return "".join(f"_{part}" for part in parts)

    def describe(self, year_folder: str) -> str:
        objects = "difficult objects included" if self.difficult else "difficult objects excluded"
        if self.single_label:
            labels = "single-label: each image's object class with the largest total box area"
        else:
            labels = "multi-label: every object class of an image; relevant = sharing a class"
        return f"Pascal {year_folder} {self.split}, {labels} ({objects})"


def is_voc_year(folder: Path) -> bool:
    return bool(YEAR.fullmatch(folder.name)) and all((folder / part).is_dir() for part in (IMAGES, ANNOTATIONS))


def voc_years(folder: Path) -> list[Path]:
    """The VOC year folders `folder` is or holds (a VOCdevkit), in name order."""
    if is_voc_year(folder):
        return [folder]
    if not folder.is_dir():
        return []
    return [child for child in sorted(folder.iterdir()) if child.is_dir() and is_voc_year(child)]


def object_areas(xml_file: Path, difficult: bool) -> dict[str, int]:
    """Total box area per object class of one annotation file (difficult objects only when `difficult`)."""
    try:
        root = ElementTree.parse(xml_file).getroot()
    except (ElementTree.ParseError, OSError) as error:
        raise ValueError(f"annotation does not parse ({error})") from None
    areas: dict[str, int] = defaultdict(int)
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise ValueError("an object without a <name>")
        if not difficult and (obj.findtext("difficult") or "0").strip() == "1":
            continue
        box = obj.find("bndbox")
        try:
            x0, y0, x1, y1 = (float(box.findtext(tag)) for tag in ("xmin", "ymin", "xmax", "ymax"))
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"object '{name}' has no complete <bndbox>") from None
        areas[name] += int(max(0.0, x1 - x0 + 1) * max(0.0, y1 - y0 + 1))
    return dict(areas)


def image_labels(areas: dict[str, int], single_label: bool) -> tuple[str, ...]:
    """The classes by total box area, largest first (ties by name); only the first in single-label mode."""
    ranked = tuple(sorted(areas, key=lambda name: (-areas[name], name)))
    return ranked[:1] if single_label else ranked


def split_ids(year: Path, split: str) -> list[str]:
    """The image ids of `split`; a missing split file is one line naming it."""
    file = year / SPLITS / f"{split}.txt"
    if not file.is_file():
        found = sorted(p.stem for p in (year / SPLITS).glob("*.txt") if "_" not in p.stem)
        raise DatasetError(f"no split '{split}' in {year}: '{file}' is missing (found: {', '.join(found) or 'none'})")
    problem = containment_problem(year, f"{SPLITS.as_posix()}/{split}.txt")
    if problem is not None:
        raise DatasetError(f"'{file}': {problem}; the split list must be a file inside {year}")
    return [line.split()[0] for line in file.read_text().splitlines() if line.strip()]


def read_voc(year: Path, name: str, options: VocOptions) -> Dataset:
    """The images of a VOC split with the classes of their annotated objects."""
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
