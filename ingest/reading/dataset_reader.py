"""Reading one dataset folder by its layout, and the datasets named under a data root.

A folder's files name its layout (a list file, a Pascal VOC year, a Revisited
set); a folder without one is read as class folders or as images without
labels (`ingest.reading.layouts`).
"""

from __future__ import annotations

from pathlib import Path

from errors import DatasetError
from ingest.reading.dataset_records import Dataset, Item
from ingest.reading.discovery import dataset_name, discover, is_dataset, marked_layout, not_a_dataset
from ingest.reading.image_folders import read_folder
from ingest.reading.layouts import Layout, ReadAs
from ingest.reading.list_file import LIST_FILE, read_list_folder
from ingest.reading.revisited import is_revisited, read_revisited
from ingest.reading.voc import VocOptions, is_voc_year, read_voc


def select_datasets(
    data_root: Path,
    names: tuple[str, ...] | list[str] = (),
    voc: VocOptions | None = None,
    *,
    layout: Layout = Layout.AUTO,
) -> dict[str, Dataset]:
    """The named datasets under `data_root` (all when none are named), read; unknown names are an error.

    `voc` says how Pascal VOC folders are read (split, difficult objects, single-label mode), `layout`
    how a folder of images is (`ingest.reading.layouts`)."""
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
    if marked_layout(folder):
        dataset = _read_marked(folder, name, voc or VocOptions())
    elif is_dataset(folder):
        dataset = read_folder(folder, name, layout)
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
        return read_voc(folder, name, voc)
    if is_revisited(folder):
        return read_revisited(folder, name)
    return read_list_folder(folder, name)
