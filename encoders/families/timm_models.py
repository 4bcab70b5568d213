"""timm image models (EVA-02): the model's own pooled output through its head.

For a CLIP image tower such as EVA02-CLIP the head is the projection into
the CLIP space, so the output is the CLIP image embedding. The spec's
`architecture` holds `timm.create_model` arguments; the preprocessing in the
spec reproduces the checkpoint's pretrained configuration (tests compare it
with timm's own transform).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder
from encoders.preprocess import ResizeCropNormalize
from encoders.registry import register
from encoders.seeding import seeded
from encoders.spec import CLIP_MEAN, CLIP_STD, EncoderSpec, Preprocess
from encoders.weights import load_timm_pretrained

if TYPE_CHECKING:
    import torch

ORDER = 40
EVA02 = EncoderSpec(
    # The image tower of EVA02-CLIP-B/16 (merged-2B); timm's head is the CLIP projection.
    name="eva02",
    family="timm_models",
    model_id="timm/eva02_base_patch16_clip_224.merged2b",
    dim=512,
    text=False,
    source="huggingface",
    license="MIT",
    preprocess=Preprocess(248, 224, "bicubic", CLIP_MEAN, CLIP_STD, crop_offset="round"),
    architecture={"model_name": "eva02_base_patch16_clip_224.merged2b"},
    tiny_architecture={
        "model_name": "eva02_base_patch16_clip_224.merged2b",
        "embed_dim": 32,
        "depth": 2,
        "num_heads": 2,
        "num_classes": 16,
    },
)


class TimmEncoder(TorchEncoder):
    def __init__(self, spec: EncoderSpec, device: str, model) -> None:
        super().__init__(spec, device, model.num_classes or model.num_features)
        self.model = model.eval().to(device)

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch)


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    import timm

    if settings.init == "pretrained":
        model = load_timm_pretrained(spec, spec.architecture["model_name"], settings.weights)
    else:
        with seeded():
            model = timm.create_model(**(spec.architecture if settings.init == "random" else spec.tiny_architecture))
    return TimmEncoder(spec, settings.device, model)


register(EVA02, build, order=ORDER)
