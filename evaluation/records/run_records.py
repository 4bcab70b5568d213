"""Evaluation records: one immutable file per (collection, variant), and the one reader of them.

`eval` writes reports/<collection>/runs/<variant slug>.json (`full.json`,
`at10.json`, `sample100-seed0.json`, `dba+aqe-k2-alpha3.json`, ...): the
collection, the variant, the store (its location, never a secret), the
provenance the evaluation saw, the command, the time, every figure and the AP of
each query by point id, with `SCHEMA`. A record of one variant never touches
another's; a rerun of the same variant replaces its file atomically (written
aside in the same folder, then renamed), so a write cut short leaves the
previous record whole and a half-written temporary file is never read.

`read_records` is the only reader: the terminal, reports/index.html and the web
app all take `RunRecord`s from it (and `read_protocol_records` the records of
the revisited Oxford/Paris protocol, still reports/<collection>/metrics.json). A record's variant names its kind (`Variant.kind`): leave-one-out, text-to-image
(reports/<collection>/runs/text-to-image.json: the collection's class labels as text
queries) or fused (reports/<A>+<B>/runs/fused-rrf-k60.json: the collections it fuses are
its `sources`). A leave-one-out ranked here also holds `score_precision`, the
table of cosine score against precision (`evaluation.metrics.score_precision`);
records written before it have none and read as before. Records written by older releases
(reports/<folder>/metrics.json and <folder>/at<k>/metrics.json) are read too,
as the variant their fields say, unless a newer record of the same variant
exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.metrics.score_precision import ScorePrecision, score_table_problem
from evaluation.records.variant import LEAVE_ONE_OUT, Variant
from media.files import write_text_atomic
from media.folders import report_folder
from store.provenance import random_marked

SCHEMA = 1
RUNS = "runs"
LEGACY_FILE = "metrics.json"
REQUIRED = {"collection", "dataset", "encoder", "map"}


@dataclass(frozen=True)
class RunRecord:
    """One evaluation of one collection as recorded: what every table and page draws from."""

    collection: str
    variant: Variant
    dataset: str
    encoder: str
    store: str
    metric: str
    map: float | None
    random_weights: bool
    ap_per_query: dict[str, float | None]
    folder: str  # where its figures are, relative to the reports folder
    data: dict = field(repr=False)  # the whole record, for the pages that show every figure
    legacy: bool = False  # read from an older metrics.json
    sources: tuple[str, ...] = ()  # the store's collections it was computed from (a fused record's members)

    @property
    def name(self) -> str:
        """The collection, followed by the variant unless it is the full ranking."""
        return self.collection if self.variant.is_full else f"{self.collection} {self.variant.label}"

    @property
    def title(self) -> str:
        """The name, marked when the vectors come from random weights (never a result)."""
        return random_marked(self.name, self.random_weights)

    @property
    def interval(self) -> tuple[float | None, float | None]:
        bounds = self.data.get("map_interval") or {}
        return bounds.get("low"), bounds.get("high")

    @property
    def queries(self) -> int:
        return int(self.data.get("queries") or len(self.ap_per_query))

    @property
    def points(self) -> int:
        return int(self.data.get("points") or 0)

    @property
    def score_precision(self) -> ScorePrecision | None:
        """The table of score against precision, where the evaluation measured one (older records: none)."""
        table = self.data.get("score_precision")
        return None if table is None else ScorePrecision.from_json(table)

    @property
    def kind(self) -> str:
        """'leave-one-out', 'text-to-image' or 'fused' (`evaluation.records.variant`)."""
        return self.variant.kind

    def to_json(self) -> dict:
        return self.data

    @classmethod
    def parse(cls, data: dict, folder: str, legacy: bool = False) -> RunRecord:
        """A record from its JSON; older metrics.json named a re-ranked row's collection 'name +method'."""
        collection = str(data.get("source_collection") or data["collection"])
        variant = (
            Variant.from_json(data["variant"]) if isinstance(data.get("variant"), dict) else Variant.from_json(data)
        )
        record = cls(
            collection=collection,
            variant=variant,
            dataset=str(data["dataset"]),
            encoder=str(data["encoder"]),
            store=str(data.get("store", "")),
            metric=str(data.get("metric", "mAP")),
            map=data["map"],
            random_weights=bool(data.get("random_weights")),
            ap_per_query=dict(data.get("ap_per_query") or {}),
            folder=folder,
            data=data,
            legacy=legacy,
            sources=tuple(str(name) for name in data.get("members") or [collection]),
        )
        data.update({"collection": collection, "name": record.name, "folder": folder, "variant": variant.to_json()})
        return record


