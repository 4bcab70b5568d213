"""Thumbnails for galleries, decoded as ingest decodes them.

`media.images.load_rgb` handles EXIF orientation, CMYK, 16-bit, alpha and the
pixel limit, so a gallery shows the picture the encoder saw. A stored path is
data, not trusted: one that leaves its image root (`..`, an absolute path, a
symlink pointing out) is never opened.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from media.containment import containment_problem
from media.images import BadImage, load_rgb


def thumbnail(image_root: Path | None, relative: str, size: int) -> Image.Image | None:
    """image_root/relative shrunk to fit `size` x `size`; None when missing, unreadable or outside the root."""
    file = file_under(image_root, relative)
    return None if file is None else file_thumbnail(file, size)


def file_under(image_root: Path | None, relative: str) -> Path | None:
    """The file image_root/relative, resolved; None when missing or outside the root (`..`, absolute, symlink out)."""
    if image_root is None or not relative:
        return None
    if containment_problem(image_root, relative) is not None:
        return None
    return (image_root / relative).resolve()


def file_thumbnail(path: Path, size: int) -> Image.Image | None:
    """A file the user named (an image query, no root to stay inside) shrunk to fit; None when unreadable."""
    try:
        image = load_rgb(path, min_side=size)
    except (BadImage, OSError):
        return None
    image.thumbnail((size, size))
    return image
