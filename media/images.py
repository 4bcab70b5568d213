"""Decoding one image file safely into an RGB PIL image (ingest, ad-hoc queries and galleries share it).

Handles EXIF orientation, CMYK, 16-bit, palette and alpha images and animated
files (first frame), rejects decompression bombs, and decodes big JPEGs at a
reduced size when the encoder only needs a small one.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 64_000_000


class BadImage(Exception):
    """A file that cannot be used as an image; the message is the reason."""


def load_rgb(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None) -> Image.Image:
    """Open `path` as RGB; `min_side` lets JPEG decoding shrink while the shorter side stays >= it."""
    if path.stat().st_size == 0:
        raise BadImage("empty file")
    return _decode(path, max_pixels, min_side)


def decode_rgb(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None) -> Image.Image:
    """`load_rgb` for a file already read (ingest reads each file once, to hash and decode it)."""
    if not data:
        raise BadImage("empty file")
    return _decode(io.BytesIO(data), max_pixels, min_side)


def _decode(source: Path | io.BytesIO, max_pixels: int, min_side: int | None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise BadImage(f"{width}x{height} exceeds the limit of {max_pixels} pixels")
                if min_side and image.format == "JPEG":
                    image.draft("RGB", (min_side, min_side))
                image.seek(0)
                image.load()
                return to_rgb(ImageOps.exif_transpose(image))
    except BadImage:
        raise
    except Image.DecompressionBombWarning as error:
        raise BadImage(f"decompression bomb: {error}") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise BadImage(f"cannot decode: {error}") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; transparency is composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        scale = 255.0 / max(pixels.max(), 1.0) if image.mode == "I" else 255.0 / 65535.0
        image = Image.fromarray(np.clip(pixels * scale, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image
