"""What an evaluation measured, beside which collection: the full ranking, a cut, a sample, a re-ranking.

A `Variant` names one kind of figure of a collection. Its `slug` names the
record file (reports/<collection>/runs/<slug>.json) so that records of
different variants never overwrite each other, and its `label` is what every
table prints beside the figure. `comparable` is what two records must share to
be compared query by query: the same metric (mAP or mAP@k) over the same
queries (all points, or the same seeded sample, duplicates kept or not); a
re-ranked row is compared with the plain rows measured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

FULL = "full"


@dataclass(frozen=True)
class Sample:
    """The queries of a sampled evaluation: `size` points drawn without replacement with `seed`."""

    size: int
    seed: int

    def positions(self, n: int) -> np.ndarray:
        """The drawn positions among n points, in dataset order: `default_rng(seed).choice(n, size, replace=False)`."""
        return np.sort(np.random.default_rng(self.seed).choice(n, min(self.size, n), replace=False))

    def to_json(self) -> dict:
        return {"size": self.size, "seed": self.seed, "draw": "numpy default_rng(seed).choice(n, size, replace=False)"}


@dataclass(frozen=True)
class Variant:
    """How a record's figures were measured: cut at `k`, on a `sample`, re-ranked, without duplicates."""

    k: int | None = None
    sample: Sample | None = None
    rerank: str | None = None  # the re-ranker's name (`evaluation.rerank.RERANKERS`)
    parameters: tuple[tuple[str, float], ...] = ()  # the re-ranker's parameters, in its order
    duplicates_excluded: bool = False

    @classmethod
    def of(cls, k: int | None, sample: Sample | None, stage, duplicates_excluded: bool = False) -> Variant:
        """The variant of figures cut at `k`, on `sample`, re-ranked by `stage` (a `VectorStage`, its settings
        read from its `to_json()`)."""
        rerank = None if stage is None else stage.to_json()
        plain = cls.from_json({"k": k, "sample": None if sample is None else sample.to_json(), "rerank": rerank})
        return replace(plain, duplicates_excluded=duplicates_excluded)

    @property
    def is_full(self) -> bool:
        """The plain full ranking of every point: what the main encoders x datasets table shows."""
        return self == Variant()

    @property
    def slug(self) -> str:
        """The record's file name without .json: 'full', 'at10', 'sample100-seed0', 'dba+aqe-k2-alpha3', or
        several of them joined by '_'."""
        parts = []
        if self.rerank is not None:
            parts.append("-".join([self.rerank, *(f"{name}{value:g}" for name, value in self.parameters)]))
        if self.k is not None:
            parts.append(f"at{self.k}")
        if self.sample is not None:
            parts.append(f"sample{self.sample.size}-seed{self.sample.seed}")
        if self.duplicates_excluded:
            parts.append("no-duplicates")
        return "_".join(parts) or FULL

    @property
    def label(self) -> str:
        """What a table prints beside the figure: 'full', '+dba+aqe (k=2, alpha=3), @10, sample 100 seed 0'."""
        parts = []
        if self.rerank is not None:
            settings = ", ".join(f"{name}={value:g}" for name, value in self.parameters)
            parts.append(f"+{self.rerank}" + (f" ({settings})" if settings else ""))
        if self.k is not None:
            parts.append(f"@{self.k}")
        if self.sample is not None:
            parts.append(f"sample {self.sample.size} seed {self.sample.seed}")
        if self.duplicates_excluded:
            parts.append("duplicates excluded")
        return ", ".join(parts) or FULL

    @property
    def comparable(self) -> tuple:
        """What two records must share to be compared query by query (re-ranking may differ)."""
        return (self.k, self.sample, self.duplicates_excluded)

    @property
    def measured(self) -> str:
        """The comparison group's name: 'full ranking', '@10', 'sample 100 seed 0', ... (re-ranking left out)."""
        plain = Variant(self.k, self.sample, duplicates_excluded=self.duplicates_excluded)
        return "full ranking" if plain.is_full else plain.label

    def to_json(self) -> dict:
        return {
            "slug": self.slug,
            "label": self.label,
            "k": self.k,
            "sample": None if self.sample is None else self.sample.to_json(),
            "rerank": None if self.rerank is None else {"method": self.rerank, **dict(self.parameters)},
            "duplicates_excluded": self.duplicates_excluded,
        }

    @classmethod
    def from_json(cls, data: dict) -> Variant:
        """A variant as `to_json` wrote it (also what older metrics.json records say: k, sample, rerank)."""
        sample = data.get("sample")
        rerank = dict(data.get("rerank") or {})
        method = rerank.pop("method", None)
        parameters = tuple(
            (name, value)
            for name, value in rerank.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        )
        return cls(
            k=data.get("k"),
            sample=Sample(int(sample["size"]), int(sample["seed"])) if sample else None,
            rerank=method,
            parameters=parameters if method else (),
            duplicates_excluded=bool(data.get("duplicates_excluded")),
        )
