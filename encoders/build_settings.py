"""How one encoder is built: the device, the weights, their initialisation and the precision, as one record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildSettings:
    """What `build_encoder` hands a family's builder, with `device` already resolved ('auto' chosen).

    `weights` is a local file or folder (`--weights NAME=PATH`), None for the caches or the hub; `init`
    other than 'pretrained' draws seeded random weights (`random` full size, `random-tiny` test size);
    `precision` is fp32 or bf16 (encoders/precision.py).
    """

    device: str = "auto"
    weights: str | None = None
    init: str = "pretrained"
    precision: str = "fp32"
