"""The default near-duplicate threshold per encoder: measured, never guessed.

Each value is the threshold with the best F1 of pair detection on Corel-1K
with planted copies (`bench/duplicates_bench.py`; BENCHMARKS.md records the
run). An encoder without a measured value has no default: the command says
so in one line and asks for --threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from errors import QueryError


@dataclass(frozen=True)
class Threshold:
    """A cosine threshold and where it comes from: 'given' (the command line) or what measured it."""

    value: float
    source: str

    def to_json(self) -> dict:
        return {"value": self.value, "source": self.source}


MAX_PAIRS = 1_000_000  # close pairs a search may hold (each kept with its score): more means a threshold too low

# encoder -> best-F1 threshold on Corel-1K with planted copies (BENCHMARKS.md, "Duplicates")
MEASURED: dict[str, float] = {"colorhist": 0.9662}  # F1 0.9726, precision 0.9813, recall 0.9640


def threshold_for(encoder: str, given: float | None, *, collection: str) -> Threshold:
    """`given` when there is one, else the encoder's measured default; none measured is one line to act on."""
    if given is not None:
        return Threshold(given, "given")
    if encoder in MEASURED:
        return Threshold(MEASURED[encoder], f"measured for {encoder} on Corel-1K (bench/duplicates_bench.py)")
    raise QueryError(
        f"no measured near-duplicate threshold for encoder '{encoder}' (collection '{collection}'); pass "
        "--threshold T, or measure one with bench/duplicates_bench.py where its weights exist (BENCHMARKS.md)"
    )


def too_loose(threshold: Threshold, where: str, limit: int) -> QueryError:
    """The one line for a threshold that joins more than `limit` pairs of `where` (collections, quoted)."""
    return QueryError(
        f"cosine >= {threshold.value:g} joins more than {limit:,} pairs of {where}: nearly everything is a "
        "near duplicate there; raise --threshold"
    )
