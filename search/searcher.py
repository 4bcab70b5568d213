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

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from encoders import SPECS, BuildSettings, Encoder, build_encoder, build_text_encoder
from errors import QueryError
from media.roots import image_root_candidates, looked_in, resolve_image_root
from search.embedding import EmbedAhead, can_fork, embed_query
from search.examples import Lookup, resolve
from search.label_spellings import LabelSpellings, one_order
from search.point_refs import checked_id, stored_forms
from search.query_checks import check_same_weights, query_settings
from search.query_records import Query, SearchResult
from store.example_query import ExampleQuery
from store.provenance import unfinished

if TYPE_CHECKING:
    from store import CollectionInfo, Hit, VectorStore


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
        self._labels = LabelSpellings()  # for --label

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
                one_order(query, info, self._labels.of(self.store, info, query.label))
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
        check_same_weights(info, embedded)
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
                check_same_weights(info, embedded)
                vectors[one.value] = embedded.vector
                seconds += embedded.seconds
        positives = [vectors[str(e.file)] if e.file else e.point_id for e in found if e.positive]
        positives += [vectors[query.text]] if query.text is not None else []
        negatives = [vectors[str(e.file)] if e.file else e.point_id for e in found if not e.positive]
        result = self._query(query, info, tuple(positives), negatives=tuple(negatives), encode_seconds=seconds)
        result.examples, result.load_seconds = found, loaded
        return result

    def _query_settings(self, info: CollectionInfo, *, text_only: bool) -> tuple[str, str]:
        """The precision and --init that embed queries like the collection's points (`query_settings`)."""
        return query_settings(info, self.store, device=self.device, init=self.init, text_only=text_only)

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

        spellings = [None] if query.label is None else self._labels.of(self.store, info, query.label)
        if len(spellings) == 1 and (query.label is None or query.diversity is not None):
            hits = ask(spellings[0])  # an MMR order is kept as the engine gave it (one spelling: `one_order`)
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
