"""How `eval` evaluates: one typed record that travels from the command line into `evaluate_collections`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evaluation.formats.trec_export import TrecExport
from evaluation.metrics.named_metrics import NamedMetric
from evaluation.metrics.text_figures import DEFAULT_TEMPLATE
from evaluation.query_encoders import QueryEncoders
from evaluation.ranking.request import Method, RankingRequest, VectorStage
from evaluation.records.variant import Sample


@dataclass(frozen=True)
class BesideOptions:
    """What `eval` measures beside leave-one-out: text queries (`eval --text-queries --template`) and fused
    member lists (`eval --fuse A,B --fusion`), each fused with every rule in `fusions`."""

    text_queries: bool = False
    templates: tuple[str, ...] = (DEFAULT_TEMPLATE,)
    fuse: tuple[tuple[str, ...], ...] = ()
    fusions: tuple[str, ...] = ("rrf", "sum")
    rrf_k: int = 60

    @property
    def members(self) -> list[str]:
        """Every collection a fusion needs, once, in order."""
        return list(dict.fromkeys(name for members in self.fuse for name in members))


@dataclass(frozen=True)
class EvalOptions:
    """The options of one evaluation of one or more collections.

    `k` cuts each ranking at k (AP@k); `sample` ranks only a seeded share of the
    points as queries; `rerank` also evaluates re-ranked figures as their own
    record; `exclude_duplicates` also records the figures with near-duplicates
    reduced to one point. `explicit` (collections named by the user) makes a
    collection that cannot be evaluated an error instead of a skip. `data_root`
    is where the images moved to; `command` is recorded with every record.
    `beside` adds text-to-image and fused figures, records of their own kind.
    `encoders` builds the query encoders the text and Revisited protocols need,
    and orders the study table (handed in by the command: evaluation never
    imports `encoders`). `metrics` are measured beside mAP, P@k and R-precision and stored under their names
    (`eval --metric ndcg@10`). `trec` writes each record's run and each collection's qrels (`eval --trec DIR`); `run` is another system's
    run file scored on the collection's queries as a row of its own (`eval --run FILE`).
    """

    k: int | None = None
    sample: Sample | None = None
    rerank: VectorStage | None = None
    exclude_duplicates: bool = False
    method: Method = Method.AUTO
    data_root: Path | None = None
    explicit: bool = True
    command: str = ""
    embedded_limit: int | None = None  # points past which a note is due (None: the engine's own limit)
    beside: BesideOptions | None = None
    encoders: QueryEncoders = QueryEncoders()
    metrics: tuple[NamedMetric, ...] = ()
    trec: TrecExport | None = None
    run: Path | None = None  # a TREC run made elsewhere, scored against the one collection's ground truth

    def ranking(self, stage: VectorStage | None = None) -> RankingRequest:
        """The ranking these options ask for, re-ranked by `stage` (`rerank` or none: both are evaluated)."""
        return RankingRequest(
            k=self.k, method=self.method, stage=stage, exclude_duplicates=self.exclude_duplicates, sample=self.sample
        )
