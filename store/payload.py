"""The payload of a stored image: the one place that writes and reads it.

Every point of a collection carries the image's class label, its path
relative to the dataset's image folder, the dataset and encoder names, its
position in the dataset list (`index`, which orders the points and breaks
ties in rankings) and, since schema 2, the file's size, modification time and
sha256 (a rerun re-embeds an image whose content changed; equal hashes are
identical images). Since schema 3 the modification time is integer nanoseconds
(`mtime_ns`): engines need not keep a float exactly (Qdrant Edge returned one
float mtime in seven one unit in the last place off), and an integer compares
exactly with the file's `st_mtime_ns`. A schema 2 payload's float seconds read
as the nearest nanosecond, and are rewritten as integers on the next ingest. An image with several labels (a multi-label list line,
Pascal VOC) also carries `labels`, all of them in list order, `label` being
the first; single-label points have no `labels` key, so their payloads are
unchanged and older readers still see their one label. The schema version is kept in the collection's metadata
(`PAYLOAD_SCHEMA`). Points written earlier or by other tools may lack fields:
they read as the defaults below (`label` None: such a point cannot be
evaluated; no file facts: its content is unknown).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from errors import StoreError

PAYLOAD_SCHEMA = 3
SCHEMA_KEY = "payload_schema"  # the collection-metadata key holding PAYLOAD_SCHEMA
UNKNOWN = "?"


@dataclass(frozen=True)
class ImagePayload:
    """What a point says about its image."""

    label: str | None
    path: str
    dataset: str
    encoder: str
    index: int
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    labels: tuple[str, ...] | None = None  # every label, when there are several; `label` is the first

    @property
    def label_set(self) -> tuple[str, ...]:
        """Every label of the image (one for a single-label point, none when it has no label)."""
        return self.labels or (() if self.label is None else (self.label,))

    def listing(self) -> tuple:
        """What the dataset list says about the image (labels, path, names, position), without the file facts."""
        return (self.label, self.labels, self.path, self.dataset, self.encoder, self.index)

    def to_dict(self) -> dict:
        """The payload as Qdrant stores it (no `labels` key for a single-label point)."""
        record = asdict(self)
        if self.labels is None:
            del record["labels"]
        else:
            record["labels"] = list(self.labels)
        return record

    @classmethod
    def read(cls, payload: dict | None) -> ImagePayload:
        """A stored payload, missing fields filled with defaults (label None)."""
        payload = payload or {}
        label = payload.get("label")
        return cls(
            label=None if label is None else str(label),
            path=str(payload.get("path", "")),
            dataset=str(payload.get("dataset", UNKNOWN)),
            encoder=str(payload.get("encoder", UNKNOWN)),
            index=_integer(payload.get("index")),
            size=payload.get("size") if isinstance(payload.get("size"), int) else None,
            mtime_ns=_mtime_ns(payload),
            sha256=payload.get("sha256") if isinstance(payload.get("sha256"), str) else None,
            labels=_labels(payload.get("labels")),
        )


def refuse_newer_schema(name: str, metadata: dict) -> None:
    """Refuse collection `name` when its metadata says a newer release wrote its points (a payload schema
    above PAYLOAD_SCHEMA, whose fields this release could misread); older schemas, and collections that name
    none (earlier releases, other tools), read as the defaults above."""
    schema = metadata.get(SCHEMA_KEY)
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > PAYLOAD_SCHEMA:
        raise StoreError(
            f"collection '{name}' was written with payload schema {schema}, newer than this release reads "
            f"(schema {PAYLOAD_SCHEMA}); upgrade this tool (git pull, then pip install -r requirements.txt) to read it"
        )


def share_label(first: Iterable[str], second: Iterable[str]) -> bool:
    """The one relevance rule: two images are relevant to each other when they share a label.

    For single-label points that is equal labels. Evaluation (`evaluation.metrics.relevance.shares_label`, the same
    rule on arrays), the drill-down, the neighbours page, search galleries and the label filter all use it.
    """
    return not set(first).isdisjoint(second)


def _labels(value: object) -> tuple[str, ...] | None:
    """Several stored labels as a tuple; None for a missing, malformed or single-label `labels`."""
    if not isinstance(value, list | tuple) or len(value) < 2:
        return None
    return tuple(str(label) for label in value)


def _mtime_ns(payload: dict) -> int | None:
    """The file's modification time in nanoseconds: schema 3's integer, or schema 2's float seconds."""
    value = payload.get("mtime_ns")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    seconds = payload.get("mtime")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds):
        return round(seconds * 1e9)
    return None


def _integer(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
