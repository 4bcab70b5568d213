"""What the pages ask of the library, with the little state a long-running server keeps.

One store and one `Searcher` per process: the encoder of upload and text
queries loads on the first such query, under a lock, so concurrent requests
never build it twice. Collection listings, image roots and evaluation records
are cached and refreshed when the collection's size or a metrics.json changes.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from errors import BusyError, QueryError
from evaluation import QueryRanking, RankingRequest, RunRecord, Variant, compare_records, rank_query, store_records
from evaluation.metrics.comparisons import Ranking
from evaluation.ranking.rerankers import stage_of
from media.images import BadImage, load_rgb
from media.roots import resolve_image_root
from search import CollectionSummary, Query, Searcher, SearchResult, list_collections, summarize
from search.examples import Examples
from search.point_refs import checked_id
from store.provenance import unfinished
from store.serialized import SerializedStore

if TYPE_CHECKING:
    from store import CollectionInfo, VectorStore

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
DECODE_WAIT = 30.0  # seconds an upload waits for a decoding slot before 503
MAX_EXAMPLES = 64  # stored points one "more like these" asks with (their ids travel in the URL)
ROOT_SAMPLE = 3  # stored paths that must all exist under a folder for it to be the image root


@dataclass(frozen=True)
class Options:
    """How the server finds images and reports, and builds encoders (as `search` does)."""

    data_root: Path | None  # where the images moved to; None: each collection's recorded folder
    reports: Path
    device: str = "auto"
    weights: dict[str, str] | None = None
    init: str | None = None  # None: each collection's own (what its provenance recorded)
    allowed_hosts: tuple[str, ...] | None = None  # Host names answered besides the local ones; None: any (library use)
    max_decodes: int = 2  # uploads decoded at once; others wait, then get 503
    access: Callable[[str], None] | None = None  # given a line per request answered (`serve`, unless --quiet)


class Backend:
    """The library calls behind the pages; `open_store` is called once, on first need."""

    def __init__(self, open_store: Callable[[], VectorStore], options: Options) -> None:
        self.options = options
        self._open_store = open_store
        self._store: VectorStore | None = None
        self._opening = threading.Lock()
        self.searcher = Searcher(lambda: self.store, options.device, weights=options.weights, init=options.init)
        self._model_lock = threading.Lock()
        self._decoding = threading.BoundedSemaphore(options.max_decodes)
        self._cache_lock = threading.Lock()
        self._summaries: dict[str, tuple[tuple, CollectionSummary]] = {}
        self._roots: dict[str, Path | None] = {}
        self._reports: tuple[tuple, list[RunRecord], list[str]] | None = None  # files' state, records, skipped

    @property
    def store(self) -> VectorStore:
        with self._opening:
            if self._store is None:
                opened = self._open_store()
                self._store = opened if opened.capabilities.threads else SerializedStore(opened)
            return self._store

    # collections

    def collections(self) -> list[CollectionInfo]:
        return list_collections(self.store)

    def summary(self, name: str) -> CollectionSummary:
        """Class counts and every point in dataset order; read again when the point count changes or the
        collection is written (its provenance's update time: a re-embedded image keeps the count)."""
        info = self.store.info(name)
        state = (info.points, info.provenance.updated if info.provenance else None)
        with self._cache_lock:
            cached = self._summaries.get(name)
        if cached is not None and cached[0] == state:
            return cached[1]
        summary = summarize(self.store, name, samples=info.points)
        with self._cache_lock:
            self._summaries[name] = (state, summary)
        return summary

    def provenance(self, name: str) -> dict:
        """The collection's provenance as facts to show; {} for a collection that recorded none."""
        info = self.store.info(name)
        if info.provenance is None:
            return {}
        problem = unfinished(name, info.provenance)
        return {
            **({"incomplete": problem} if problem else {}),
            "weights": info.weights_text(),
            "model": info.provenance.model_id,
            "image root": info.provenance.image_root,
            "updated": info.provenance.updated,
        }

    def image_root(self, name: str) -> Path | None:
        """The folder the collection's stored paths are relative to: the one place the web app decides it."""
        with self._cache_lock:
            if name in self._roots:
                return self._roots[name]
        summary = self.summary(name)
        paths = [payload.path for _, payload in summary.samples[:ROOT_SAMPLE]]
        recorded = summary.info.provenance.image_root if summary.info.provenance else None
        root = resolve_image_root(recorded, self.options.data_root, summary.info.dataset, paths=paths)
        with self._cache_lock:
            self._roots[name] = root
        return root

    # queries

    def neighbours(self, name: str, point_id: str, limit: int) -> SearchResult:
        """The nearest stored points to a stored point, itself excluded (`search --id`)."""
        return self.searcher.search(Query(name, point_id=point_id, limit=limit))

    def by_examples(self, name: str, examples: Examples, limit: int) -> SearchResult:
        """More like some stored points, less like others (`search --like ID --unlike ID`): ids only, so a
        request never names a file of the server's."""
        if not examples:
            raise QueryError("no point selected: tick some points, then ask for more or less like them")
        for typed in (*examples.like, *examples.unlike):
            checked_id(typed)
        if len(examples.like) + len(examples.unlike) > MAX_EXAMPLES:
            raise QueryError(f"at most {MAX_EXAMPLES} examples at once; select fewer points")
        return self.searcher.search(Query(name, examples=examples, limit=limit))

    def by_text(self, name: str, text: str, limit: int) -> SearchResult:
        if not text.strip():
            raise QueryError("type a text to search for")
        with self._model_lock:
            return self.searcher.search(Query(name, text=text, limit=limit))

    def check_upload(self, data: bytes) -> None:
        """Refuse, before an upload is kept, what is not an image this app reads within the limits."""
        with self._decoded(data):
            pass

    def by_upload(self, name: str, data: bytes, limit: int) -> SearchResult:
        """An uploaded image file as a query: size and pixel limits first, then the same search as `--image`."""
        with self._decoded(data) as path, self._model_lock:
            return self.searcher.search(Query(name, image=path, limit=limit))

    @contextmanager
    def _decoded(self, data: bytes) -> Iterator[Path]:
        """The upload in a temporary file once it is known to decode (size and pixel limits first), with a
        decoding slot held while the block runs."""
        if not data:
            raise QueryError("choose an image file to upload")
        if len(data) > MAX_UPLOAD_BYTES:
            raise QueryError(f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        if not self._decoding.acquire(timeout=DECODE_WAIT):
            raise BusyError(f"{self.options.max_decodes} uploads are being decoded already; retry in a moment")
        try:
            with tempfile.TemporaryDirectory(prefix="upload-") as folder:
                path = Path(folder) / "upload"
                path.write_bytes(data)
                try:
                    load_rgb(path, max_pixels=MAX_UPLOAD_PIXELS)
                except BadImage as error:
                    raise QueryError(
                        f"the upload is not an image this app can read: {_readable(error, path)}"
                    ) from None
                yield path
        finally:
            self._decoding.release()

    # evaluation

    def evaluations(self) -> list[RunRecord]:
        """Every evaluation record of this store's collections (`evaluation.records.run_records`), read again when one changes."""
        reports = self.options.reports
        files = sorted(
            [*reports.glob("*/runs/*.json"), *reports.glob("*/metrics.json"), *reports.glob("*/at*/metrics.json")]
        )
        key = tuple((str(path), _mtime(path)) for path in files)
        with self._cache_lock:
            if self._reports is not None and self._reports[0] == key:
                return self._reports[1]
        skipped: list[str] = []
        records = store_records(reports, self.store.location, set(self.store.collection_names()), skipped=skipped)
        with self._cache_lock:
            self._reports = (key, records, skipped)
        return records

    def skipped_records(self) -> list[str]:
        """Why each record file `evaluations` left out is not valid, one line each (the pages show them)."""
        self.evaluations()
        with self._cache_lock:
            return list(self._reports[2]) if self._reports is not None else []

    def rankings(self) -> list[Ranking]:
        """The orderings, with their paired comparisons, of every record `evaluations` reads, by the evaluation's
        own entry point (the pages show them, computing nothing; no page shows the fused rows' member comparisons,
        so they are not computed)."""
        return compare_records(self.evaluations(), members=False).rankings

    def evaluation(self, name: str, slug: str | None = None) -> RunRecord | None:
        """The record of collection `name` of variant `slug` (None: its full ranking's, else its first), if any.

        A row name of an older link (`paris_dinov2 +dba+aqe`) finds its record too.
        """
        records = [r for r in self.evaluations() if r.collection == name or (slug is None and name in _row_names(r))]
        if slug is not None:
            return next((r for r in records if r.variant.slug == slug), None)
        return min(records, key=lambda r: (r.collection != name, not r.variant.is_full, r.variant.slug), default=None)

    def variants(self, name: str) -> list[RunRecord]:
        """Every record of collection `name`, the full ranking's first."""
        return [r for r in self.evaluations() if r.collection == name]

    def query_ap(self, name: str, point_id: str, slug: str | None = None) -> tuple[str, float, str] | None:
        """(metric, AP, variant) of the stored point in the collection's record of variant `slug` (None: the
        record its evaluation page shows), where recorded."""
        record = self.evaluation(name, slug)
        if record is None or record.ap_per_query.get(point_id) is None:
            return None
        return record.metric.replace("mAP", "AP"), record.ap_per_query[point_id], record.variant.label

    def ranking(self, name: str, point_id: str, variant: Variant | None = None) -> QueryRanking:
        """One query's leave-one-out ranking and figures as `variant` measures them (cut, re-ranked), computed now."""
        self.store.require(name)
        variant = variant or Variant()
        request = RankingRequest(k=variant.k, stage=stage_of(variant), exclude_duplicates=variant.duplicates_excluded)
        return rank_query(self.store, name, checked_id(point_id), request=request)


def _row_names(record: RunRecord) -> tuple[str, ...]:
    """What links have called a record: its row name, and an older release's `collection +method`."""
    older = (f"{record.collection} +{record.variant.rerank}",) if record.variant.rerank else ()
    return (record.name, *older)


def _readable(error: BadImage, path: Path) -> str:
    """Why an upload could not be read, in words for a person: no temporary file name, no decoder's jargon."""
    reason = str(error).replace(f"'{path}'", "").replace(str(path), "").strip(" :")
    if "cannot identify image file" in reason:
        return "its content is not in an image format it reads (JPEG, PNG, GIF, BMP, TIFF, WebP)"
    return reason


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
