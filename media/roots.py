"""Finding the folder a dataset's stored paths are relative to, under a data root.

Galleries need the images of a collection whose points only store relative
paths. This looks at files alone (no dataset reading, no ingest import), so it
stays cheap, and it checks that sample paths really are there.
"""

from __future__ import annotations

from pathlib import Path


def find_image_root(data_root: Path, dataset: str, paths: list[str]) -> Path | None:
    """The folder holding every one of `paths` (a few stored paths suffice), or None.

    Tried in order: the data root, then each folder under it, those whose name
    starts like `dataset` first; each as `folder/images`, then `folder` itself.
    """
    if not paths:
        return None
    for root in candidate_roots(data_root, dataset):
        if all((root / path).is_file() for path in paths):
            return root
    return None


def candidate_roots(data_root: Path, dataset: str) -> list[Path]:
    """The folders under `data_root` that may hold `dataset`'s images, most likely first (see find_image_root)."""
    if not data_root.is_dir():
        return []
    prefix = dataset.split("_")[0].lower()
    children = sorted(
        (p for p in data_root.iterdir() if p.is_dir()), key=lambda p: (not p.name.lower().startswith(prefix), p.name)
    )
    return [root for folder in (data_root, *children) for root in (folder / "images", folder)]


LEGACY_DATA_ROOT = Path("data")  # where collections that recorded no image root were usually ingested from


def resolve_image_root(recorded: str | None, data_root: Path | None, dataset: str, *, paths: list[str]) -> Path | None:
    """The image folder of a collection: found under `data_root` when one is given (the data moved),
    else the folder the collection recorded, if `paths` are there; a collection that recorded none
    is looked for under ./data. None when the images are not found."""
    if data_root is not None:
        return find_image_root(data_root, dataset, paths)
    if recorded is None:
        return find_image_root(LEGACY_DATA_ROOT, dataset, paths)
    root = Path(recorded)
    return root if paths and all((root / path).is_file() for path in paths) else None
