"""timm image models (EVA-02): the model's own pooled output through its head.

For a CLIP image tower such as EVA02-CLIP the head is the projection into
the CLIP space, so the output is the CLIP image embedding. The spec's
`architecture` holds `timm.create_model` arguments; the preprocessing in the
spec reproduces the checkpoint's pretrained configuration (tests compare it
with timm's own transform).
"""

from __future__ import annotations

import torch

from encoders.base import Encoder
from encoders.preprocess import ResizeCropNormalize
from encoders.spec import EncoderSpec
from encoders.weights import load_timm_pretrained


class TimmEncoder(Encoder):
    def __init__(self, spec: EncoderSpec, device: str, model) -> None:
        super().__init__(spec, device, model.num_classes or model.num_features)
        self.model = model.eval().to(device)

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch)


def build(spec: EncoderSpec, device: str, weights: str | None, init: str) -> Encoder:
    import timm

    if init == "pretrained":
        model = load_timm_pretrained(spec, spec.architecture["model_name"], weights)
    else:
        torch.manual_seed(0)
        model = timm.create_model(**(spec.architecture if init == "random" else spec.tiny_architecture))
    return TimmEncoder(spec, device, model)
