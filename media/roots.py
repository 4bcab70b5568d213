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


def image_root_candidates(recorded: str | None, data_root: Path | None, dataset: str) -> list[Path]:
    """Where a collection's images may be, in the order looked: the folder it recorded, then the fallback's
    folders (`candidate_roots`)."""
    fallback = _fallback(recorded, data_root)
    return ([Path(recorded)] if recorded else []) + (candidate_roots(fallback, dataset) if fallback else [])


def resolve_image_root(recorded: str | None, data_root: Path | None, dataset: str, *, paths: list[str]) -> Path | None:
    """The image folder of a collection, the one that holds every one of `paths` (a few stored paths
    suffice): the folder it recorded first, then under `data_root`, a fallback for data that moved (under
    ./data for a collection that recorded none). None when the images are not found; `looked_in` says where
    that was."""
    if not paths:
        return None
    if recorded and all((Path(recorded) / path).is_file() for path in paths):
        return Path(recorded)
    fallback = _fallback(recorded, data_root)
    return find_image_root(fallback, dataset, paths) if fallback is not None else None


def looked_in(recorded: str | None, data_root: Path | None) -> str:
    """Every place `resolve_image_root` looks, for a one-line error: 'in /rec (...), nor under /root (...)'."""
    fallback = _fallback(recorded, data_root)
    places = [f"in {recorded} (the folder the collection recorded)"] if recorded else []
    if fallback is not None:
        places.append(f"under {fallback.absolute()} (it, each folder in it, and their images/)")
    return ", nor ".join(places)


def _fallback(recorded: str | None, data_root: Path | None) -> Path | None:
    """The data root, else ./data for a collection that recorded no folder."""
    return data_root if data_root is not None else (LEGACY_DATA_ROOT if not recorded else None)