def record_path(collection_folder: Path, variant: Variant) -> Path:
    """reports/<collection>/runs/<slug>.json."""
    return collection_folder / RUNS / f"{variant.slug}.json"


def write_record(collection_folder: Path, variant: Variant, record: dict) -> Path:
    """Write `record` as the one record of `variant`, replacing only that variant's file, atomically."""
    path = record_path(collection_folder, variant)
    write_text_atomic(path, json.dumps({"schema": SCHEMA, **record}, indent=2, ensure_ascii=False))
    return path


def read_records(reports_dir: Path, *, skipped: list[str] | None = None) -> list[RunRecord]:
    """Every valid record under `reports_dir`, newer ones first replacing older metrics.json of the
    same (store, collection, variant); in a stable order (by folder, then variant). A record that does not
    parse or fails `record_problem` is left out, and named in `skipped` (one line each) when it is given."""
    found: dict[tuple[str, str, str], RunRecord] = {}
    for path in sorted(reports_dir.glob(f"*/{RUNS}/*.json")):
        record = _read(path, path.parent.parent.relative_to(reports_dir).as_posix(), skipped=skipped)
        if record is not None:
            found[record.store, record.collection, record.variant.slug] = record
    legacy = [*reports_dir.glob(f"*/{LEGACY_FILE}"), *reports_dir.glob(f"*/at*/{LEGACY_FILE}")]
    for path in sorted(legacy):
        record = _read(path, path.parent.relative_to(reports_dir).as_posix(), legacy=True, skipped=skipped)
        if record is not None:
            found.setdefault((record.store, record.collection, record.variant.slug), record)
    return sorted(found.values(), key=lambda r: (r.collection, not r.variant.is_full, r.variant.slug))


def read_record(path: Path, reports_dir: Path) -> RunRecord:
    """The record `write_record` wrote at `path` (reports/<collection>/runs/<slug>.json)."""
    why: list[str] = []
    record = _read(path, path.parent.parent.relative_to(reports_dir).as_posix(), skipped=why)
    if record is None:
        raise ValueError(why[0] if why else f"{path} is not an evaluation record")
    return record


def store_records(
    reports_dir: Path, location: str, collections: set[str], *, skipped: list[str] | None = None
) -> list[RunRecord]:
    """The records of `location`'s collections that still exist (every source of a fused record): nothing from
    other stores or dropped ones. `skipped`: as `read_records`."""
    records = read_records(reports_dir, skipped=skipped)
    return [r for r in records if r.store == location and set(r.sources) <= collections]


@dataclass(frozen=True)
class ScoreSource:
    """The record a collection's table of score against precision is read from, and its file."""

    record: RunRecord
    path: Path
    table: ScorePrecision


def score_source(reports_dir: Path, location: str, collection: str) -> ScoreSource | None:
    """Where `search` reads what a score means on `collection` of `location`: its full ranking's record, else
    the first other leave-one-out record of it that measured the table; None when none has one. Only the
    collection's own records are read (reports/<collection>/runs/)."""
    folder = report_folder(reports_dir, collection)
    paths = sorted((folder / RUNS).glob("*.json"), key=lambda path: (path.stem != Variant().slug, path.name))
    for path in paths:
        record = _read(path, folder.name)
        if record is None or record.store != location or record.collection != collection:
            continue
        table = record.score_precision if record.kind == LEAVE_ONE_OUT and record.variant.rerank is None else None
        if table is not None:
            return ScoreSource(record, path, table)
    return None


