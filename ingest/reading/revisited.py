"""Revisited Oxford 5k and Paris 6k read from their published layout: the database images.

`<root>/roxford5k/jpg/*.jpg` with `gnd_roxford5k.pkl` (`rparis6k` likewise,
see `media.groundtruth`). The database (`imlist`, in its order) is ingested as
an ordinary collection, each image whole, labelled with its landmark (the
name without its trailing number: `all_souls_000013` -> `all_souls`). The 70
queries are not ingested: `eval` crops them to their boxes and embeds them
with the collection's encoder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from errors import DatasetError
from ingest.reading.dataset_records import Dataset, Item, Problem
from ingest.reading.layouts import ReadAs
from media.containment import containment_problem, leaves_folder
from media.groundtruth import IMAGE_FOLDER, read_ground_truth, truth_file

NUMBER = re.compile(r"_\d+$")


def is_revisited(folder: Path) -> bool:
    return truth_file(folder) is not None and (folder / IMAGE_FOLDER).is_dir()


def landmark(name: str) -> str:
    return NUMBER.sub("", name) or name


def database_items(folder: Path) -> list[tuple[str, str]]:
    """(path relative to jpg/, landmark) of every database image, in the ground truth's order."""
    name = folder.name.lower()
    file = truth_file(folder)
    problem = containment_problem(folder, file.name)
    if problem is not None:
        raise DatasetError(f"'{file}': {problem}; the ground truth must be a file inside {folder}")
    truth = read_ground_truth(file, name)
    return [(f"{image}.jpg", landmark(image)) for image in truth.database]


def read_revisited(folder: Path, name: str) -> Dataset:
    """The database images of Revisited Oxford or Paris, labelled by landmark."""
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
