"""Any transformers vision model by id (`hf:<model id>`): pooled output, else the CLS token.

The model comes from AutoModel and the preprocessing from the model's own
image processor (its preprocessor configuration, PIL backend), so nothing
about the model needs to be registered. Two-tower models (CLIP-like) give
their projected image features. A pooler whose weights are not in the
checkpoint would be random, so then the CLS token is used instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder
from encoders.registry import register_prefix
from encoders.spec import EncoderSpec
from encoders.weights import load_hf_pretrained, quiet_loading_report
from errors import RetrievalError

if TYPE_CHECKING:
    import torch

PREFIX = "hf:"


def hf_spec(name: str) -> EncoderSpec:
    """The record of `hf:<model id>`, made on the spot: the model's own configuration
    and image processor supply its size and preprocessing when it is loaded."""
    return EncoderSpec(
        name=name,
        family="hf_auto",
        model_id=name.removeprefix(PREFIX),
        dim=0,
        text=False,
        source="huggingface",
        license="see the model card",
        preprocess=None,
    )


class ProcessorTransform:
    """The model's image processor on one image -> its (3, H, W) float32 array; picklable for workers."""

    def __init__(self, processor) -> None:
        self.processor = processor

    def __call__(self, image: Image.Image) -> np.ndarray:
        pixels = self.processor(images=image, return_tensors="np")["pixel_values"][0]
        return pixels.astype(np.float32, copy=False)


class AutoVisionEncoder(TorchEncoder):
    def __init__(self, spec: EncoderSpec, device: str, model, *, processor, use_pooler: bool) -> None:
        super().__init__(spec, device, 0)
        self.model = model.eval().to(device)
        self._transform = ProcessorTransform(processor)
        self.use_pooler = use_pooler
        self.dim = self._probe_dim()

    def transform(self) -> ProcessorTransform:
        return self._transform

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        import torch

        if hasattr(self.model, "get_image_features"):
            out = self.model.get_image_features(pixel_values=batch)
        else:
            out = self.model(pixel_values=batch)
        if isinstance(out, torch.Tensor):  # transformers 4 returns the features themselves
            return out
        pooled = getattr(out, "pooler_output", None) if self.use_pooler else None
        return (pooled if pooled is not None else out.last_hidden_state[:, 0]).flatten(1)

    def _probe_dim(self) -> int:
        """The vector size, from one forward pass on a blank image."""
        blank = self._transform(Image.new("RGB", (256, 256), (128, 128, 128)))[None]
        try:
            return int(self.embed_images(blank).shape[1])
        except (AttributeError, TypeError, ValueError) as error:
            raise RetrievalError(
                f"{self.name}: {type(self.model).__name__} is not a vision model with a pooled output "
                f"or a CLS token ({type(error).__name__}: {error})"
            ) from error


def build(spec: EncoderSpec, settings: BuildSettings) -> Encoder:
    from transformers import AutoImageProcessor, AutoModel

    if settings.init != "pretrained":
        raise RetrievalError(
            f"{spec.name}: hf: encoders load published weights; --init {settings.init} needs a registered encoder"
        )
    with quiet_loading_report():  # a missing pooler is expected; it is then not used
        model, info = load_hf_pretrained(spec, AutoModel, settings.weights, output_loading_info=True)
    processor = load_hf_pretrained(spec, AutoImageProcessor, settings.weights, backend="pil")
    use_pooler = not any("pooler" in key for key in info.get("missing_keys", ()))
    return AutoVisionEncoder(spec, settings.device, model, processor=processor, use_pooler=use_pooler)


register_prefix(PREFIX, hf_spec, build, usage=f"{PREFIX}<model id>")
