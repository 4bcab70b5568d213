"""What an evaluation measured, beside which collection: the full ranking, a cut, a sample, a re-ranking.

A `Variant` names one kind of figure of a collection. Its `slug` names the
record file (reports/<collection>/runs/<slug>.json) so that records of
different variants never overwrite each other, and its `label` is what every
table prints beside the figure. `comparable` is what two records must share to
be compared query by query: the same metric (mAP or mAP@k) over the same
queries (all points, or the same seeded sample, duplicates kept or not); a
re-ranked row is compared with the plain rows measured the same way.

Its `kind` says what the queries were: each stored point against the others
(leave-one-out, the default), each class label as a text query
(text-to-image: compared only with other text-to-image rows, whose queries
are the classes), or each point against the others by several collections'
rankings fused (`fusion`: 'rrf' with its constant, or 'sum'; compared with
the leave-one-out rows measured the same way, on the same point ids), or a
run made by another system (`run`, named by the run file's tag: `eval --run`;
its rankings scored against the collection's leave-one-out ground truth and
compared with the collection's full rows on the same point ids).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from media.folders import safe_name

FULL = "full"
LEAVE_ONE_OUT = "leave-one-out"
TEXT_TO_IMAGE = "text-to-image"
FUSED = "fused"
EXTERNAL_RUN = "run"
KIND_LABELS = {TEXT_TO_IMAGE: "text->image", FUSED: "fused", EXTERNAL_RUN: "run"}


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
    rerank: str | None = None  # the re-ranker's name (`evaluation.ranking.rerankers.RERANKERS`)
    parameters: tuple[tuple[str, float], ...] = ()  # the re-ranker's parameters, in its order
    duplicates_excluded: bool = False
    kind: str = LEAVE_ONE_OUT
    fusion: tuple[str, int | None] | None = None  # a fused kind's rule: ('rrf', k) or ('sum', None)
    run_tag: str | None = None  # an external run's tag (kind 'run')

    @classmethod
    def of(
        cls,
        k: int | None,
        sample: Sample | None,
        stage,
        *,
        duplicates_excluded: bool = False,
        run_tag: str | None = None,
    ) -> Variant:
        """The variant of figures cut at `k`, on `sample`, re-ranked by `stage` (a `VectorStage`, its settings
        read from its `to_json()`), or of the external run tagged `run_tag`."""
        rerank = None if stage is None else stage.to_json()
        plain = cls.from_json({"k": k, "sample": None if sample is None else sample.to_json(), "rerank": rerank})
        if run_tag is not None:
            plain = replace(plain, kind=EXTERNAL_RUN, run_tag=run_tag)
        return replace(plain, duplicates_excluded=duplicates_excluded)

    @property
    def is_full(self) -> bool:
        """The plain full ranking of every point: what the main encoders x datasets table shows."""
        return self == Variant()

    @property
    def slug(self) -> str:
        """The record's file name without .json: 'full', 'at10', 'sample100-seed0', 'dba+aqe-k2-alpha3', or
        several of them joined by '_'."""
        parts = [] if self.kind == LEAVE_ONE_OUT else [self.kind + self._fusion_text("-", "-k") + self._tag("-")]
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
        parts = (
            []
            if self.kind == LEAVE_ONE_OUT
            else [KIND_LABELS[self.kind] + self._fusion_text(" ", " (k=", ")") + self._tag(" ")]
        )
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

    def _tag(self, before: str) -> str:
        """An external run's tag as a slug or label part ('-bm25', ' bm25'); '' for other kinds."""
        if self.run_tag is None:
            return ""
        return before + (safe_name(self.run_tag) if before == "-" else self.run_tag)

    def _fusion_text(self, before: str, before_k: str, after_k: str = "") -> str:
        """The fusion rule as a slug or label part ('-rrf-k60', ' rrf (k=60)'); '' for other kinds."""
        if self.fusion is None:
            return ""
        method, k = self.fusion
        return before + method + ("" if k is None else f"{before_k}{k}{after_k}")

    @property
    def comparable(self) -> tuple:
        """What two records must share to be compared query by query (re-ranking and fusion may differ;
        text-to-image rows, whose queries are classes, only with each other)."""
        return (self.kind == TEXT_TO_IMAGE, self.k, self.sample, self.duplicates_excluded)

    @property
    def measured(self) -> str:
        """The comparison group's name: 'full ranking', '@10', 'sample 100 seed 0', 'text->image', ...
        (re-ranking and fusion left out)."""
        plain = Variant(self.k, self.sample, duplicates_excluded=self.duplicates_excluded)
        shown = "full ranking" if plain.is_full else plain.label
        return f"{KIND_LABELS[TEXT_TO_IMAGE]}, {shown}" if self.kind == TEXT_TO_IMAGE else shown

    def to_json(self) -> dict:
        return {
            "slug": self.slug,
            "label": self.label,
            "k": self.k,
            "sample": None if self.sample is None else self.sample.to_json(),
            "rerank": None if self.rerank is None else {"method": self.rerank, **dict(self.parameters)},
            "duplicates_excluded": self.duplicates_excluded,
            "kind": self.kind,
            "fusion": None if self.fusion is None else {"method": self.fusion[0], "k": self.fusion[1]},
            "run_tag": self.run_tag,
        }

    @classmethod
    def from_json(cls, data: dict) -> Variant:
        """A variant as `to_json` wrote it (also what older metrics.json records say: k, sample, rerank;
        those are leave-one-out)."""
        sample = data.get("sample")
        rerank = dict(data.get("rerank") or {})
        method = rerank.pop("method", None)
        parameters = tuple(
            (name, value)
            for name, value in rerank.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        )
        fusion = data.get("fusion") if data.get("kind") == FUSED else None
        return cls(
            kind=str(data.get("kind") or LEAVE_ONE_OUT),
            fusion=(str(fusion["method"]), fusion.get("k")) if isinstance(fusion, dict) else None,
            run_tag=str(data["run_tag"]) if data.get("kind") == EXTERNAL_RUN and data.get("run_tag") else None,
            k=data.get("k"),
            sample=Sample(int(sample["size"]), int(sample["seed"])) if sample else None,
            rerank=method,
            parameters=parameters if method else (),
            duplicates_excluded=bool(data.get("duplicates_excluded")),
        )
