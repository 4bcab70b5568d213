"""What a (re)run of ingest must do with what the collection already holds.

An image not stored yet is embedded. A stored image whose file's size or
modification time changed is hashed again: a new hash means new content, so
it is embedded again; the same hash only refreshes the payload. A stored
image whose label or list position changed gets its payload rewritten, its
vector kept. Stored points whose images are no longer listed are stale; a run
of one part (`--part I/N`) plans only its share, but stale points are always
those missing from the whole list, so no part counts another's points as stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ingest.reading.dataset_records import Dataset
from media.files import FileFacts, file_sha256
from store import ImagePayload


@dataclass
class Plan:
    todo: list[tuple[int, str]] = field(default_factory=list)  # (position, path) to embed
    rewrites: dict[str, ImagePayload] = field(default_factory=dict)  # id -> payload, vector kept
    relabelled: int = 0  # stored images whose label, path or list position changed
    changed: int = 0  # stored images whose content changed, embedded again
    stale: list[str] = field(default_factory=list)  # stored ids no longer listed


def payload_of(dataset: Dataset, encoder: str, position: int, *, facts: FileFacts | None) -> ImagePayload:
    """The payload of the dataset's image at `position`, with its file facts when known."""
    item = dataset.items[position]
    payload = ImagePayload(item.label, item.path, dataset.name, encoder, position, labels=item.labels)
    return replace(payload, size=facts.size, mtime_ns=facts.mtime_ns, sha256=facts.sha256) if facts else payload


def plan(
    dataset: Dataset, encoder: str, ids: list[str], *, stored: dict[str, ImagePayload], share: list[int] | None = None
) -> Plan:
    """Compare the dataset's list and files with the stored payloads (`ids[i]` is item i's point id);
    `share`, the list positions to consider (default all)."""
    result = Plan(stale=sorted(set(stored) - set(ids)))
    for position in range(len(ids)) if share is None else share:
        point, item = ids[position], dataset.items[position]
        old = stored.get(point)
        facts = _current_facts(dataset, item.path, old) if old else None
        if old is None or facts is None or facts.sha256 != old.sha256:
            result.todo.append((position, item.path))
            result.changed += old is not None
            continue
        new = payload_of(dataset, encoder, position, facts=facts)
        if new.listing() != old.listing():
            result.relabelled += 1
        if new != old:
            result.rewrites[point] = new
    return result


def _current_facts(dataset: Dataset, path: str, old: ImagePayload) -> FileFacts | None:
    """The file's facts now, hashing it only when its size or time moved; None when it cannot be read."""
    file = dataset.image_root / path
    try:
        stat = file.stat()
        if stat.st_size == old.size and _same_time(stat.st_mtime_ns, old.mtime_ns) and old.sha256:
            return FileFacts(stat.st_size, stat.st_mtime_ns, old.sha256)
        return FileFacts(stat.st_size, stat.st_mtime_ns, file_sha256(file))
    except OSError:
        return None


def _same_time(mtime_ns: int, stored: int | None) -> bool:
    """The file's time is the stored one; within a microsecond for a schema 2 float in seconds,
    which keeps about a quarter of a microsecond of a present-day time."""
    return stored is not None and abs(mtime_ns - stored) < 1_000
