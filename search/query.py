"""Ad-hoc queries against one collection: by image file, text, stored id or stored path.

Only what a query needs is loaded, and only once per `Searcher`: a stored-point
query loads no model (torch is never imported), a text query loads only the
text tower. The collection's encoder is read from its points' `encoder`
payload; the name `<dataset>_<encoder>` only serves to start embedding early,
and a query embedded with another encoder than the payload's is never used.
A query is embedded in the precision the collection records (fp32 or bf16),
taken from its provenance rather than asked for: one `Searcher` (the web app's
too) then serves collections of both, and a query is never made otherwise
than the points it is compared with.
"""

from __future__ import annotations

import difflib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from encoders import SPECS, BuildSettings, Encoder, build_encoder, build_text_encoder, get_spec
from encoders.interface import resolve_device
from encoders.precision import precision_problem
from errors import QueryError
from media.roots import image_root_candidates, looked_in, resolve_image_root
from search.embedding import EmbedAhead, Embedded, can_fork, embed_query
from search.examples import Example, Examples, Lookup, resolve
from store.example_query import Diversity, ExampleQuery
from store.provenance import no_labels, unfinished

if TYPE_CHECKING:
    from store import CollectionInfo, Hit, ImagePayload, VectorStore


@dataclass(frozen=True)
class Query:
    """One question: exactly one of `image`, `text`, `point_id`, `path`; or `examples` (more like these,
    less like those), which a `text` joins as one more positive example.

    `diversity` re-orders a nearest query by MMR and `min_score` drops hits scoring below it (for every
    kind); both go to the store's query by examples (`store/example_query.py`)."""

    collection: str
    image: Path | None = None
    text: str | None = None
    point_id: str | None = None
    path: str | None = None
    limit: int = 10
    label: str | None = None  # only hits with this label among their labels, case ignored
    examples: Examples = Examples()
    diversity: Diversity | None = None
    min_score: float | None = None

    @property
    def kind(self) -> str:
        """'image', 'text', 'id', 'path' or 'examples'."""
        given = [kind for kind, value in self._values() if value is not None]
        if self.examples:
            if set(given) - {"text"}:
                raise QueryError(
                    "with --like/--unlike, give every example there (--like FILE for --image, --like ID or PATH "
                    "for --id and --path); only --text joins them"
                )
            if self.text is not None and not self.text.strip():
                raise QueryError('the text to search for is empty; type one (--text "a red bus")')
            return "examples"
        if len(given) != 1:
            raise QueryError("give exactly one of --image, --text, --id, --path")
        if given[0] == "text" and not str(self.text).strip():
            raise QueryError('the text to search for is empty; type one (--text "a red bus")')
        return given[0]

    @property
    def value(self) -> str:
        if self.kind == "examples":
            return self.examples.describe() + ("" if self.text is None else f"; text {self.text}")
        return str(dict(self._values())[self.kind])

    @property
    def refined(self) -> bool:
        """Whether the store's query by examples answers it (examples, MMR or a score threshold)."""
        return bool(self.examples) or self.diversity is not None or self.min_score is not None

    def _values(self) -> list[tuple[str, Any]]:
        return [("image", self.image), ("text", self.text), ("id", self.point_id), ("path", self.path)]


