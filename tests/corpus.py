"""Generated messy inputs: bad and unusual image files, bad list files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import make_image


def jpeg_bytes(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    make_image((120, 80, 40), seed).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def write_bad_files(folder: Path) -> dict[str, str]:
    """Files no decoder should accept: name -> a word the skip reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(jpeg_bytes(1)[:600])
    (folder / "corrupt.jpg").write_bytes(np.random.default_rng(0).bytes(3000))
    (folder / "notes.png").write_text("this is a text file, not a picture\n")
    return {"empty.jpg": "empty", "truncated.jpg": "decode", "corrupt.jpg": "decode", "notes.png": "decode"}


def write_unusual_files(folder: Path) -> dict[str, tuple[int, int]]:
    """Valid but awkward images: name -> the (width, height) after decoding."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = make_image((30, 160, 90), 7, size=(60, 40))
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    deep = np.arange(60 * 40, dtype=np.uint16).reshape(40, 60) * 27
    Image.fromarray(deep).save(folder / "deep16.png")
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    palette.save(folder / "palette_alpha.png", transparency=0)
    rgb.convert("L").save(folder / "grey.jpg")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(folder / "rgba.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    rgb.save(folder / "rotated.jpg", exif=exif)
    frames = [make_image(c, i, size=(60, 40)) for i, c in enumerate([(200, 0, 0), (0, 0, 200)])]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    return {
        "cmyk.jpg": (60, 40),
        "deep16.png": (60, 40),
        "palette_alpha.png": (60, 40),
        "grey.jpg": (60, 40),
        "rgba.png": (60, 40),
        "rotated.jpg": (40, 60),
        "animated.gif": (60, 40),
    }


def write_mixed_dataset(folder: Path, good_per_class: int = 25) -> tuple[int, int]:
    """Class subfolders with good images and one folder of bad ones; (good, bad) counts."""
    good = 0
    for c, label in enumerate(("sand", "sea")):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(good_per_class):
            make_image((190, 170, 110) if c == 0 else (30, 80, 170), 1000 * c + i).save(folder / label / f"{i:03d}.jpg")
            good += 1
    bad = 0
    for label in ("sand", "sea"):
        for i in range(5):
            (folder / label / f"bad_{i}.jpg").write_bytes(b"" if i == 0 else jpeg_bytes(i)[: 300 + 40 * i])
            bad += 1
    return good, bad
