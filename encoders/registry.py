"""The table of encoders by name, and building one from its record."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from encoders.base import Encoder, resolve_device
from encoders.spec import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, EncoderSpec, Preprocess
from errors import RetrievalError

SEED_ENCODERS = ("dinov2", "clip", "resnet18")
INITS = ("pretrained", "random", "random-tiny")

_CLIP_B32 = {
    "projection_dim": 512,
    "vision_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                      "num_attention_heads": 12, "patch_size": 32, "image_size": 224},
    "text_config": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                    "num_attention_heads": 8, "eos_token_id": 2},
}
_CLIP_TINY = {
    "projection_dim": 16,
    "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                      "num_attention_heads": 2, "patch_size": 32, "image_size": 224},
    "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                    "num_attention_heads": 2, "eos_token_id": 2},
}

SPECS: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in (
        EncoderSpec(
            name="dinov2", family="dinov2", model_id="facebook/dinov2-small", dim=384, text=False,
            source="huggingface", license="Apache-2.0",
            preprocess=Preprocess(256, 224, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
            architecture={"model_type": "dinov2", "hidden_size": 384, "num_hidden_layers": 12,
                          "num_attention_heads": 6, "mlp_ratio": 4, "patch_size": 14,
                          "image_size": 518},
            tiny_architecture={"model_type": "dinov2", "hidden_size": 32, "num_hidden_layers": 2,
                               "num_attention_heads": 2, "mlp_ratio": 2, "patch_size": 14,
                               "image_size": 224},
        ),
        EncoderSpec(
            name="clip", family="clip", model_id="openai/clip-vit-base-patch32", dim=512, text=True,
            source="huggingface", license="MIT",
            preprocess=Preprocess(224, 224, "bicubic", CLIP_MEAN, CLIP_STD),
            architecture=_CLIP_B32, tiny_architecture=_CLIP_TINY,
        ),
        EncoderSpec(
            name="resnet18", family="resnet", model_id="ResNet18_Weights.IMAGENET1K_V1", dim=512,
            text=False, source="torchvision", license="BSD-3-Clause",
            preprocess=Preprocess(256, 224, "bilinear", IMAGENET_MEAN, IMAGENET_STD),
        ),
        EncoderSpec(
            name="colorhist", family="colorhist", model_id="HSV histogram 8x4x4", dim=128,
            text=False, source="none", license="-", preprocess=None,
        ),
    )
}


def encoder_names() -> list[str]:
    return list(SPECS)


def get_spec(name: str) -> EncoderSpec:
    """The record of a registered encoder, or an error listing the known names."""
    try:
        return SPECS[name]
    except KeyError:
        raise RetrievalError(
            f"unknown encoder '{name}'; known encoders: {', '.join(SPECS)}"
        ) from None


def weights_present(spec: EncoderSpec) -> bool:
    """Whether the weights are in the local cache (no network, no loading)."""
    if spec.source == "none":
        return True
    if spec.source == "huggingface":
        from huggingface_hub import try_to_load_from_cache

        return any(
            isinstance(try_to_load_from_cache(spec.model_id, f), str)
            for f in ("model.safetensors", "pytorch_model.bin")
        )
    import torch
    from torchvision.models import get_weight

    url = get_weight(spec.model_id).url
    return (Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)).is_file()


def build_encoder(
    name: str, device: str = "auto", weights: str | None = None, init: str = "pretrained"
) -> Encoder:
    """Load an encoder by name; `init` other than 'pretrained' gives random weights (tests)."""
    spec, module = _family(name, init)
    return module.build(spec, resolve_device(device), weights, init)


def build_text_encoder(
    name: str, device: str = "auto", weights: str | None = None, init: str = "pretrained"
) -> Encoder:
    """Load only what `embed_texts` needs (faster than `build_encoder` for text queries)."""
    spec, module = _family(name, init)
    if not spec.text:
        raise RetrievalError(f"encoder '{name}' has no text tower")
    build = getattr(module, "build_text", module.build)  # families without a text-only loader
    return build(spec, resolve_device(device), weights, init)


def _family(name: str, init: str) -> tuple[EncoderSpec, ModuleType]:
    """The record of `name` and the module of its family, after checking `init`."""
    if init not in INITS:
        raise RetrievalError(f"unknown init '{init}'; choose one of {', '.join(INITS)}")
    spec = get_spec(name)
    return spec, importlib.import_module(f"encoders.{spec.family}")
