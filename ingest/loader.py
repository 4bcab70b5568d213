"""Decoding and preprocessing in DataLoader workers while the model runs."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, Dataset

from media.files import FileFacts, facts_of
from media.images import BadImage, decode_rgb


class ImageFiles(Dataset):
    """(position, array or None, file facts, reason or None) for each (position, relative path).

    Each file is read once: its bytes are hashed and decoded.
    """

    def __init__(
        self, root: Path, entries: list[tuple[int, str]], transform: Callable, max_pixels: int, min_side: int | None
    ) -> None:
        self.root = root
        self.entries = entries
        self.transform = transform
        self.max_pixels = max_pixels
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: int) -> tuple[int, np.ndarray | None, FileFacts | None, str | None]:
        position, path = self.entries[i]
        try:
            data = (self.root / path).read_bytes()
            pixels = self.transform(decode_rgb(data, self.max_pixels, self.min_side))
            return position, pixels, facts_of(self.root / path, data), None
        except BadImage as error:
            return position, None, None, str(error)
        except Exception as error:  # a broken file must never stop the whole dataset
            return position, None, None, f"{type(error).__name__}: {error}"


def collate(samples: list) -> tuple[list[int], np.ndarray | None, list[FileFacts], list[tuple[int, str]]]:
    """Stack the good samples' arrays (with their file facts); keep (position, reason) for the bad ones."""
    good = [(p, t, facts) for p, t, facts, reason in samples if reason is None]
    bad = [(p, reason) for p, _, _, reason in samples if reason is not None]
    stacked = np.stack([t for _, t, _ in good]) if good else None
    return [p for p, _, _ in good], stacked, [facts for _, _, facts in good], bad


def _ignore_interrupt(_: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop


def batches(files: ImageFiles, batch_size: int, workers: int) -> DataLoader:
    """Batches in file order; workers decode ahead of the model (two batches each)."""
    return DataLoader(
        files,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        worker_init_fn=_ignore_interrupt if workers else None,
        prefetch_factor=2 if workers else None,
        persistent_workers=False,
    )