def read_protocol_records(reports_dir: Path, protocol: str, location: str, *, collections: set[str]) -> list[dict]:
    """The reports/<collection>/metrics.json records of another protocol (`protocol`: e.g. the revisited
    Oxford/Paris one, which has no leave-one-out `map`) of `location`'s collections that still exist."""
    found = []
    for path in sorted(reports_dir.glob(f"*/{LEGACY_FILE}")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("protocol") == protocol and record.get("store") == location:
            if record.get("collection") in collections:
                found.append(record)
    return found


def _read(
    path: Path, collection_folder: str, *, legacy: bool = False, skipped: list[str] | None = None
) -> RunRecord | None:
    """The record in `path`, or None when it does not parse or is not valid (named in `skipped`). A legacy
    metrics.json without a `map` is another protocol's record, not a bad one."""
    problem = None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        data, problem = None, error.strerror or str(error)
    except ValueError as error:
        data, problem = None, f"it does not parse: {error}"
    if isinstance(data, dict) and legacy and "map" not in data:
        return None
    if problem is None:
        problem = record_problem(data)
    if problem is None:
        folder = collection_folder
        if not legacy and path.stem != "full":
            folder = f"{collection_folder}/{path.stem}"
        try:
            return RunRecord.parse(data, folder, legacy)
        except (KeyError, TypeError, ValueError) as error:
            problem = f"its variant cannot be read ({type(error).__name__}: {error})"
    if skipped is not None:
        skipped.append(f"{path} is skipped, it is not a valid evaluation record: {problem}; evaluate its collection "
                       f"again to replace it")  # fmt: skip
    return None


def record_problem(data: object) -> str | None:
    """What makes `data` no evaluation record this release can show (the first thing found), or None: the keys
    every record has, the schema version, and the type and length of every figure the tables and pages draw."""
    if not isinstance(data, dict):
        return f"it holds a JSON {type(data).__name__}, not an object"
    missing = sorted(REQUIRED - data.keys())
    if missing:
        return f"it lacks {', '.join(missing)}"
    schema = data.get("schema", SCHEMA)  # records of older releases say none
    if not _integer(schema):
        return f"'schema' is {schema!r:.60}"
    if schema > SCHEMA:
        return f"its schema {schema} is newer than this release reads ({SCHEMA}); upgrade the tool"
    for key in ("collection", "dataset", "encoder"):
        if not isinstance(data[key], str):
            return f"'{key}' is {data[key]!r:.60}"
    for key, check in (("map", _figure), ("r_precision", _figure), ("points", _integer), ("queries", _integer)):
        if data.get(key) is not None and not check(data[key]):
            return f"'{key}' is {data[key]!r:.60}"
    for key in ("ap_per_query", "precision_at", "per_class_ap", "map_interval"):
        figures = data.get(key) or {}
        if not isinstance(figures, dict):
            return f"'{key}' is not an object"
        if key == "map_interval":
            figures = {bound: figures.get(bound) for bound in ("low", "high")}
        bad = next((k for k, v in figures.items() if v is not None and not _figure(v)), None)
        if bad is not None:
            return f"'{key}' of {bad!r:.60} is {figures[bad]!r:.60}"
    table = data.get("score_precision")
    problem = _curve_problem(data.get("pr_curve")) or _gallery_problem(data)
    return problem or (None if table is None else score_table_problem(table))


def _curve_problem(curve: object) -> str | None:
    if curve is None:
        return None
    if not isinstance(curve, dict):
        return "'pr_curve' is not an object"
    recall, precision = curve.get("recall"), curve.get("precision")
    if not all(isinstance(c, list) and all(v is None or _figure(v) for v in c) for c in (recall, precision)):
        return "'pr_curve' holds something other than two lists of numbers"
    if len(recall) != len(precision):
        return f"'pr_curve' has {len(recall)} recall levels and {len(precision)} precisions"
    return None


def _gallery_problem(data: dict) -> str | None:
    for key in ("best", "worst"):
        rows = data.get(key) or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) and _figure(r.get("ap", 0)) for r in rows):
            return f"'{key}' is not a list of queries with their AP"
    return None


def _figure(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