@dataclass
class SearchResult:
    """The hits, best first, with what was asked and where the time went."""

    query: Query
    info: CollectionInfo
    hits: list[Hit]
    source_id: str | None = None  # the stored point of an id or path query
    source: ImagePayload | None = None  # and its payload
    load_seconds: float = 0.0  # loading the model (0 without one, or with one loaded already)
    encode_seconds: float = 0.0  # decode, preprocess and embed (0 without a model)
    store_seconds: float = 0.0
    embedded_ahead: bool = False  # the query vector came from the forked child (see search/embedding.py)
    image_root: Path | None = None  # the folder the hits' paths are relative to, where found
    looked_in: str = ""  # where that folder was looked for (`media.roots.looked_in`)
    examples: list[Example] = field(default_factory=list)  # the --like/--unlike examples as found

    @property
    def recommended(self) -> bool:
        """Whether Qdrant's recommend query ranked the hits (several examples, or an --unlike one)."""
        positives = len(self.query.examples.like) + (self.query.text is not None)
        return bool(self.query.examples) and (positives != 1 or bool(self.query.examples.unlike))

    @property
    def unmeasured(self) -> str | None:
        """Why the collection's table of score against precision (image-to-image cosines of unfiltered
        leave-one-out hits) does not read these scores; None where it does."""
        if self.recommended:
            return "a recommend score is not a cosine"
        if self.query.text is not None:
            return "a text query's scores are text-to-image cosines, on another scale than eval's image-to-image table"
        if self.query.label is not None:
            return "eval's table was measured without a label filter, and every hit here has the label asked"
        return None

    def hit_files(self) -> list[str]:
        """The hits' files: absolute where the image folder is known, else the stored relative paths."""
        return [str(self.image_root / hit.path) if self.image_root else hit.path for hit in self.hits]

    def to_json(self) -> dict:
        """Plain data for `--format json`."""
        return {
            "collection": self.info.name,
            "dataset": self.info.dataset,
            "encoder": self.info.encoder,
            "weights": self.info.weights_text(),
            "random_weights": self.info.random_weights,
            "image_root": str(self.image_root) if self.image_root else None,
            "query": {
                "kind": self.query.kind,
                "value": self.query.value,
                "id": self.source_id,
                "label": self.source.label if self.source else None,
            },
            "examples": [example.to_json() for example in self.examples],
            "strategy": str(self.query.examples.strategy) if self.query.examples else None,
            "diversity": None if self.query.diversity is None else self.query.diversity.diversity,
            "min_score": self.query.min_score,
            "label_filter": None
            if self.query.label is None
            else {"label": self.query.label, "matches": "any of a point's labels, case ignored"},
            "hits": [
                {"rank": rank, **hit.to_json(), "file": file}
                for rank, (hit, file) in enumerate(zip(self.hits, self.hit_files(), strict=True), start=1)
            ],
            "seconds": {"load": self.load_seconds, "encode": self.encode_seconds, "store": self.store_seconds},
            "embedded_ahead": self.embedded_ahead,
        }


