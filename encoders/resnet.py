"""torchvision ResNet18: the 512-d global average pool, classifier removed."""

from __future__ import annotations

import torch

from encoders.base import Encoder
from encoders.spec import EncoderSpec
from encoders.weights import load_torchvision_state


class ResnetEncoder(Encoder):
    def __init__(self, spec: EncoderSpec, device: str, model, transform) -> None:
        model.fc = torch.nn.Identity()
        super().__init__(spec, device, spec.dim)
        self.model = model.eval().to(device, memory_format=torch.channels_last)
        self._transform = transform

    def transform(self):
        return self._transform

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch.contiguous(memory_format=torch.channels_last))


def build(spec: EncoderSpec, device: str, weights: str | None, init: str) -> Encoder:
    from torchvision.models import get_weight, resnet18

    weights_enum = get_weight(spec.model_id)
    torch.manual_seed(0)
    model = resnet18(weights=None)
    if init == "pretrained":
        model.load_state_dict(load_torchvision_state(spec, weights_enum, weights))
    return ResnetEncoder(spec, device, model, weights_enum.transforms())
