"""PNG figures of an evaluation: PR curves and the best and worst query galleries.

matplotlib is imported inside the functions (it costs about a second) and used
through `Figure` objects rendered by Agg, never pyplot, so no display and no
global state are involved. Images are read from `image_root`, the folder the
payload paths are relative to; when it is None, or a file is missing or
unreadable, a grey placeholder takes the image's place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluation.runner import GalleryRow

THUMB = 160
CAPTION = 26
RIGHT = "#2e9e44"
WRONG = "#d62728"
QUERY = "#1f4e9e"


def _plain(text: str) -> str:
    """Text as matplotlib should draw it: '$' would start mathtext."""
    return text.replace("$", r"\$")


def pr_plot(curves: dict[str, Sequence[float | None]], path: Path, title: str) -> Path:
    """One interpolated PR curve per entry (name -> precision at 101 recall levels)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=100)
    ax = fig.add_subplot()
    for name, precision in curves.items():
        values = np.array([np.nan if p is None else p for p in precision], dtype=float)
        ax.plot(np.linspace(0, 1, len(values)), values, label=_plain(name), linewidth=1.8)
    ax.set(xlabel="recall", ylabel="interpolated precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(_plain(title))
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    return path


def gallery(rows: list[GalleryRow], image_root: Path | None, path: Path, title: str) -> Path:
    """Each row: the query image and its first hits, framed green (right class) or red."""
    from matplotlib.figure import Figure

    width = 1 + max((len(row.hits) for row in rows), default=0)
    fig = Figure(figsize=(2.2 * max(width, 3), 0.6 + 2.6 * len(rows)), dpi=100)
    heading, *parts = np.atleast_1d(fig.subfigures(len(rows) + 1, 1, height_ratios=[0.6] + [2.6] * len(rows)))
    heading.suptitle(_plain(title), fontsize="x-large", y=0.7)
    if not rows:
        heading.text(0.5, 0.1, "no query has an AP (every class has a single member)", ha="center")
    for sub, row in zip(parts, rows, strict=True):
        sub.suptitle(
            _plain(f"AP {row.ap:.3f} · query #{row.index} · {row.label} · {row.path}"), fontsize="medium", y=0.98
        )
        axes = sub.subplots(1, width)
        _cell(axes[0], image_root, row.path, f"query: {row.label}", QUERY)
        for ax, hit in zip(axes[1:], row.hits, strict=False):
            _cell(ax, image_root, hit.path, f"{hit.label} {hit.score:.3f}", RIGHT if hit.relevant else WRONG)
        for ax in axes[1 + len(row.hits) :]:
            ax.set_axis_off()
    fig.savefig(path)
    return path


def _cell(ax, image_root: Path | None, relative: str, caption: str, colour: str) -> None:
    image = load_thumbnail(image_root, relative)
    canvas = np.full((THUMB, THUMB, 3), 255 if image is not None else 190, dtype=np.uint8)
    if image is None:
        ax.text(THUMB / 2, THUMB / 2, "image not found", ha="center", va="center", fontsize="small")
    else:
        top, left = (THUMB - image.shape[0]) // 2, (THUMB - image.shape[1]) // 2
        canvas[top : top + image.shape[0], left : left + image.shape[1]] = image
    ax.imshow(canvas)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(colour)
        spine.set_linewidth(4)
    short = caption if len(caption) <= CAPTION else caption[: CAPTION - 1] + "…"
    ax.set_title(_plain(short), fontsize="small", color=colour)


def load_thumbnail(image_root: Path | None, relative: str, size: int = THUMB) -> np.ndarray | None:
    """An RGB thumbnail of image_root/relative, or None when it cannot be shown.

    Decoded by `media.images.load_rgb`, as ingest decodes it (EXIF
    orientation, CMYK, 16-bit, alpha, the pixel limit), so a gallery shows the
    picture the encoder saw. A path that would leave `image_root` is not opened.
    """
    from media.images import BadImage, load_rgb

    if image_root is None or not relative:
        return None
    root = image_root.resolve()
    file = (root / relative).resolve()
    if not file.is_relative_to(root) or not file.is_file():
        return None
    try:
        thumb = load_rgb(file, min_side=size)
    except (BadImage, OSError):
        return None
    thumb.thumbnail((size, size))
    return np.asarray(thumb)
