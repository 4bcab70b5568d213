"""CLIP through transformers: projected image and text embeddings in one space."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder, l2_normalize
from encoders.preprocess import ResizeCropNormalize
from encoders.registry import register
from encoders.seeding import seeded
from encoders.spec import CLIP_MEAN, CLIP_STD, EncoderSpec, Preprocess
from encoders.weights import load_hf_model, load_hf_pretrained

if TYPE_CHECKING:
    import torch

ORDER = 20
SPEC = EncoderSpec(
    name="clip",
    family="clip",
    model_id="openai/clip-vit-base-patch32",
    dim=512,
    text=True,
    source="huggingface",
    license="MIT",
    preprocess=Preprocess(224, 224, "bicubic", CLIP_MEAN, CLIP_STD),
    architecture={
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
    },
    tiny_architecture={
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
    },
)


class ClipEncoder(TorchEncoder):
    def __init__(self, spec: EncoderSpec, device: str, model, *, tokenizer) -> None:
        super().__init__(spec, device, model.config.projection_dim)
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        pooled = self.model.vision_model(pixel_values=batch).pooler_output
        return self.model.visual_projection(pooled)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt").to(
            self.device
        )
        with self.inference():
            pooled = self.model.text_model(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            ).pooler_output
            out = self.model.text_projection(pooled)
        return l2_normalize(out.float().cpu().numpy())


def byte_level_tokenizer():
    """A CLIP tokenizer over single bytes (no merges), for random-weight variants.

    It runs the real tokenizer code without the published vocabulary, which
    only ships with the weights.
    """
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    symbols = sorted(ByteLevel.alphabet())
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[])


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    from transformers import AutoTokenizer, CLIPConfig, CLIPModel

    if settings.init == "pretrained":
        model = load_hf_model(spec, CLIPModel, settings.weights)
        tokenizer = load_hf_pretrained(spec, AutoTokenizer, settings.weights)
    else:
        arch = spec.architecture if settings.init == "random" else spec.tiny_architecture
        with seeded():
            model = CLIPModel(CLIPConfig(**arch))
        tokenizer = byte_level_tokenizer()
    return ClipEncoder(spec, settings.device, model, tokenizer=tokenizer)


def build_text(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    """Only the text tower and its projection: a text query needs no vision weights.

    Random weights come from the full seeded model, so they match what ingest used.
    The returned encoder embeds text only.
    """
    if settings.init != "pretrained":
        return build(spec, settings)
    from transformers import AutoTokenizer

    model = load_hf_model(spec, _TextTower, settings.weights, unused=TEXT_TOWER_UNUSED)
    tokenizer = load_hf_pretrained(spec, AutoTokenizer, settings.weights)
    return ClipEncoder(spec, settings.device, model, tokenizer=tokenizer)


# What a text-only load leaves of a full CLIP checkpoint: the vision tower, its projection, the logit scale.
TEXT_TOWER_UNUSED = ("vision_model.", "visual_projection.", "logit_scale")


class _TextTower:
    """Loads `CLIPTextModelWithProjection` from a full CLIP checkpoint.

    The projection size is the checkpoint's top-level `projection_dim`; the nested
    text config may carry a stale default.
    """

    @staticmethod
    def from_pretrained(source: str, local_files_only: bool = False, **kwargs):
        from transformers import CLIPConfig, CLIPTextModelWithProjection

        config = CLIPConfig.from_pretrained(source, local_files_only=local_files_only)
        config.text_config.projection_dim = config.projection_dim
        return CLIPTextModelWithProjection.from_pretrained(
            source, config=config.text_config, local_files_only=local_files_only, **kwargs
        )


register(SPEC, build, build_text, order=ORDER)
