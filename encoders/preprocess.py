"""Image preprocessing that reproduces the Hugging Face image processors.

It runs in DataLoader workers, so it is a small picklable callable on a PIL
image. Sizes and crop offsets follow transformers' `get_resize_output_image_size`
(shorter side to `resize`, longer side truncated) and `center_crop` (offsets
rounded down; torchvision's rounding where the spec says so), or a plain
resize to a square where the processor does that (`squash`); tests compare it
with the reference (PIL) processors, torchvision and timm.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from encoders.spec import Preprocess

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
# Offset of a centre crop from the margin: transformers rounds down, torchvision rounds half to even.
_OFFSET = {"floor": lambda margin: margin // 2, "round": lambda margin: int(round(margin / 2))}


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) after scaling the shorter side to `short_side`."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(short_side * long / short)
    return (short_side, new_long) if width <= height else (new_long, short_side)


class ResizeCropNormalize:
    """PIL RGB image -> float32 array (3, crop, crop), normalised."""

    def __init__(self, preprocess: Preprocess) -> None:
        self.preprocess = preprocess
        mean = np.asarray(preprocess.mean, dtype=np.float64)[:, None, None]
        std = np.asarray(preprocess.std, dtype=np.float64)[:, None, None]
        # (pixel / 255 - mean) / std as one multiply-add per value
        self._scale = (1 / (255 * std)).astype(np.float32)
        self._shift = (-mean / std).astype(np.float32)

    def __call__(self, image: Image.Image) -> np.ndarray:
        p = self.preprocess
        size = (p.crop, p.crop) if p.squash else resized_size(*image.size, p.resize)
        if size != image.size:
            image = image.resize(size, resample=_RESAMPLE[p.interpolation])
        if not p.squash:
            left, top = (_OFFSET[p.crop_offset](side - p.crop) for side in size)
            image = image.crop((left, top, left + p.crop, top + p.crop))
        pixels = np.asarray(image).transpose(2, 0, 1).astype(np.float32)
        pixels *= self._scale
        pixels += self._shift
        return pixels
