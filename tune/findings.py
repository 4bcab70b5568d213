"""What `tune` found: a row per setting, the exact reference, the frontier, the recommendation and its commands.

Memory per point is an estimate in bytes: read from the scratch collection's
files on disk where the engine's files are here (`source` "disk"), else by
Qdrant's formula (`source` "formula": 4 bytes a dimension for the vectors,
2·m links of 4 bytes for the graph's bottom layer, d bytes int8, d/8 binary,
d/4 product x16). `memory` is what must stay in RAM for the measured speed:
the graph plus the quantized copy where there is one (the originals then stay
on disk and are read only to rescore), else the graph plus the vectors.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from errors import EvaluationError
from media.folders import report_folder
from store import CollectionInfo
from store.naming import store_option
from store.types import Quantization
from tune.frontier import Recommendation
from tune.settings_grid import Build, TuneSetting

EXACT = "exact (no index)"
TUNE_FILE = "tune.json"
TUNE_FIGURE = "tune.png"


@dataclass(frozen=True)
class Memory:
    """Bytes a point for each part, where they came from, and the RAM estimate."""

    vectors: float
    index: float
    quantized: float
    source: str  # "disk" or "formula"
    quantized_build: bool = False

    @property
    def ram(self) -> float:
        return self.index + (self.quantized if self.quantized_build else self.vectors)

    @classmethod
    def formula(cls, dim: int, build: Build | None) -> Memory:
        """Qdrant's capacity formula; `build` None: exact search over the vectors alone."""
        if build is None:
            return cls(4.0 * dim, 0.0, 0.0, "formula")
        quantized = {
            Quantization.NONE: 0.0,
            Quantization.INT8: float(dim),
            Quantization.BINARY: dim / 8,
            Quantization.PRODUCT: dim / 4,
        }[build.quantization]
        return cls(4.0 * dim, 8.0 * build.hnsw_m, quantized, "formula", build.quantized)

    def to_json(self) -> dict:
        return {
            "vectors": self.vectors,
            "index": self.index,
            "quantized": self.quantized,
            "ram": self.ram,
            "source": self.source,
        }


@dataclass
class TuneRow:
    """One setting's figures on the same queries as every other row (`setting` None: exact search)."""

    setting: TuneSetting | None
    recall: float
    map_k: float | None  # None: unlabelled points, or no class with two members
    p50_ms: float
    p95_ms: float
    memory: Memory
    build_s: float | None = None
    indexed: int = 0
    frontier: bool = False

    @property
    def label(self) -> str:
        return self.setting.label if self.setting else EXACT

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "setting": self.setting.to_json() if self.setting else None,
            "recall": self.recall,
            "map_k": self.map_k,
            "latency_ms": {"p50": self.p50_ms, "p95": self.p95_ms},
            "memory_bytes_per_point": self.memory.to_json(),
            "build_s": self.build_s,
            "indexed": self.indexed,
            "frontier": self.frontier,
        }


@dataclass
class TuneResult:
    """Everything `tune` measured on one collection; `to_json` is reports/<collection>/tune.json."""

    collection: str
    location: str
    info: CollectionInfo
    k: int
    queries: int
    sample: int | None
    seed: int
    grid: str
    exact: TuneRow
    rows: list[TuneRow]
    recommendation: Recommendation
    server: bool  # the collection is on a server: the update applies there
    timed: int = 0  # the first queries, asked again one at a time for the latency
    seconds: float = 0.0
    command: str = ""
    created: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def recommended(self) -> TuneRow:
        return self.rows[self.recommendation.index]

    def reason(self) -> str:
        r, rec = self.recommended, self.recommendation
        return (
            f"the least memory ({r.memory.ram:.0f} bytes a point) of the {rec.eligible} setting(s) within "
            f"{rec.tolerance:g} of the best recall@{self.k} ({rec.best_quality:.4f}), ties broken by latency: "
            f"recall@{self.k} {r.recall:.4f}, p50 {r.p50_ms:.2f} ms"
        )

    def commands(self) -> list[str]:
        """The commands that apply the recommended setting."""
        return apply_commands(self.info, self.recommended.setting, self.server)

    def to_json(self) -> dict:
        return {
            "kind": "tune",
            "collection": self.collection,
            "location": self.location,
            "points": self.info.points,
            "dim": self.info.dim,
            "distance": self.info.distance,
            "dataset": self.info.dataset,
            "encoder": self.info.encoder,
            "weights": self.info.weights_text(),
            "k": self.k,
            "queries": self.queries,
            "timed_queries": self.timed,
            "sample": self.sample,
            "seed": self.seed,
            "grid": self.grid,
            "server": self.server,
            "memory_source": self.exact.memory.source,
            "exact": self.exact.to_json(),
            "settings": [row.to_json() for row in self.rows],
            "recommended": {**self.recommendation.to_json(), "label": self.recommended.label, "why": self.reason()},
            "apply": self.commands(),
            "notes": self.notes,
            "seconds": self.seconds,
            "command": self.command,
            "created": self.created,
        }


