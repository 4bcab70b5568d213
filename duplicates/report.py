"""What a duplicate search found: the groups, the threshold and where it came from, what was read."""

from __future__ import annotations

from dataclasses import dataclass

from duplicates.groups import Group
from duplicates.thresholds import Threshold


@dataclass(frozen=True)
class DuplicateReport:
    """The groups found in `collections` (one: within it; two: points of the second that duplicate points of
    the first), largest first; `threshold` None when only exact duplicates were asked for; `points` read per
    collection."""

    collections: tuple[str, ...]
    threshold: Threshold | None
    points: tuple[int, ...]
    groups: list[Group]

    @property
    def across(self) -> bool:
        return len(self.collections) == 2

    @property
    def duplicated(self) -> int:
        """Members in all groups."""
        return sum(len(group.members) for group in self.groups)

    def to_json(self) -> dict:
        return {
            "collections": list(self.collections),
            "threshold": None if self.threshold is None else self.threshold.to_json(),
            "points": list(self.points),
            "groups": [group.to_json() for group in self.groups],
        }
