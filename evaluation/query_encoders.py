"""What the evaluation needs from the encoders, handed in by the command layer: evaluation never imports `encoders`.

The protocols that embed queries (text-to-image: the class labels; Revisited
Oxford/Paris: the cropped query images) build the encoder that made the
collection through these builders, and check its weights against the
collection's provenance themselves; the study table orders its rows by the
registry's order. `commands.evaluating.query_encoders` fills it from the
registry; an empty one knows no encoder (no text tower, registry order unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from store.provenance import WeightsIdentity


class TextTower(Protocol):
    """A built text tower: the identity of its weights (None when unknown); text in, L2-normalised vectors out."""

    weights: WeightsIdentity | None

    def embed_texts(self, texts: list[str]) -> np.ndarray: ...


class ImageEncoder(Protocol):
    """A built image encoder: the identity of its weights (None when unknown); PIL images in, vectors out."""

    weights: WeightsIdentity | None

    def embed_pil(self, images: list) -> np.ndarray: ...


@dataclass(frozen=True)
class QueryEncoders:
    """The registry's encoder names in order, those with a text tower, and how to build either tower.

    `text_tower(name, init, precision)` and `image_encoder(name, init)` build the
    encoder `name` with weights `init` ('pretrained' or a random init's name),
    on the device the command chose; each is called only when a protocol needs it.
    """

    order: tuple[str, ...] = ()
    text: frozenset[str] = frozenset()
    text_tower: Callable[[str, str, str], TextTower] | None = None
    image_encoder: Callable[[str, str], ImageEncoder] | None = None

    def has_text(self, encoder: str) -> bool:
        """Whether vectors of `encoder` can be matched by text: it has a text tower."""
        return encoder in self.text
