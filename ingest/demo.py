"""A small demo dataset built from data that ships with scikit-learn.

scikit-learn's handwritten digits (8x8 grey levels) are upscaled to 64x64 and
written as class subfolders: data/digits/<digit>/<n>.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PER_CLASS = 50
SIZE = 64


def build_digits(folder: Path, per_class: int = PER_CLASS) -> int:
    """Write the demo images (once); returns how many the folder holds."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts: dict[int, int] = {}
    for pixels, label in zip(digits.images, digits.target, strict=True):
        if counts.get(label, 0) >= per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        path = folder / str(label) / f"{counts[label]:03d}.png"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        grey = (pixels / 16.0 * 255).astype(np.uint8)
        image = Image.fromarray(grey, "L").resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        image.convert("RGB").save(path)
    return sum(counts.values())
