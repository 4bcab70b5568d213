"""A query by examples: more like these, less like those, diverse, above a score.

One record travels from the command to every engine, which answers it with its
own query: Qdrant's recommend query (best score or sum of scores) where there
are several examples or negative ones, its nearest query where there is one
positive example, with MMR re-ordering (`Diversity`) and a score threshold
(`min_score`) where asked. An example is a vector (an image file or a text,
embedded) or the id of a stored point; a stored example is never a hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from errors import QueryError

if TYPE_CHECKING:
    import numpy as np

    ExampleRef = np.ndarray | str  # a vector, or the id of a stored point (left out of the hits)


class Strategy(StrEnum):
    """How Qdrant scores a candidate against several examples (its value is what `--strategy` takes).

    `best`: Qdrant's best_score: the candidate's best cosine to a positive when that beats its best cosine
    to a negative (the higher, the better), else minus its best cosine to a negative; each through a
    sigmoid. `sum`: Qdrant's sum_scores: the sum of its cosines to the positives minus the sum of its
    cosines to the negatives."""

    BEST = "best"
    SUM = "sum"


@dataclass(frozen=True)
class Diversity:
    """MMR re-ordering of a nearest query (Qdrant's `Mmr`): `diversity` 0 keeps the relevance order and 1
    is the most diverse (the MMR lambda, the weight of relevance, is 1 - diversity); `candidates`: how many
    nearest points MMR picks from."""

    diversity: float = 0.5
    candidates: int = 100

    def __post_init__(self) -> None:
        if not 0.0 <= self.diversity <= 1.0:
            raise QueryError(f"--diversity {self.diversity:g} is outside 0..1 (0: relevance order, 1: most diverse)")

    @property
    def relevance(self) -> float:
        """MMR's lambda: each pick maximises lambda * sim(query, c) - (1 - lambda) * max sim(c, picked)."""
        return 1.0 - self.diversity


@dataclass(frozen=True)
class ExampleQuery:
    """What `VectorStore.query_examples` answers: the `limit` best points for the examples, best first.

    With one positive and no negative it is a nearest query (with `mmr`, re-ordered by MMR); otherwise a
    recommend query scored by `strategy`. `min_score` drops hits scoring below it (the engine's score
    threshold); `label` keeps only points carrying that label."""

    positives: tuple[ExampleRef, ...] = ()
    negatives: tuple[ExampleRef, ...] = ()
    limit: int = 10
    strategy: Strategy = Strategy.BEST
    mmr: Diversity | None = None
    min_score: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if not self.positives and not self.negatives:
            raise QueryError("give at least one example: --like, or --unlike for everything unlike it")
        if self.mmr is not None and not self.nearest:
            raise QueryError(
                "--diverse re-orders a nearest query (Qdrant's MMR): give one --like (or --image or --text) "
                "and no --unlike, or leave out --diverse"
            )

    @property
    def nearest(self) -> bool:
        """One positive example and no negative: a nearest query."""
        return len(self.positives) == 1 and not self.negatives

    @property
    def candidates(self) -> int:
        """The nearest points MMR picks from: at least `limit`."""
        return max(self.mmr.candidates, self.limit) if self.mmr is not None else self.limit

    @property
    def stored(self) -> list[str]:
        """The ids of the stored points among the examples (never hits)."""
        return [example for example in (*self.positives, *self.negatives) if isinstance(example, str)]
