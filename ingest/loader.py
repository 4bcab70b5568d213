"""Decoding and preprocessing in DataLoader workers while the model runs."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, Dataset

from media.images import BadImage, load_rgb


class ImageFiles(Dataset):
    """(position, array or None, reason or None) for each (position, relative path)."""

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

    def __getitem__(self, i: int):
        position, path = self.entries[i]
        try:
            return position, self.transform(load_rgb(self.root / path, self.max_pixels, self.min_side)), None
        except BadImage as error:
            return position, None, str(error)
        except Exception as error:  # a broken file must never stop the whole dataset
            return position, None, f"{type(error).__name__}: {error}"


def collate(samples: list) -> tuple[list[int], np.ndarray | None, list[tuple[int, str]]]:
    """Stack the good samples' arrays; keep (position, reason) for the bad ones."""
    good = [(p, t) for p, t, reason in samples if reason is None]
    bad = [(p, reason) for p, t, reason in samples if reason is not None]
    stacked = np.stack([t for _, t in good]) if good else None
    return [p for p, _ in good], stacked, bad


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
