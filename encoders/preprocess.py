"""Image preprocessing that reproduces the Hugging Face image processors.

It runs in DataLoader workers, so it is a small picklable callable on a PIL
image. Sizes and crop offsets follow transformers' `get_resize_output_image_size`
(shorter side to `resize`, longer side truncated) and `center_crop` (offsets
rounded down); tests compare it with the reference processors.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from encoders.spec import Preprocess

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) after scaling the shorter side to `short_side`."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(short_side * long / short)
    return (short_side, new_long) if width <= height else (new_long, short_side)


class ResizeCropNormalize:
    """PIL RGB image -> float32 tensor (3, crop, crop), normalised."""

    def __init__(self, preprocess: Preprocess) -> None:
        self.preprocess = preprocess
        self._mean = np.asarray(preprocess.mean, dtype=np.float32)
        self._std = np.asarray(preprocess.std, dtype=np.float32)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        p = self.preprocess
        size = resized_size(*image.size, p.resize)
        if size != image.size:
            image = image.resize(size, resample=_RESAMPLE[p.interpolation])
        left = (size[0] - p.crop) // 2
        top = (size[1] - p.crop) // 2
        image = image.crop((left, top, left + p.crop, top + p.crop))
        pixels = np.asarray(image, dtype=np.float32) * np.float32(1 / 255)
        pixels = (pixels - self._mean) / self._std
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
