"""Fixed bins of cosine for the table of score against precision: every hit's score, and every relevant one's.

A score s falls in bin floor(s x SCORE_STEPS) + SCORE_STEPS: bin b holds the
scores in [(b - SCORE_STEPS) / SCORE_STEPS, (b + 1 - SCORE_STEPS) / SCORE_STEPS).
SCORE_STEPS is a power of two, so the product and the floor are exact and the
bin's lower edge is a float that the counts of "at or above" hold exactly:
the hits at or above an edge are the sum of the bins from it up. Scores past
-1 or 1 (rounding) go to the first or last bin.
"""

from __future__ import annotations

import numpy as np

SCORE_STEPS = 1024  # bins per unit of cosine: edges every 1/1024 (about 0.001)
SCORE_BINS = 2 * SCORE_STEPS + 1  # -1 .. 1, the last bin holding 1.0 itself


def bin_edges() -> np.ndarray:
    """The lower edge (a cosine) of every bin."""
    return (np.arange(SCORE_BINS, dtype=np.float64) - SCORE_STEPS) / SCORE_STEPS


def tally_scores(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """(2, SCORE_BINS) counts of `scores` and of those `relevant` (bool, same shape) per bin, -inf left out:
    what the ranking's compiled pass counts, for a caller that holds the scores (and for tests)."""
    scores = np.asarray(scores, dtype=np.float64)
    counted = scores > -np.inf
    bins = np.clip(np.floor(scores[counted] * SCORE_STEPS).astype(np.int64) + SCORE_STEPS, 0, SCORE_BINS - 1)
    return np.stack(
        [
            np.bincount(bins, minlength=SCORE_BINS),
            np.bincount(bins[np.asarray(relevant, bool)[counted]], minlength=SCORE_BINS),
        ]
    )