def tune_paths(reports_dir: Path, name: str) -> tuple[Path, Path]:
    """reports/<collection>/tune.json and tune.png: found by the collection's name alone (`report_folder`)."""
    folder = report_folder(reports_dir, name)
    return folder / TUNE_FILE, folder / TUNE_FIGURE


def read_tune(reports_dir: Path, name: str) -> TuneResult | None:
    """The tune record of collection `name` as `tune` wrote it; None where there is none."""
    path = tune_paths(reports_dir, name)[0]
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("kind") != "tune":
            raise ValueError(f'kind {record.get("kind")!r}, not "tune"')
        return _result(record)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise EvaluationError(
            f"{path}: not a tune record ({error}); run `python cli.py tune -c {name}` again to rewrite it"
        ) from None


def _result(record: dict) -> TuneResult:
    info = CollectionInfo(
        record["collection"],
        record["points"],
        record["dim"],
        record.get("distance", ""),
        record["dataset"],
        record["encoder"],
        record["location"],
    )
    recommended = record["recommended"]
    return TuneResult(
        collection=record["collection"],
        location=record["location"],
        info=info,
        k=record["k"],
        queries=record["queries"],
        sample=record["sample"],
        seed=record["seed"],
        grid=record["grid"],
        exact=_row(record["exact"]),
        rows=[_row(row) for row in record["settings"]],
        recommendation=Recommendation(
            recommended["index"], recommended["best_quality"], recommended["tolerance"], recommended["eligible"]
        ),
        server=record.get("server", len(record["apply"]) > 1),  # records before "server": only a server's add more
        timed=record["timed_queries"],
        seconds=record["seconds"],
        command=record["command"],
        created=record["created"],
        notes=list(record["notes"]),
    )


def _row(row: dict) -> TuneRow:
    setting = _setting(row["setting"]) if row["setting"] else None
    memory = row["memory_bytes_per_point"]
    return TuneRow(
        setting,
        row["recall"],
        row["map_k"],
        row["latency_ms"]["p50"],
        row["latency_ms"]["p95"],
        Memory(
            memory["vectors"],
            memory["index"],
            memory["quantized"],
            memory["source"],
            setting is not None and setting.build.quantized,
        ),
        row["build_s"],
        row["indexed"],
        row["frontier"],
    )


def _setting(setting: dict) -> TuneSetting:
    build = Build(setting["hnsw_m"], setting["hnsw_ef_construct"], setting["quantization"])
    return TuneSetting(build, setting["hnsw_ef"], setting["rescore"], setting["oversampling"])


def apply_commands(info: CollectionInfo, setting: TuneSetting, server: bool) -> list[str]:
    """The `collections reindex` that gives the collection `setting` from its own stored vectors (no image
    read again; the embedded store records the query-time settings with it); on a server, where those travel
    with each query, also the search params each query then passes."""
    b = setting.build
    reindex = (
        f"python cli.py collections reindex {shlex.quote(info.name)} {store_option(info.location)} --hnsw-m {b.hnsw_m} "
        f"--hnsw-ef-construct {b.hnsw_ef_construct} --quantization {b.quantization}{' --on-disk' if b.quantized else ''}"
    )
    if not server:
        reindex += f" --hnsw-ef {setting.hnsw_ef}"
        if b.quantized:
            reindex += (
                f" --rescore --oversampling {setting.oversampling or 1:g}" if setting.rescore else " --no-rescore"
            )
        return [reindex]
    params: dict = {"hnsw_ef": setting.hnsw_ef}
    if b.quantized:
        params["quantization"] = {"rescore": bool(setting.rescore), "oversampling": setting.oversampling or 1}
    return [reindex, f'# and in each query: "params": {json.dumps(params)}']
