"""Thumbnails of stored points, cached by content and served with a validator.

A thumbnail is keyed by the image's content: the sha256 its point's payload
records (schema 2), else the file's size and modification time as they are now
(payloads of older releases). A replaced image that is ingested again gets a
new payload hash, so a new thumbnail; the key is also the response's ETag, so a
browser asks again (`Cache-Control: no-cache`) and gets 304 while the picture is
the same. The file comes from the point's stored path under the collection's
image root, through `media.thumbnails.thumbnail`, which refuses a path that
leaves the root (`..`, an absolute path, a symlink pointing out). A thumbnail that
cannot be cached (a full disk) is served all the same, uncached.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from errors import MediaError
from media.files import write_bytes_atomic
from media.thumbnails import thumbnail
from store import ImagePayload

SIZES = {"grid": 160, "large": 360}
QUALITY = 85


def content_key(payload: ImagePayload, root: Path | None) -> str | None:
    """The image's content key: its recorded sha256, else a hash of its file's size and mtime now (None: no file)."""
    if payload.sha256:
        return payload.sha256
    if root is None or not payload.path:
        return None
    try:
        facts = (root / payload.path).stat()
    except OSError:
        return None
    return hashlib.sha256(f"{payload.path}\0{facts.st_size}\0{facts.st_mtime_ns}".encode()).hexdigest()


class ThumbnailCache:
    """JPEG thumbnails under `folder`/<size>/<key[:2]>/<key>.jpg, one per image content and size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str, size: int) -> Path:
        """Where the thumbnail of content `key` (hex digits) is cached."""
        return self.folder / str(size) / key[:2] / f"{key}.jpg"

    def get(self, key: str, size: int, *, root: Path | None, relative: str) -> Path | bytes | None:
        """The cached file, made first if needed; the JPEG bytes themselves when the cache cannot be written
        (a full disk, a read-only folder); None when the image is missing, unreadable or outside `root`."""
        cached = self.path(key, size)
        if cached.is_file():
            return cached
        image = thumbnail(root, relative, size)
        if image is None:
            return None
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=QUALITY)
        try:
            write_bytes_atomic(cached, buffer.getvalue())  # a concurrent request sees the whole file or none
        except MediaError:
            return buffer.getvalue()
        return cached


def etag(key: str, size: int) -> str:
    """The validator of the thumbnail of content `key` at `size`."""
    return f'"{key[:32]}-{size}"'
