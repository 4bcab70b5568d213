"""SigLIP through transformers: attention-pooled image and text embeddings in one space.

SigLIP was trained on texts padded to 64 tokens and pools the text at the last
position, so text is always padded to that length and given without an
attention mask, as its published processor does.
"""

from __future__ import annotations

import io
import string
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder, l2_normalize
from encoders.preprocess import ResizeCropNormalize
from encoders.registry import register
from encoders.seeding import seeded
from encoders.spec import HALF, EncoderSpec, Preprocess
from encoders.weights import load_hf_model, load_hf_pretrained

if TYPE_CHECKING:
    import torch

ORDER = 30
TEXT_LENGTH = 64
# What a text-only load leaves of a full SigLIP checkpoint: the vision tower and the logit scale and bias.
TEXT_TOWER_UNUSED = ("vision_model.", "logit_scale", "logit_bias")
SPEC = EncoderSpec(
    name="siglip",
    family="siglip",
    model_id="google/siglip-base-patch16-224",
    dim=768,
    text=True,
    source="huggingface",
    license="Apache-2.0",
    preprocess=Preprocess(224, 224, "bicubic", HALF, HALF, squash=True),
    architecture={
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
            "max_position_embeddings": TEXT_LENGTH,
            "bos_token_id": None,
            "eos_token_id": 1,
        },
    },
    tiny_architecture={
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
            "max_position_embeddings": TEXT_LENGTH,
            "bos_token_id": None,
            "eos_token_id": 1,
        },
    },
)


class SiglipEncoder(TorchEncoder):
    """`model` is a SiglipModel, or a SiglipTextModel for text queries alone."""

    def __init__(self, spec: EncoderSpec, device: str, model, *, tokenizer) -> None:
        text_config = getattr(model.config, "text_config", model.config)
        super().__init__(spec, device, text_config.projection_size)
        self.model = model.eval().to(device)
        self.text_tower = getattr(self.model, "text_model", self.model)
        self.tokenizer = tokenizer

    def transform(self) -> ResizeCropNormalize:
        return ResizeCropNormalize(self.spec.preprocess)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model.vision_model(pixel_values=batch).pooler_output

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=TEXT_LENGTH, return_tensors="pt"
        )
        with self.inference():
            out = self.text_tower(input_ids=tokens["input_ids"].to(self.device)).pooler_output
        return l2_normalize(out.float().cpu().numpy())


def generated_tokenizer():
    """A SigLIP tokenizer over a generated character vocabulary, for random-weight variants.

    It runs the real sentencepiece tokenizer code without the published
    vocabulary, which only ships with the weights. Special ids follow SigLIP's
    (pad and end of text 1, unknown 2); the vocabulary has under 128 entries.
    """
    import sentencepiece as spm
    from transformers import SiglipTokenizer

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([string.ascii_lowercase + string.digits + string.punctuation]),
        model_writer=model,
        model_type="char",
        vocab_size=128,
        hard_vocab_limit=False,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
    )
    with tempfile.TemporaryDirectory() as folder:  # the tokenizer reads its model from a file
        path = Path(folder) / "spiece.model"
        path.write_bytes(model.getvalue())
        return SiglipTokenizer(vocab_file=str(path))


def _random_model(spec: EncoderSpec, init: str):
    from transformers import SiglipConfig, SiglipModel

    with seeded():
        return SiglipModel(SiglipConfig(**(spec.architecture if init == "random" else spec.tiny_architecture)))


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    from transformers import AutoTokenizer, SiglipModel

    if settings.init == "pretrained":
        model = load_hf_model(spec, SiglipModel, settings.weights)
        tokenizer = load_hf_pretrained(spec, AutoTokenizer, settings.weights)
    else:
        model, tokenizer = _random_model(spec, settings.init), generated_tokenizer()
    return SiglipEncoder(spec, settings.device, model, tokenizer=tokenizer)


def build_text(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    """Only the text tower; random weights come from the full seeded model, as in ingest."""
    if settings.init != "pretrained":
        return build(spec, settings)
    from transformers import AutoTokenizer, SiglipTextModel

    model = load_hf_model(spec, SiglipTextModel, settings.weights, unused=TEXT_TOWER_UNUSED)
    tokenizer = load_hf_pretrained(spec, AutoTokenizer, settings.weights)
    return SiglipEncoder(spec, settings.device, model, tokenizer=tokenizer)


register(SPEC, build, build_text, order=ORDER)