class Searcher:
    """Answers queries on one store; each model loads on first need and stays loaded.

    With `embed_ahead` (one-shot CLI queries), an image or text query is embedded
    in a forked child while this process opens the store (see search/embedding.py).
    """

    def __init__(
        self,
        open_store: Callable[[], VectorStore],
        device: str = "auto",
        *,
        weights: dict[str, str] | None = None,
        init: str | None = None,
        embed_ahead: bool = False,
        data_root: Path | None = None,
    ) -> None:
        self._open_store = open_store
        self.data_root = data_root  # where to find the images when they moved from the recorded folder
        self._store: VectorStore | None = None
        self.device = device
        self.weights = weights or {}
        self.init = init  # None: each collection's own (random weights where it recorded them, else pretrained)
        self.embed_ahead = embed_ahead
        self._models: dict[tuple[str, bool, str, str], Encoder] = {}  # (encoder, text only, precision, init)
        self._labels: dict[str, tuple[int, list[str]]] = {}  # collection -> (points, its labels) for --label

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def search(self, query: Query) -> SearchResult:
        """The `query.limit` nearest points, best first; a stored query point is never a hit."""
        kind = query.kind
        if kind == "image" and not query.image.is_file():
            raise QueryError(f"image file '{query.image}' does not exist")
        ahead = self._start_ahead(query) if kind in ("image", "text") else None
        try:
            info = self.store.info(query.collection)
            problem = unfinished(info.name, info.provenance)
            if problem is not None:
                raise QueryError(problem)
            if query.label is not None:  # checked against the store before any model loads
                _one_order(query, info, self._spellings(info, query.label))
            if kind in ("id", "path"):
                return self._by_point(query, info)
            if kind == "examples":
                return self._by_examples(query, info)
            precision, init = self._query_settings(info, text_only=kind == "text")
            embedded_ahead = ahead is not None and (ahead.encoder, ahead.precision, ahead.init) == (
                info.encoder,
                precision,
                init,
            )
            if embedded_ahead:
                embedded = ahead.result()
            else:
                encoder, loaded = self._encoder(info.encoder, text_only=kind == "text", precision=precision, init=init)
                embedded = replace(embed_query(encoder, query), load_seconds=loaded)
        finally:
            if ahead is not None:
                ahead.cancel()
        _check_same_weights(info, embedded)
        result = self._query(query, info, (embedded.vector,), encode_seconds=embedded.seconds)
        result.embedded_ahead, result.load_seconds = embedded_ahead, embedded.load_seconds
        return result

    def _start_ahead(self, query: Query) -> EmbedAhead | None:
        """Embed in a child with the encoder the name `<dataset>_<encoder>` points to, if any."""
        guess = query.collection.rsplit("_", 1)[-1]
        if guess not in SPECS or (query.kind == "text" and not SPECS[guess].text):
            return None
        if not (self.embed_ahead and can_fork()):
            return None
        # fp32: the collection is not read yet: the child embeds as nearly every one was made
        settings = BuildSettings(self.device, self.weights.get(guess), self.init or "pretrained", "fp32")
        return EmbedAhead(guess, query, settings)

    def _by_point(self, query: Query, info: CollectionInfo) -> SearchResult:
        if query.kind == "path":
            forms = stored_forms(query.path, self._image_roots(info))
            point = next(filter(None, (self.store.find_by_path(info.name, form) for form in forms)), None)
            if point is None:
                raise QueryError(
                    f"no point in '{info.name}' has path '{query.path}' "
                    f"(give it as stored, relative to the dataset's image folder, or as the file's path)"
                )
        else:
            point = checked_id(query.point_id)
        payload = self.store.payload(info.name, point)
        if payload is None:
            raise QueryError(f"no point in '{info.name}' has id '{point}'")
        result = self._query(query, info, (point,))
        result.source_id, result.source = point, payload
        return result

    def _image_roots(self, info: CollectionInfo) -> list[Path]:
        """Where a collection's images may be: its recorded folder, then the folders under --data-root."""
        recorded = info.provenance.image_root if info.provenance else None
        return image_root_candidates(recorded, self.data_root, info.dataset)

    def _by_examples(self, query: Query, info: CollectionInfo) -> SearchResult:
        """More like the --like examples, less like the --unlike ones: stored points by id, files and the
        text embedded with the collection's encoder (loaded only where a file or a text needs it)."""
        roots = self._image_roots(info)
        lookup = Lookup(
            info.name,
            lambda point: self.store.payload(info.name, point),
            lambda typed: next(
                filter(None, (self.store.find_by_path(info.name, form) for form in stored_forms(typed, roots))), None
            ),
            lambda: self.store.points(info.name).paths,
        )
        found = [resolve(typed, True, lookup) for typed in query.examples.like]
        found += [resolve(typed, False, lookup) for typed in query.examples.unlike]
        vectors: dict[str, np.ndarray] = {}
        asked = [Query(info.name, image=example.file) for example in found if example.file is not None]
        asked += [Query(info.name, text=query.text)] if query.text is not None else []
        seconds = loaded = 0.0
        if asked:
            encoder, loaded = self._query_encoder(info, text_only=all(q.kind == "text" for q in asked))
            for one in asked:
                try:
                    embedded = embed_query(encoder, one)
                except QueryError as error:  # a file that is no image: which example it was
                    side = "--like" if one.value in map(str, (e.file for e in found if e.positive)) else "--unlike"
                    raise QueryError(f"{side} {one.value}: {error}; give an image file, a stored id or path") from None
                _check_same_weights(info, embedded)
                vectors[one.value] = embedded.vector
                seconds += embedded.seconds
        positives = [vectors[str(e.file)] if e.file else e.point_id for e in found if e.positive]
        positives += [vectors[query.text]] if query.text is not None else []
        negatives = [vectors[str(e.file)] if e.file else e.point_id for e in found if not e.positive]
        result = self._query(query, info, tuple(positives), negatives=tuple(negatives), encode_seconds=seconds)
        result.examples, result.load_seconds = found, loaded
        return result

    def _query_settings(self, info: CollectionInfo, *, text_only: bool) -> tuple[str, str]:
        """The precision and --init that embed queries like the collection's points, once the collection is
        known to have points, an encoder this tool knows and (for a text) a text tower: the one check of every
        embedded query."""
        if info.points == 0:
            raise QueryError(f"collection '{info.name}' is empty, so its encoder is unknown")
        _check_known_encoder(info)
        if text_only and not get_spec(info.encoder).text:
            raise QueryError(self._no_text_tower(info))
        return _precision(info, self.device), self.init or recorded_init(info)

    def _query_encoder(self, info: CollectionInfo, *, text_only: bool) -> tuple[Encoder, float]:
        """The encoder that embeds queries like the collection's points (`_query_settings`), and its load time."""
        precision, init = self._query_settings(info, text_only=text_only)
        return self._encoder(info.encoder, text_only=text_only, precision=precision, init=init)

    def _query(
        self,
        query: Query,
        info: CollectionInfo,
        positives: tuple[np.ndarray | str, ...],
        *,
        negatives: tuple[np.ndarray | str, ...] = (),
        encode_seconds: float = 0.0,
    ) -> SearchResult:
        started = time.perf_counter()

        def ask(label: str | None) -> list[Hit]:
            if not query.refined:
                return self.store.query(info.name, positives[0], query.limit, label=label)
            asked = ExampleQuery(
                positives,
                negatives,
                query.limit,
                query.examples.strategy,
                mmr=query.diversity,
                min_score=query.min_score,
                label=label,
            )
            return self.store.query_examples(info.name, asked)

        spellings = [None] if query.label is None else self._spellings(info, query.label)
        if len(spellings) == 1 and (query.label is None or query.diversity is not None):
            hits = ask(spellings[0])  # an MMR order is kept as the engine gave it (one spelling: `_one_order`)
        else:  # any of a point's labels, case ignored: each stored spelling of the label, merged by score
            found = [h for spelled in spellings for h in ask(spelled)]
            hits = sorted({h.id: h for h in found}.values(), key=lambda h: (-h.score, h.index))[: query.limit]
        seconds = time.perf_counter() - started
        recorded = info.provenance.image_root if info.provenance else None
        root = resolve_image_root(recorded, self.data_root, info.dataset, paths=[hit.path for hit in hits[:3]])
        return SearchResult(
            query,
            info,
            hits,
            encode_seconds=encode_seconds,
            store_seconds=seconds,
            image_root=root,
            looked_in=looked_in(recorded, self.data_root),
        )

    def _spellings(self, info: CollectionInfo, label: str) -> list[str]:
        """The collection's labels equal to `label` when case is ignored; a label it lacks is a mistake, not
        an empty answer: the error says which labels it has, or that it has none."""
        if not info.labeled:
            raise QueryError(f"{no_labels(info.name)}; search it without --label")
        cached = self._labels.get(info.name)
        if cached is None or cached[0] != info.points:
            payloads = self.store.points(info.name).payloads
            cached = (info.points, sorted({known for p in payloads for known in p.label_set}))
            self._labels[info.name] = cached
        labels = cached[1]
        spelled = [known for known in labels if known.casefold() == label.casefold()]
        if not spelled:
            close = difflib.get_close_matches(label.casefold(), [known.casefold() for known in labels], n=1)
            hint = f"did you mean '{next(k for k in labels if k.casefold() == close[0])}'? " if close else ""
            raise QueryError(
                f"collection '{info.name}' has no label '{label}' (case ignored); {hint}its labels: {', '.join(labels)}"
            )
        return spelled

    def _encoder(self, name: str, *, text_only: bool, precision: str, init: str) -> tuple[Encoder, float]:
        """The encoder, built on first use (a full one also serves text), and the seconds its load took now."""
        full, text = (name, False, precision, init), (name, True, precision, init)
        for key in (full, text) if text_only else (full,):
            if key in self._models:
                return self._models[key], 0.0
        build = build_text_encoder if text_only else build_encoder
        started = time.perf_counter()
        encoder = build(name, self.device, weights=self.weights.get(name), init=init, precision=precision)
        self._models[text if text_only else full] = encoder
        return encoder, time.perf_counter() - started

    def _no_text_tower(self, info: CollectionInfo) -> str:
        capable = [name for name, spec in SPECS.items() if spec.text]
        others = [
            other.name
            for other in map(self.store.info, self.store.collection_names())
            if other.dataset == info.dataset and other.encoder in capable
        ]
        where = (
            f"text-capable collections of dataset '{info.dataset}': {', '.join(others)}"
            if others
            else f"dataset '{info.dataset}' has no text-capable collection; create one with "
            f"`python cli.py ingest -d {info.dataset} -e {capable[0]}`"
        )
        return (
            f"collection '{info.name}' uses encoder '{info.encoder}', which has no text tower; "
            f"text queries need {' or '.join(capable)} ({where})"
        )


