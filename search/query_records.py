"""What a search asks and what it answers: the `Query` record (one question, or examples with MMR and a score
threshold) and the `SearchResult` record (the hits, what was asked and where the time went), each knowing its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from errors import QueryError
from search.examples import Example, Examples
from store.example_query import Diversity

if TYPE_CHECKING:
    from store import CollectionInfo, Hit, ImagePayload


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
