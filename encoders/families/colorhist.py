"""A weights-free baseline: HSV colour histogram, 8x4x4 bins, square-rooted.

The L1-normalised histogram's square root has unit L2 norm, so cosine on these
vectors is the Bhattacharyya coefficient between colour distributions. No torch.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, l2_normalize
from encoders.registry import register
from encoders.spec import EncoderSpec

ORDER = 60
BINS = (8, 4, 4)
SPEC = EncoderSpec(
    name="colorhist",
    family="colorhist",
    model_id="HSV histogram 8x4x4",
    dim=BINS[0] * BINS[1] * BINS[2],
    text=False,
    source="none",
    license="-",
    preprocess=None,
    test_init="pretrained",
)


def hsv_histogram(image: Image.Image) -> np.ndarray:
    """RGB image -> sqrt of the L1-normalised 8x4x4 HSV histogram (128 float32)."""
    hsv = np.asarray(image.convert("HSV"), dtype=np.uint16).reshape(-1, 3)
    h = hsv[:, 0] * BINS[0] // 256
    s = hsv[:, 1] * BINS[1] // 256
    v = hsv[:, 2] * BINS[2] // 256
    cells = (h * BINS[1] + s) * BINS[2] + v
    counts = np.bincount(cells, minlength=BINS[0] * BINS[1] * BINS[2]).astype(np.float32)
    return np.sqrt(counts / max(counts.sum(), 1.0))


class ColorHistogram(Encoder):
    def transform(self):
        return hsv_histogram

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        return l2_normalize(batch)


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    return ColorHistogram(spec, "cpu", spec.dim)


register(SPEC, build, order=ORDER)