def _one_order(query: Query, info: CollectionInfo, spellings: list[str]) -> None:
    """Refuse --diverse with a label stored in several spellings: the store filters one spelling a query, and
    MMR orders merged by score would no longer be MMR's."""
    if query.diversity is not None and len(spellings) > 1:
        raise QueryError(
            f"--diverse with --label '{query.label}': collection '{info.name}' spells it {len(spellings)} ways "
            f"({', '.join(spellings)}), each its own query, and MMR orders cannot be merged; leave out --diverse"
        )


def recorded_init(info: CollectionInfo) -> str:
    """The --init a collection was ingested with, from its provenance: random or random-tiny, else pretrained."""
    identity = info.provenance.weights_identity if info.provenance else None
    return identity.kind if identity is not None and identity.random else "pretrained"


def _check_same_weights(info: CollectionInfo, embedded: Embedded) -> None:
    """A query vector made with other weights than the collection's is meaningless: refuse it."""
    recorded = info.provenance.weights_identity if info.provenance else None
    comparable = recorded is not None and recorded.kind != "imported"  # imported with --same-as: taken on trust
    if comparable and embedded.weights is not None and recorded != embedded.weights:
        raise QueryError(
            f"collection '{info.name}' was made with {recorded.describe()}, but the query would be embedded "
            f"with {embedded.weights.describe()}; use the --init/--weights it was ingested with"
        )
    if info.provenance is not None and embedded.precision != info.provenance.precision:
        raise QueryError(
            f"collection '{info.name}' was computed in {info.provenance.precision}, but the query would be "
            f"embedded in {embedded.precision}"
        )
    if len(embedded.vector) != info.dim:
        raise QueryError(
            f"collection '{info.name}' holds {info.dim}-d vectors but this {info.encoder} "
            f"encoder gives {len(embedded.vector)}-d; use the --init/--weights it was ingested with"
        )


