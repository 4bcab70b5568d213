"""The records a dataset reader returns: the dataset, its items and what was skipped.

An item names one image by its path relative to the dataset's image root, with
its labels (a list line may name several: the image is then relevant to every
image sharing at least one of them; its first label is its primary one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.reading.layouts import ReadAs, how_read


@dataclass(frozen=True)
class Item:
    path: str
    label: str | None  # the first (primary) label; None for an image read without labels
    labels: tuple[str, ...] | None = None  # every label, when there are several

    @property
    def label_set(self) -> tuple[str, ...]:
        return self.labels or (() if self.label is None else (self.label,))


@dataclass(frozen=True)
class Problem:
    """Something skipped: `where` is a file path or 'list_of_images.txt:LINE'."""

    where: str
    reason: str


@dataclass
class Dataset:
    name: str
    folder: Path
    image_root: Path
    items: list[Item]
    problems: list[Problem] = field(default_factory=list)
    description: str = ""  # how the labels were made, where a reader made them (Pascal VOC's modes)
    layout: ReadAs = ReadAs.LIST

    @property
    def classes(self) -> list[str]:
        return sorted({label for item in self.items for label in item.label_set})

    @property
    def multi_label(self) -> bool:
        return any(item.labels for item in self.items)

    @property
    def labeled(self) -> bool:
        """Whether its images carry labels (an unlabeled dataset can be searched, not evaluated)."""
        return self.layout != ReadAs.IMAGES

    @property
    def how_read(self) -> str | None:
        """One line saying how a folder without a layout of its own (class folders, images) was read."""
        if self.layout not in (ReadAs.CLASSES, ReadAs.IMAGES):
            return None
        return how_read(self.name, self.layout, [item.path for item in self.items], classes=len(self.classes))

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "folder": str(self.folder),
            "images": len(self.items),
            "classes": self.classes,
            "multi_label": self.multi_label,
            "layout": self.layout,
            "description": self.description,
            "problems": [asdict(p) for p in self.problems],
        }
