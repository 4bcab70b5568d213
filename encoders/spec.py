"""What an encoder is, as data: model id, vector size, weights, preprocessing.

Each registered encoder is one `EncoderSpec`, declared in its family's module
(`encoders/families/`); listing, building and the tests all read these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side, centre-crop a square, scale to [0, 1], normalise.

    With `squash` the image is resized to `crop` x `crop` directly, aspect ratio
    ignored and nothing cut off (SigLIP's processor); `resize` equals `crop` then.
    `crop_offset` says how an odd margin is split: "floor" as transformers,
    "round" (half to even) as torchvision and timm.
    """

    resize: int
    crop: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    squash: bool = False
    crop_offset: str = "floor"

    def describe(self) -> str:
        if self.squash:
            return f"squash to {self.crop}x{self.crop} {self.interpolation}"
        return f"short side {self.resize} {self.interpolation}, crop {self.crop}"


@dataclass(frozen=True)
class EncoderSpec:
    """The facts of one encoder; `family` names the module in `encoders/families/` that registers it.

    `architecture` and `tiny_architecture` configure the random-weight variants
    (full size and test size); `dim` is 0 where only the loaded model knows it
    (`hf:<model id>` encoders). `checkpoint` lets `encoders` tell whether
    torchvision weights are cached without importing torch. `test_init` is the
    init the test suite ingests with: full size where that takes a second or two.
    """

    name: str
    family: str
    model_id: str
    dim: int
    text: bool
    source: str
    license: str
    preprocess: Preprocess | None
    architecture: dict = field(default_factory=dict)
    tiny_architecture: dict = field(default_factory=dict)
    checkpoint: str = ""  # torchvision: the weights' file name in torch's hub cache
    test_init: str = "random-tiny"

    @property
    def needs_weights(self) -> bool:
        return self.source != "none"

    @property
    def has_model(self) -> bool:
        """A model runs it (torch, on a device); an encoder without weights (the colour histogram) is numpy only."""
        return self.needs_weights

    def to_json(self) -> dict:
        """The facts `encoders --format json` lists."""
        return {
            "name": self.name,
            "model": self.model_id,
            "dim": self.dim,
            "text": self.text,
            "source": self.source,
            "license": self.license,
            "preprocessing": self.preprocess.describe() if self.preprocess else None,
        }
