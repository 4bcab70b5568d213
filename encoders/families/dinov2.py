"""DINOv2 through transformers: the CLS token after the final layer norm.

One module for every size, plain and with register tokens: AutoModel picks
Dinov2Model or Dinov2WithRegistersModel from the configuration, and both pool
the same way (and share one processor, BitImageProcessor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder
from encoders.preprocess import ResizeCropNormalize
from encoders.registry import register
from encoders.seeding import seeded
from encoders.spec import IMAGENET_MEAN, IMAGENET_STD, EncoderSpec, Preprocess
from encoders.weights import load_hf_model

if TYPE_CHECKING:
    import torch

ORDER = 10


@dataclass(frozen=True)
class Checkpoint:
    """One published ViT/14 checkpoint: its encoder name, model id, width, depth, heads and register tokens."""

    name: str
    model_id: str
    width: int
    depth: int
    heads: int
    registers: int


# ViT/14 checkpoints, plain and with 4 register tokens.
CHECKPOINTS = (
    Checkpoint("dinov2", "facebook/dinov2-small", 384, 12, 6, 0),
    Checkpoint("dinov2-base", "facebook/dinov2-base", 768, 12, 12, 0),
    Checkpoint("dinov2-large", "facebook/dinov2-large", 1024, 24, 16, 0),
    Checkpoint("dinov2-reg", "facebook/dinov2-with-registers-small", 384, 12, 6, 4),
    Checkpoint("dinov2-reg-base", "facebook/dinov2-with-registers-base", 768, 12, 12, 4),
    Checkpoint("dinov2-reg-large", "facebook/dinov2-with-registers-large", 1024, 24, 16, 4),
)


def checkpoint_spec(checkpoint: Checkpoint) -> EncoderSpec:
    """One of `CHECKPOINTS` as an encoder record; the tiny variant keeps the register tokens.

    The small plain model is tested at full size (it runs in about a second).
    """
    kind: dict = {"model_type": "dinov2"}
    if checkpoint.registers:
        kind = {"model_type": "dinov2_with_registers", "num_register_tokens": checkpoint.registers}
    return EncoderSpec(
        name=checkpoint.name,
        family="dinov2",
        model_id=checkpoint.model_id,
        dim=checkpoint.width,
        text=False,
        source="huggingface",
        license="Apache-2.0",
        preprocess=Preprocess(256, 224, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
        architecture={
            **kind,
            "hidden_size": checkpoint.width,
            "num_hidden_layers": checkpoint.depth,
            "num_attention_heads": checkpoint.heads,
            "mlp_ratio": 4,
            "patch_size": 14,
            "image_size": 518,
        },
        tiny_architecture={
            **kind,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "image_size": 224,
        },
        test_init="random" if checkpoint.name == "dinov2" else "random-tiny",
    )


class Dinov2Encoder(TorchEncoder):
    def __init__(self, spec: EncoderSpec, device: str, model) -> None:
        super().__init__(spec, device, model.config.hidden_size)
        self.model = model.eval().to(device)

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        # pooler_output is layernorm(last hidden state)[:, 0], the CLS token.
        return self.model(pixel_values=batch).pooler_output


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    from transformers import AutoConfig, AutoModel

    if settings.init == "pretrained":
        model = load_hf_model(spec, AutoModel, settings.weights)
    else:
        arch = dict(spec.architecture if settings.init == "random" else spec.tiny_architecture)
        with seeded():
            model = AutoModel.from_config(AutoConfig.for_model(**arch))
    return Dinov2Encoder(spec, settings.device, model)


for checkpoint in CHECKPOINTS:
    register(checkpoint_spec(checkpoint), build, order=ORDER)
