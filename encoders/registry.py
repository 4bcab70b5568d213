"""The table of encoders by name, and building one from its record."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from encoders.base import Encoder, resolve_device
from encoders.spec import CLIP_MEAN, CLIP_STD, HALF, IMAGENET_MEAN, IMAGENET_STD, EncoderSpec, Preprocess
from errors import RetrievalError

SEED_ENCODERS = ("dinov2", "clip", "resnet18")
INITS = ("pretrained", "random", "random-tiny")
HF_PREFIX = "hf:"  # hf:<model id> builds any transformers vision model (encoders/hf_auto.py)

_CLIP_B32 = {
    "projection_dim": 512,
    "vision_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "patch_size": 32,
        "image_size": 224,
    },
    "text_config": {
        "hidden_size": 512,
        "intermediate_size": 2048,
        "num_hidden_layers": 12,
        "num_attention_heads": 8,
        "eos_token_id": 2,
    },
}
_CLIP_TINY = {
    "projection_dim": 16,
    "vision_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "patch_size": 32,
        "image_size": 224,
    },
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "eos_token_id": 2,
    },
}

_SIGLIP_B16 = {
    "vision_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "patch_size": 16,
        "image_size": 224,
    },
    "text_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "vocab_size": 32000,
        "max_position_embeddings": 64,
        "bos_token_id": None,
        "eos_token_id": 1,
    },
}
_SIGLIP_TINY = {
    "vision_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "patch_size": 16,
        "image_size": 224,
    },
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "vocab_size": 128,
        "max_position_embeddings": 64,
        "bos_token_id": None,
        "eos_token_id": 1,
    },
}

# DINOv2 ViT/14 checkpoints, plain and with 4 register tokens; all share one recipe
# (the CLS token after the final layer norm) and one processor (BitImageProcessor).
_DINOV2 = (  # name, model id, width, depth, heads, register tokens
    ("dinov2", "facebook/dinov2-small", 384, 12, 6, 0),
    ("dinov2-base", "facebook/dinov2-base", 768, 12, 12, 0),
    ("dinov2-large", "facebook/dinov2-large", 1024, 24, 16, 0),
    ("dinov2-reg", "facebook/dinov2-with-registers-small", 384, 12, 6, 4),
    ("dinov2-reg-base", "facebook/dinov2-with-registers-base", 768, 12, 12, 4),
    ("dinov2-reg-large", "facebook/dinov2-with-registers-large", 1024, 24, 16, 4),
)


def _dinov2(name: str, model_id: str, width: int, depth: int, heads: int, registers: int) -> EncoderSpec:
    """One row of `_DINOV2` as a record; the tiny variant keeps the register tokens."""
    kind: dict = {"model_type": "dinov2"}
    if registers:
        kind = {"model_type": "dinov2_with_registers", "num_register_tokens": registers}
    return EncoderSpec(
        name=name,
        family="dinov2",
        model_id=model_id,
        dim=width,
        text=False,
        source="huggingface",
        license="Apache-2.0",
        preprocess=Preprocess(256, 224, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
        architecture={
            **kind,
            "hidden_size": width,
            "num_hidden_layers": depth,
            "num_attention_heads": heads,
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
    )


SPECS: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in (
        *(_dinov2(*row) for row in _DINOV2),
        EncoderSpec(
            name="clip",
            family="clip",
            model_id="openai/clip-vit-base-patch32",
            dim=512,
            text=True,
            source="huggingface",
            license="MIT",
            preprocess=Preprocess(224, 224, "bicubic", CLIP_MEAN, CLIP_STD),
            architecture=_CLIP_B32,
            tiny_architecture=_CLIP_TINY,
        ),
        EncoderSpec(
            name="siglip",
            family="siglip",
            model_id="google/siglip-base-patch16-224",
            dim=768,
            text=True,
            source="huggingface",
            license="Apache-2.0",
            preprocess=Preprocess(224, 224, "bicubic", HALF, HALF, squash=True),
            architecture=_SIGLIP_B16,
            tiny_architecture=_SIGLIP_TINY,
        ),
        EncoderSpec(
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
        ),
        EncoderSpec(
            name="resnet18",
            family="resnet",
            model_id="ResNet18_Weights.IMAGENET1K_V1",
            dim=512,
            text=False,
            source="torchvision",
            license="BSD-3-Clause",
            preprocess=Preprocess(256, 224, "bilinear", IMAGENET_MEAN, IMAGENET_STD, crop_offset="round"),
            checkpoint="resnet18-f37072fd.pth",
        ),
        EncoderSpec(
            name="colorhist",
            family="colorhist",
            model_id="HSV histogram 8x4x4",
            dim=128,
            text=False,
            source="none",
            license="-",
            preprocess=None,
        ),
    )
}


def encoder_names() -> list[str]:
    return list(SPECS)


def parse_weights(values: tuple[str, ...] | list[str], names: list[str] | None = None) -> dict[str, str]:
    """`--weights NAME=PATH` values as {name: path}; with `names`, a NAME outside them is refused, not ignored."""
    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise RetrievalError(f"--weights '{value}' is not NAME=PATH")
        if names is not None and name not in names:
            raise RetrievalError(f"--weights '{name}' is not among the encoders of this run ({', '.join(names)})")
        pairs[name] = path
    return pairs


def resolve_encoder_names(names: tuple[str, ...] | list[str] = ()) -> list[str]:
    """What `--encoder` means: the seed three when none is named, every registered one for 'all'."""
    if "all" in names:
        return encoder_names()
    return list(names) or list(SEED_ENCODERS)


def get_spec(name: str) -> EncoderSpec:
    """The record of a registered encoder or of `hf:<model id>`, else an error listing the names.

    An `hf:` record is made on the spot: the model's own configuration and image
    processor supply its size and preprocessing when it is loaded.
    """
    model_id = name.removeprefix(HF_PREFIX)
    if name.startswith(HF_PREFIX) and model_id:
        return EncoderSpec(
            name=name,
            family="hf_auto",
            model_id=model_id,
            dim=0,
            text=False,
            source="huggingface",
            license="see the model card",
            preprocess=None,
        )
    try:
        return SPECS[name]
    except KeyError:
        raise RetrievalError(
            f"unknown encoder '{name}'; known encoders: {', '.join(SPECS)}, or {HF_PREFIX}<model id>"
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
    return (torch_hub_dir() / "checkpoints" / spec.checkpoint).is_file()


def torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch: $TORCH_HOME/hub, else the XDG cache."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(home) / "hub"


def build_encoder(name: str, device: str = "auto", weights: str | None = None, init: str = "pretrained") -> Encoder:
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
