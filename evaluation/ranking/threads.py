"""Work on a range split into contiguous parts, one thread each: for compiled passes and BLAS calls that release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

THREADS = min(4, os.cpu_count() or 1)

Result = TypeVar("Result")


def in_parts(count: int, parts: int, work: Callable[[int, int], Result]) -> list[Result]:
    """`work(first, last)` over 0..count split into `parts` (at least one) near-equal ranges, in order.

    One part runs here; several run in as many threads, and their results come back in range order.
    """
    bounds = np.linspace(0, count, max(1, parts) + 1).astype(int).tolist()
    ranges = list(zip(bounds[:-1], bounds[1:], strict=True))
    if len(ranges) == 1:
        return [work(*ranges[0])]
    with ThreadPoolExecutor(len(ranges)) as pool:
        return list(pool.map(lambda bounds: work(*bounds), ranges))