def _precision(info: CollectionInfo, device: str) -> str:
    """The precision the collection's vectors were computed in, refused where this device cannot run it."""
    precision = info.provenance.precision if info.provenance else "fp32"
    problem = None if precision == "fp32" else precision_problem(precision, resolve_device(device))
    if problem is not None:
        raise QueryError(f"collection '{info.name}' was computed in {precision}, and so must its queries be: {problem}")
    return precision


def _check_known_encoder(info: CollectionInfo) -> None:
    """Imported vectors answer image and text queries only when the import said which encoder made them."""
    problem = unknown_encoder(info)
    if problem is not None:
        raise QueryError(problem)


def unknown_encoder(info: CollectionInfo) -> str | None:
    """Why no image or text query can be embedded for `info` (vectors imported without --same-as), or None:
    what the search refuses with, and what the web app's query page says instead of its forms."""
    provenance = info.provenance
    if provenance is None or provenance.weights_identity.kind != "imported" or provenance.same_as:
        return None
    return (
        f"collection '{info.name}' holds vectors imported from {provenance.imported_from}; no encoder is known "
        f"to embed an image or a text like them (query by --id or --path, or import again with --same-as "
        f"if encoder '{info.encoder}' made them)"
    )


def stored_forms(path: str, roots: list[Path]) -> list[str]:
    """What a --path may stand for, most literal first: the stored relative path as typed, the same without
    a leading 'images/', and, for a file that exists (relative to the working folder or absolute), its path
    relative to each of `roots` it lies under."""
    forms = [path, Path(path).as_posix()]
    if forms[-1].startswith("images/"):
        forms.append(forms[-1].removeprefix("images/"))
    file = Path(path).expanduser()
    if file.is_file():
        for root in roots:
            try:
                forms.append(file.resolve().relative_to(root.resolve()).as_posix())
            except ValueError:  # not under this root
                continue
    return list(dict.fromkeys(forms))


def checked_id(text: str) -> str:
    """A point id as stored (a UUID), or a clear error instead of the engine's."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise QueryError(f"'{text}' is not a point id (ids are UUIDs; `--format json` shows them)") from None
