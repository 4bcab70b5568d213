"""Thumbnails of stored points, written once to a cache folder and served from there.

A thumbnail is found by collection and point id only; the file comes from the
point's stored path under the collection's image root, through
`media.thumbnails.thumbnail`, which refuses a path that leaves the root (`..`,
an absolute path, a symlink pointing out). A thumbnail that cannot be cached
(a full disk) is served all the same, uncached.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from evaluation.report import report_folder
from media.thumbnails import thumbnail

SIZES = {"grid": 160, "large": 360}
QUALITY = 85


class ThumbnailCache:
    """JPEG thumbnails under `folder`/<collection>/<size>/<point id>.jpg."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, collection: str, point_id: str, size: int) -> Path:
        """Where the thumbnail is cached; `point_id` must already be a checked UUID."""
        return report_folder(self.folder, collection) / str(size) / f"{point_id}.jpg"

    def get(self, collection: str, point_id: str, size: int, root: Path | None, relative: str) -> Path | bytes | None:
        """The cached file, made first if needed; the JPEG bytes themselves when the cache cannot be written
        (a full disk, a read-only folder); None when the image is missing, unreadable or outside `root`."""
        cached = self.path(collection, point_id, size)
        if cached.is_file():
            return cached
        image = thumbnail(root, relative, size)
        if image is None:
            return None
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=cached.parent, suffix=".part")
        except OSError:
            return _jpeg(image)
        try:
            with os.fdopen(handle, "wb") as out:
                image.save(out, "JPEG", quality=QUALITY)
            os.replace(temporary, cached)  # atomic: a concurrent request sees the whole file or none
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            return _jpeg(image)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return cached


def _jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY)
    return buffer.getvalue()
