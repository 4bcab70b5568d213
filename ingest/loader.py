"""Decoding and preprocessing in DataLoader workers while the model runs.

Workers are forked while the store is open; an embedded store's lock is closed
in every forked child (store/client/embedded.py), and each worker dies with its
parent, so `kill -9` of an ingest frees the store at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, Dataset

from media.files import FileFacts, facts_of
from media.images import BadImage, decode_rgb

PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent dies


class ImageFiles(Dataset):
    """(position, array or None, file facts, reason or None) for each (position, relative path).

    Each file is read once: its bytes are hashed and decoded.
    """

    def __init__(
        self, root: Path, entries: list[tuple[int, str]], transform: Callable, *, max_pixels: int, min_side: int | None
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


def _init_worker(parent: int, _: int) -> None:
    """A worker ignores Ctrl-C (the main process decides when to stop) and dies with its parent
    (Linux: PR_SET_PDEATHSIG), so a killed ingest leaves no worker behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def batches(files: ImageFiles, batch_size: int, workers: int) -> DataLoader:
    """Batches in file order; workers decode ahead of the model (two batches each)."""
    return DataLoader(
        files,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        worker_init_fn=partial(_init_worker, os.getpid()) if workers else None,
        prefetch_factor=2 if workers else None,
        persistent_workers=False,
    )
