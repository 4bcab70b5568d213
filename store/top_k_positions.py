"""Top-k position lists, the one form in which `tune` hands an index's answers to the evaluation's AP@k.

A list is a row of positions (into the collection, dataset order), best first,
padded with `MISSING` where the engine returned fewer than k hits. Both stages
meet here, since neither may import the other.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MISSING = -1  # the padding of a top-k list shorter than k
TopKScorer = Callable[[np.ndarray, np.ndarray, int], np.ndarray]  # (top-k positions, query positions, k) -> AP@k
