"""A score a person can read: the precision among all hits at or above a cosine, from the ranking's tally.

Over every query's ranked list (leave-one-out, the query excluded), a hit is
relevant when it shares the query's label (`evaluation.metrics.relevance`:
a shared class in a multi-label collection). The precision at a score s is
the share of relevant hits among all hits scoring s or more, over every
query at once. The counts come from the ranking's own pass
(`evaluation.ranking.score_tally`: every score tallied into bins 1/1024 wide),
so the table costs no second ranking and is exact at each bin edge.

The rows are the scores below which 0%, 5%, ..., 95% of the relevant hits fall
(their quantiles, each taken down to its bin edge, so "at or above" keeps at
least the rest), and for each of TARGETS the lowest score at which the
precision reaches it: what to pass as `search --min-score`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.ranking.score_tally import bin_edges

TARGETS = (0.5, 0.8, 0.9, 0.95)
SHORT_SHARES = (1.0, 0.75, 0.5, 0.25)  # the short table's rows beside the targets: same-label hits kept
QUANTILES = tuple(i / 20 for i in range(20))  # 0, 0.05, ..., 0.95 of the relevant hits' scores


@dataclass(frozen=True)
class ScoreRow:
    """One row of the table: the hits scoring `score` or more, how many share the query's label."""

    score: float
    hits: int
    relevant: int

    @property
    def precision(self) -> float:
        return self.relevant / self.hits if self.hits else float("nan")

    def to_json(self) -> dict:
        return {
            "score": self.score,
            "precision": round(self.precision, 6),
            "hits": self.hits,
            "relevant": self.relevant,
        }


@dataclass(frozen=True)
class ScorePrecision:
    """Score against precision for one collection: `rows` best score first; `targets` maps each precision of
    TARGETS to the lowest score reaching it (None: never reached)."""

    rows: tuple[ScoreRow, ...]
    targets: dict[float, float | None]
    hits: int  # every hit counted
    relevant: int  # of which relevant

    @classmethod
    def from_tally(cls, tally: np.ndarray) -> ScorePrecision | None:
        """The table from (2, bins) counts of all hits and of relevant ones per bin; None without a relevant hit."""
        hits_above = np.cumsum(tally[0][::-1])[::-1]  # hits at or above each bin's lower edge
        relevant_above = np.cumsum(tally[1][::-1])[::-1]
        relevant = int(relevant_above[0])
        if relevant == 0:
            return None
        edges = bin_edges()
        below = relevant - relevant_above  # relevant hits below each edge
        chosen = {int(np.flatnonzero(below <= q * relevant)[-1]) for q in QUANTILES}
        precision = np.where(hits_above > 0, relevant_above / np.maximum(hits_above, 1), 0.0)
        targets: dict[float, float | None] = {}
        for target in TARGETS:
            reached = np.flatnonzero((precision >= target) & (hits_above > 0))
            targets[target] = float(edges[reached[0]]) if len(reached) else None
            if len(reached):
                chosen.add(int(reached[0]))
        rows = tuple(
            ScoreRow(float(edges[b]), int(hits_above[b]), int(relevant_above[b])) for b in sorted(chosen, reverse=True)
        )
        return cls(rows, targets, int(hits_above[0]), relevant)

    def kept(self, row: ScoreRow) -> float:
        """The share of all same-label hits that score `row.score` or more (the recall of the pairs)."""
        return row.relevant / self.relevant if self.relevant else float("nan")

    def short_rows(self) -> tuple[ScoreRow, ...]:
        """The few rows `eval` prints: where each target precision is reached, and the highest scores keeping
        all, 3/4, half and a quarter of the same-label hits; best score first."""
        chosen = {row for row in self.rows if row.score in self.targets.values()}
        for share in SHORT_SHARES:
            chosen.add(next(row for row in self.rows if row.relevant >= share * self.relevant))
        return tuple(sorted(chosen, key=lambda row: -row.score))

    def precision_at(self, score: float) -> float | None:
        """The precision of the nearest row at or below `score`; None below the lowest row."""
        row = next((row for row in self.rows if row.score <= score), None)
        return None if row is None else row.precision

    def to_json(self) -> dict:
        return {
            "rows": [row.to_json() for row in self.rows],
            "targets": {str(target): score for target, score in self.targets.items()},
            "hits": self.hits,
            "relevant": self.relevant,
        }

    @classmethod
    def from_json(cls, data: dict) -> ScorePrecision:
        """The table as `to_json` wrote it (checked by `score_table_problem` first)."""
        rows = tuple(ScoreRow(float(r["score"]), int(r["hits"]), int(r["relevant"])) for r in data["rows"])
        targets = {float(t): None if s is None else float(s) for t, s in (data.get("targets") or {}).items()}
        return cls(rows, targets, int(data.get("hits") or 0), int(data.get("relevant") or 0))


@dataclass(frozen=True)
class ScoreReading:
    """Each hit's precision at its score, read from one record's table (None below its lowest row): what
    `search` prints beside the scores, and the record it came from."""

    record: str
    precision: tuple[float | None, ...]

    @classmethod
    def of(cls, table: ScorePrecision, scores: list[float], record: str) -> ScoreReading:
        return cls(record, tuple(table.precision_at(score) for score in scores))

    def to_json(self) -> dict:
        return {"record": self.record, "precision": list(self.precision)}


def score_table_problem(data: object) -> str | None:
    """What makes `data` no table `ScorePrecision.from_json` reads (the first thing found), or None."""
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        return "'score_precision' is not an object with a list of rows"
    for row in data["rows"]:
        if not isinstance(row, dict) or not all(_number(row.get(key)) for key in ("score", "hits", "relevant")):
            return f"'score_precision' has a row {row!r:.60} without a score, hits and relevant hits"
        if not row["hits"] >= row["relevant"] >= 0 < row["hits"]:
            return f"'score_precision' has a row {row!r:.60} with more relevant hits than hits, or none at all"
    targets = data.get("targets") or {}
    if not isinstance(targets, dict) or not all(_number(v) or v is None for v in targets.values()):
        return "'score_precision' targets are not scores"
    try:
        [float(target) for target in targets]
    except ValueError:
        return "'score_precision' targets are not precisions"
    return None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
