"""torchvision ResNet18: the 512-d global average pool, classifier removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder
from encoders.preprocess import ResizeCropNormalize
from encoders.registry import register
from encoders.seeding import seeded
from encoders.spec import IMAGENET_MEAN, IMAGENET_STD, EncoderSpec, Preprocess
from encoders.weights import load_torchvision_pretrained

if TYPE_CHECKING:
    import torch

ORDER = 50
RESNET18 = EncoderSpec(
    name="resnet18",
    family="resnet",
    model_id="ResNet18_Weights.IMAGENET1K_V1",
    dim=512,
    text=False,
    source="torchvision",
    license="BSD-3-Clause",
    # torchvision's weights transform, which tests compare it with
    preprocess=Preprocess(256, 224, "bilinear", IMAGENET_MEAN, IMAGENET_STD, crop_offset="round"),
    checkpoint="resnet18-f37072fd.pth",
    test_init="random",
)


class ResnetEncoder(TorchEncoder):
    def __init__(self, spec: EncoderSpec, device: str, model) -> None:
        import torch

        model.fc = torch.nn.Identity()
        super().__init__(spec, device, spec.dim)
        self.model = model.eval().to(device, memory_format=torch.channels_last)

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        import torch

        return self.model(batch.contiguous(memory_format=torch.channels_last))


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    """Pretrained weights go into a model made without values (meta device), so nothing random is drawn."""
    import torch
    from torchvision.models import get_weight, resnet18

    if settings.init == "pretrained":
        with torch.device("meta"):
            model = resnet18()
        model = load_torchvision_pretrained(spec, model, get_weight(spec.model_id), weights=settings.weights)
    else:
        with seeded():
            model = resnet18()
    return ResnetEncoder(spec, settings.device, model)


register(RESNET18, build, order=ORDER)
