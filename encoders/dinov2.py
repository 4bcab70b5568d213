"""DINOv2 through transformers: the CLS token after the final layer norm.

One module for every size, plain and with register tokens: AutoModel picks
Dinov2Model or Dinov2WithRegistersModel from the configuration, and both pool
the same way.
"""

from __future__ import annotations

import torch

from encoders.base import Encoder
from encoders.preprocess import ResizeCropNormalize
from encoders.spec import EncoderSpec
from encoders.weights import load_hf_pretrained


class Dinov2Encoder(Encoder):
    def __init__(self, spec: EncoderSpec, device: str, model) -> None:
        super().__init__(spec, device, model.config.hidden_size)
        self.model = model.eval().to(device)

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        # pooler_output is layernorm(last hidden state)[:, 0], the CLS token.
        return self.model(pixel_values=batch).pooler_output


def build(spec: EncoderSpec, device: str, weights: str | None, init: str) -> Encoder:
    from transformers import AutoConfig, AutoModel

    if init == "pretrained":
        model = load_hf_pretrained(spec, AutoModel, weights)
    else:
        arch = dict(spec.architecture if init == "random" else spec.tiny_architecture)
        torch.manual_seed(0)
        model = AutoModel.from_config(AutoConfig.for_model(**arch))
    return Dinov2Encoder(spec, device, model)
