"""Any transformers vision model by id (`hf:<model id>`): pooled output, else the CLS token.

The model comes from AutoModel and the preprocessing from the model's own
image processor (its preprocessor configuration, PIL backend), so nothing
about the model needs to be registered. Two-tower models (CLIP-like) give
their projected image features. A pooler whose weights are not in the
checkpoint would be random, so then the CLS token is used instead.
"""

from __future__ import annotations

import torch
from PIL import Image

from encoders.base import Encoder
from encoders.spec import EncoderSpec
from encoders.weights import load_hf_pretrained, load_hf_quietly
from errors import RetrievalError


class ProcessorTransform:
    """The model's image processor on one image -> its (3, H, W) tensor; picklable for workers."""

    def __init__(self, processor) -> None:
        self.processor = processor

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


class AutoVisionEncoder(Encoder):
    def __init__(self, spec: EncoderSpec, device: str, model, processor, use_pooler: bool) -> None:
        super().__init__(spec, device, 0)
        self.model = model.eval().to(device)
        self._transform = ProcessorTransform(processor)
        self.use_pooler = use_pooler
        self.dim = self._probe_dim()

    def transform(self) -> ProcessorTransform:
        return self._transform

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
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
            with torch.inference_mode():
                return int(self._forward(blank.to(self.device)).shape[1])
        except (AttributeError, TypeError, ValueError) as error:
            raise RetrievalError(
                f"{self.name}: {type(self.model).__name__} is not a vision model with a pooled output "
                f"or a CLS token ({type(error).__name__}: {error})"
            ) from error


def build(spec: EncoderSpec, device: str, weights: str | None, init: str) -> Encoder:
    from transformers import AutoImageProcessor, AutoModel

    if init != "pretrained":
        raise RetrievalError(
            f"{spec.name}: hf: encoders load published weights; --init {init} needs a registered encoder"
        )
    model, info = load_hf_quietly(spec, AutoModel, weights, output_loading_info=True)
    processor = load_hf_pretrained(spec, AutoImageProcessor, weights, backend="pil")
    use_pooler = not any("pooler" in key for key in info.get("missing_keys", ()))
    return AutoVisionEncoder(spec, device, model, processor, use_pooler)
