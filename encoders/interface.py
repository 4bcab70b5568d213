"""The encoder interface every family implements, and its shared helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING

import numpy as np

from encoders.spec import EncoderSpec
from errors import QueryError

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from encoders.identity import WeightsIdentity


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32; all-zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


def resolve_device(device: str) -> str:
    """'auto' means CUDA when a GPU is visible, else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Encoder(ABC):
    """Turns preprocessed images (and text, where supported) into unit vectors; numpy in, numpy out."""

    def __init__(self, spec: EncoderSpec, device: str, dim: int) -> None:
        self.spec = spec
        self.device = device
        self.dim = dim
        self.weights: WeightsIdentity | None = None  # set by the registry once built
        self.precision = "fp32"  # the arithmetic of its forward passes (encoders/precision.py); set by the registry

    @property
    def name(self) -> str:
        return self.spec.name

    @abstractmethod
    def transform(self) -> Callable[[Image.Image], np.ndarray]:
        """A picklable callable (it runs in DataLoader workers): decoded RGB image -> one float32 input array."""

    @abstractmethod
    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        """A stack of `transform` outputs -> (n, dim) L2-normalised float32."""

    def embed_pil(self, images: list[Image.Image]) -> np.ndarray:
        """Embed decoded RGB images directly (ad-hoc queries)."""
        transform = self.transform()
        return self.embed_images(np.stack([transform(image) for image in images]))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Text -> (n, dim) unit vectors in the image space; only for text towers."""
        raise QueryError(f"encoder '{self.name}' has no text tower; text queries need one such as clip")


class TorchEncoder(Encoder):
    """An encoder whose model is a torch module: arrays become tensors on its device only here."""

    @abstractmethod
    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw (unnormalised) embeddings of a batch on this encoder's device."""

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        import torch

        pixels = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        with self.inference():
            out = self._forward(pixels.to(self.device, non_blocking=True))
        return l2_normalize(out.float().cpu().numpy())

    def inference(self) -> AbstractContextManager:
        """The context every forward pass runs in: no autograd, and the encoder's precision."""
        import torch

        from encoders.precision import autocast

        stack = ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(autocast(self.precision, self.device))
        return stack
