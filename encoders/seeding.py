"""Seeded random initialisation that leaves the process's random state as it was."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

RANDOM_INIT_SEED = 0


@contextlib.contextmanager
def seeded(seed: int = RANDOM_INIT_SEED) -> Iterator[None]:
    """Inside the block torch's CPU generator starts from `seed`; after it, it is back where it was.

    Random-weight models are built on the CPU, so the same seed gives the same
    weights (text-only and full builds, ingest and search) without the build
    moving the caller's random numbers.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        yield
