"""Revisited Oxford 5k and Paris 6k read from their published layout: the database images.

`<root>/roxford5k/jpg/*.jpg` with `gnd_roxford5k.pkl` (`rparis6k` likewise,
see `media.groundtruth`). The database (`imlist`, in its order) is ingested as
an ordinary collection, each image whole, labelled with its landmark (the
name without its trailing number: `all_souls_000013` -> `all_souls`). The 70
queries are not ingested: `eval` crops them to their boxes and embeds them
with the collection's encoder.
"""

from __future__ import annotations

import re
from pathlib import Path

from errors import DatasetError
from media.containment import containment_problem
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
