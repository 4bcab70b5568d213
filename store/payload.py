"""The payload of a stored image: the one place that writes and reads it.

Every point of a collection carries the image's class label, its path
relative to the dataset's image folder, the dataset and encoder names and its
position in the dataset list (`index`, which orders the points and breaks
ties in rankings). The schema version is kept in the collection's metadata
(`PAYLOAD_SCHEMA`); points of collections written before it was recorded
have the same fields. Points written by other tools may lack fields: they
read as the defaults below, and `label` as None (such a point cannot be
evaluated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PAYLOAD_SCHEMA = 1
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

    def to_dict(self) -> dict:
        """The payload as Qdrant stores it."""
        return asdict(self)

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
        )


def _integer(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
