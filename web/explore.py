"""What the exploration pages ask of the library: maps, confusion, duplicates, side by side, sorted grids, uploads.

Beside `web.backend.Backend` (which it uses for the store, summaries and
evaluation records), with the state of its own: a lock per collection so
that a map or a confusion is computed once even when requests arrive
together, the last confusion and duplicate pairs of each collection in
memory, and the uploaded
images under their content hash in a scratch folder (`media/scratch.py`) that
lives as long as the server: an upload is checked before it is kept, the
newest KEPT_UPLOADS (KEPT_UPLOAD_BYTES in all) are kept, the oldest going
first, and the folder is removed when the server stops (or, after a kill, by
the next server).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from duplicates import DuplicateOptions, DuplicateReport, WithinPairs, search_within, threshold_for
from errors import QueryError
from evaluation import RankingRequest, rank_all
from evaluation.metrics.confusion import Confusion, confusion
from evaluation.records.variant import FULL
from media.files import write_bytes_atomic
from media.scratch import ScratchFolder
from search import CollectionSummary, SearchResult
from search.point_refs import checked_id
from store import ImagePayload, Points
from web.backend import Backend
from web.layout import LayoutCache, choose_method, compute_layout, content_key
from web.map_worker import PREVIEW, MapAnswer, UmapJob, UmapWorkers

SORTS = ("dataset", "class", "ap", "similar")
UPLOAD_HASH = 64  # hex digits of a sha256
KEPT_UPLOADS = 50  # uploads kept at most (the newest)...
KEPT_UPLOAD_BYTES = 100 * 1024 * 1024  # ...and their bytes at most, the newest always kept


@dataclass(frozen=True)
class Column:
    """One collection's answer to the same stored point: its hits and the point's AP there."""

    collection: str
    encoder: str
    random_weights: bool  # made with random weights: its title says so
    result: SearchResult | None  # None: the point is not in this collection
    ap: tuple[str, float, str] | None  # (metric, AP, variant) in the collection's full leave-one-out record


class Explorer:
    """Maps, confusion, side by side and uploads over one `Backend`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.layouts = LayoutCache(backend.options.reports / ".maps")
        self.umap = UmapWorkers(self.layouts)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._confusions: dict[str, tuple[tuple, Confusion]] = {}
        self._pairs: dict[str, tuple[str, WithinPairs]] = {}  # collection -> (content key, its duplicate pairs)
        self._keys: dict[str, tuple[CollectionSummary, str]] = {}  # collection -> (the summary read, its content key)
        self._datasets: dict[str, str] = {}  # collection -> its dataset
        self._uploads = ScratchFolder("web-uploads-")
        self._kept: OrderedDict[str, int] = OrderedDict()  # digest -> bytes, oldest first
        self._kept_lock = threading.Lock()

    def close(self) -> None:
        """Remove the kept uploads (the server stops)."""
        self._uploads.close()

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    # the map

    def map_answer(self, name: str, asked: str = "auto") -> MapAnswer:
        """The collection's map at once: UMAP when it is cached for this content, else PCA (cached, or computed
        now: under a second at 20,000 points), with UMAP started in the background where `asked` resolves to it.

        The key comes from the collection's summary (ids, labels, image hashes), which the backend reads again
        whenever the collection is written, so a warm request reads no points.
        """
        summary = self.backend.summary(name)
        key = self._content_key(name, summary)
        method, reason = choose_method(asked, len(summary.samples))
        note, pending = reason, False
        if method == "umap":
            umap = self.layouts.read(name, key, "umap")
            if umap is not None:
                return MapAnswer(umap, "UMAP layout (umap-learn, cosine)")
            failed = self.umap.failure(name, key)
            note, pending = (f"PCA layout; UMAP failed: {failed}", False) if failed else (PREVIEW, True)
        points: Points | None = None
        with self._lock(f"map:{name}"):
            layout = self.layouts.read(name, key, "pca")
            if layout is None:
                points = self._vectors(name)
                layout = self.layouts.write(name, compute_layout(points, key, "pca"))
        if pending:  # after the preview is written: starting UMAP never delays it
            read = (lambda: points) if points is not None else (lambda: self._vectors(name))  # never read twice
            self.umap.start(UmapJob(name, key, read, lambda: self._content_key(name)))
        return MapAnswer(layout, note, pending)

    def _vectors(self, name: str) -> Points:
        return self.backend.store.points(name, with_vectors=True)

    def _content_key(self, name: str, summary: CollectionSummary | None = None) -> str:
        """The content key of the collection's summary, computed once per summary the backend reads (the map's poll
        and the duplicates page ask it on every request; at 20,000 points it takes about 40 ms)."""
        summary = summary or self.backend.summary(name)
        known = self._keys.get(name)
        if known is None or known[0] is not summary:
            known = self._keys[name] = (summary, content_key(summary.info, summary.samples))
        return known[1]

    # confusion

    def confusion(self, name: str, k: int) -> Confusion:
        """Top-k confusion of the collection, ranked now and kept until its point count or k changes."""
        store = self.backend.store
        state = (store.info(name).points, k)
        with self._lock(f"confusion:{name}"):
            cached = self._confusions.get(name)
            if cached is not None and cached[0] == state:
                return cached[1]
            found = confusion(rank_all(store, name, RankingRequest(k=k), keep_scores=0))
            self._confusions[name] = (state, found)
            return found

    # duplicates

    def duplicates(self, name: str, asked: float | None) -> DuplicateReport:
        """The collection's duplicate groups at `asked` (None: the encoder's measured threshold). The pairs at the
        lowest threshold searched so far are kept per collection until its content changes (the map's content
        key): a higher threshold filters them in memory, only a lower one (or new content) searches again. Their
        number is bounded: a threshold that joins more than MAX_PAIRS is refused."""
        threshold = threshold_for(self.backend.store.info(name).encoder, asked, collection=name)
        key = self._content_key(name)
        with self._lock(f"duplicates:{name}"):
            cached = self._pairs.get(name)
            if cached is None or cached[0] != key or threshold.value < cached[1].threshold.value:
                found = search_within(self.backend.store, name, DuplicateOptions(threshold=threshold.value))
                self._pairs[name] = cached = (key, found)
        return cached[1].report(threshold)

    # side by side

    def siblings(self, name: str) -> list[str]:
        """The other collections of the same dataset, by name (the same image has the same id in each).

        Each collection's dataset is read once (a name keeps its dataset), so a
        neighbours page asks the store only for the list of names.
        """
        store = self.backend.store
        names = store.collection_names()
        if name not in names:
            store.require(name)  # the one error for a missing collection
        for other in names:
            if other not in self._datasets:
                self._datasets[other] = store.info(other).dataset
        return sorted(n for n in names if n != name and self._datasets[n] == self._datasets[name])

    def columns(self, names: list[str], point_id: str, k: int) -> list[Column]:
        """The stored point's neighbours in each collection of `names`, with its AP there."""
        pid = checked_id(point_id)
        columns = []
        for name in names:
            info = self.backend.store.info(name)
            present = self.backend.store.payload(name, pid) is not None
            result = self.backend.neighbours(name, pid, k) if present else None
            ap = self.backend.query_ap(name, pid, FULL) if present else None
            columns.append(Column(name, info.encoder, info.random_weights, result, ap))
        return columns

    # the grid

    def sorted_points(
        self, name: str, sort: str, to: str | None = None
    ) -> tuple[list[tuple[str, ImagePayload]], dict[str, float | None]]:
        """The collection's points in the order `sort` names, and each point's AP in the collection's full
        leave-one-out record (`evaluation.records.run_records`), where recorded.

        "class": by (first) label, then dataset order; "ap": worst recorded AP
        first, unrecorded last; "similar": the point `to` first, then the rest
        by the cosine of their stored vectors to its (its neighbours, all of
        them: no labels needed); else dataset order.
        """
        if sort not in SORTS:
            raise QueryError(f"unknown sort '{sort}'; choose one of {', '.join(SORTS)}")
        points = self.backend.summary(name).samples
        record = self.backend.evaluation(name, FULL)
        aps = record.ap_per_query if record is not None else {}
        if sort == "class":
            points = sorted(points, key=lambda point: str(point[1].label))
        elif sort == "ap":
            points = sorted(points, key=lambda point: (aps.get(point[0]) is None, aps.get(point[0]) or 0.0))
        elif sort == "similar":
            if not to:
                raise QueryError("choose the point to sort by: its neighbours page links here")
            found = self.backend.neighbours(name, to, max(1, len(points) - 1))
            position = {hit.id: rank for rank, hit in enumerate(found.hits, start=1)}
            position[found.source_id] = 0
            points = sorted(points, key=lambda point: position.get(point[0], len(position)))
        return points, aps

    # uploads

    def keep_upload(self, data: bytes) -> str:
        """Keep an uploaded image under its sha256 once it is known to be one this app reads, the oldest kept
        ones removed past KEPT_UPLOADS or KEPT_UPLOAD_BYTES; returns the hash."""
        self.backend.check_upload(data)
        digest = hashlib.sha256(data).hexdigest()
        with self._kept_lock:
            file = self.upload_path(digest)
            if not file.is_file():
                write_bytes_atomic(file, data)
            self._kept.pop(digest, None)
            self._kept[digest] = len(data)
            while len(self._kept) > 1 and (
                len(self._kept) > KEPT_UPLOADS or sum(self._kept.values()) > KEPT_UPLOAD_BYTES
            ):
                oldest, _ = self._kept.popitem(last=False)
                self.upload_path(oldest).unlink(missing_ok=True)
        return digest

    def upload_path(self, digest: str) -> Path:
        if len(digest) != UPLOAD_HASH or any(c not in "0123456789abcdef" for c in digest):
            raise QueryError(f"'{digest}' is not an upload's hash")
        return self._uploads.path / digest

    def upload(self, digest: str) -> bytes:
        """The kept upload; a readable error when this server never received it (or was restarted since)."""
        file = self.upload_path(digest)
        if not file.is_file():
            raise QueryError(
                "this upload is not on this server any more (it keeps the newest uploads until it stops): upload "
                "it again"
            )
        return file.read_bytes()

    def forget_upload(self, digest: str) -> None:
        with self._kept_lock:
            self._kept.pop(digest, None)
            self.upload_path(digest).unlink(missing_ok=True)


def dashboard_url(location: str, name: str) -> str | None:
    """The Qdrant dashboard's page of collection `name` when the store is a server (`location` an http URL)."""
    if not location.startswith(("http://", "https://")):
        return None
    return f"{location.rstrip('/')}/dashboard#/collections/{name}"
