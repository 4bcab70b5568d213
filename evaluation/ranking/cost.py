"""What a leave-one-out run will cost, said before it starts: time from a measured rate, memory from n and dim."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from evaluation.ranking.ranker import BlockOutput, block_rows, rank_vector_blocks

CALIBRATION_POINTS = 8192  # database rows of the timed trial block
CALIBRATION_QUERIES = 64
LONG_SECONDS = 600.0  # a run longer than this gets a suggestion of --k or --sample
WORTH_SAYING = 10**8  # query x point pairs below which a run is quick and nothing is said
BYTES_PER_SCORE = 8  # a block's scores (4 B), its relevance (1 B) and the ranking's temporaries
CALIBRATION_CLASSES = 10  # the trial's labels: a tenth of the points relevant to each query
SHOWN = 5  # the first hits the evaluation orders (its galleries)
SUGGESTED_K = 100
SUGGESTED_SAMPLE = 10_000


@dataclass(frozen=True)
class Estimate:
    """The expected seconds and peak working memory of ranking `queries` queries against `points` points."""

    points: int
    queries: int
    dim: int
    k: int | None
    seconds: float
    memory_gb: float

    @property
    def long(self) -> bool:
        return self.seconds > LONG_SECONDS

    def text(self) -> str:
        """One line for the progress title and the run's notes; with a way out when the run is long."""
        line = f"about {_duration(self.seconds)}, {self.memory_gb:.1f} GB"
        if self.long and self.k is None:
            line += f"; --k {SUGGESTED_K} (AP@{SUGGESTED_K}) or --sample {SUGGESTED_SAMPLE} (mAP with its interval) is faster"
        elif self.long:
            line += f"; --sample {SUGGESTED_SAMPLE} (mAP@k of sampled queries, with its interval) is faster"
        return line

    def to_json(self) -> dict:
        return {
            "points": self.points,
            "queries": self.queries,
            "seconds": round(self.seconds, 1),
            "memory_gb": round(self.memory_gb, 2),
        }


def estimate(points: int, dim: int, queries: int | None = None, *, k: int | None = None) -> Estimate | None:
    """The cost of ranking `queries` (default every point) against `points` vectors of `dim`; None when it is small.

    Time: one block of CALIBRATION_QUERIES random queries is ranked against
    CALIBRATION_POINTS random vectors here, now, as the evaluation ranks (the
    ranks of a tenth of the points, the first hits; no row sorted whole, so the
    cost grows as n, with or without a cut at k), and its seconds per scored
    pair scaled by n x queries. Memory: the vectors (n x dim x 4 B) and one
    block of scores and what ranks them (rows x n x BYTES_PER_SCORE).
    """
    queries = points if queries is None else queries
    if points * queries < WORTH_SAYING:
        return None
    rng = np.random.default_rng(0)
    trial = min(points, CALIBRATION_POINTS)
    database = rng.standard_normal((trial, dim), dtype=np.float32)
    positions = np.arange(min(trial, CALIBRATION_QUERIES))
    labels = np.arange(trial) % CALIBRATION_CLASSES

    def relevance(chosen: np.ndarray) -> np.ndarray:
        relevant = labels[None, :] == labels[chosen, None]
        relevant[np.arange(len(chosen)), chosen] = False
        return relevant

    started = time.perf_counter()
    for _ in rank_vector_blocks(
        (database, database), positions, first=SHOWN, kept=0, output=BlockOutput(relevance=relevance)
    ):
        pass
    per_pair = (time.perf_counter() - started) / (len(positions) * trial)
    seconds = per_pair * points * queries
    memory = points * dim * 4 + block_rows(points) * points * BYTES_PER_SCORE
    return Estimate(points, queries, dim, k, seconds, memory / 1e9)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
