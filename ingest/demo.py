"""The offline demo's dataset, generated: colour and texture classes that every encoder can tell apart.

Each class is a texture (stripes, checks, dots, rings, waves, a gradient,
noise...) drawn in a two-colour palette; every image varies the pattern's
scale, phase and orientation, jitters the palette and adds noise, so no two
images are alike. Eight palettes are one class's own, so a colour histogram
tells those classes apart; two are shared by two textures each (red stripes
and red dots, blue checks and blue waves), which only an encoder that sees
shapes separates.
Written as class subfolders: data/patterns/<class>/<n>.png, the same images
for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

DEMO_DATASET = "patterns"
PER_CLASS = 40
SIZE = 96

Colour = tuple[int, int, int]
# (u, v) in [-1, 1] rotated and scaled, and a random generator -> a mask in [0, 1]
Texture = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _stripes(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (np.sin(u * rng.uniform(8, 14) + rng.uniform(0, 6.3)) > 0).astype(float)


def _checks(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.uniform(3, 6)
    return ((np.floor(u * f) + np.floor(v * f)) % 2).astype(float)


def _dots(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.uniform(3, 5)
    du, dv = (u * f) % 1 - 0.5, (v * f) % 1 - 0.5
    return (du**2 + dv**2 < rng.uniform(0.06, 0.12)).astype(float)


def _rings(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cu, cv = rng.uniform(-0.5, 0.5, 2)
    return (np.sin(np.hypot(u - cu, v - cv) * rng.uniform(12, 20)) > 0).astype(float)


def _waves(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 0.5 + 0.5 * np.sin(u * rng.uniform(5, 9) + 1.5 * np.sin(v * rng.uniform(3, 6)))


def _gradient(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip((u + 1) / 2 * rng.uniform(0.8, 1.2), 0, 1)


def _noise(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    coarse = rng.random((8, 8))
    return np.kron(coarse, np.ones((SIZE // 8, SIZE // 8)))


def _grid(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f, width = rng.uniform(4, 7), rng.uniform(0.1, 0.25)
    return (((u * f) % 1 < width) | ((v * f) % 1 < width)).astype(float)


def _blobs(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros_like(u)
    for cu, cv, r in rng.uniform([-1, -1, 0.15], [1, 1, 0.45], size=(6, 3)):
        mask = np.maximum(mask, ((u - cu) ** 2 + (v - cv) ** 2 < r**2).astype(float))
    return mask


def _zigzag(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.uniform(3, 6)
    return ((v * f + np.abs((u * f) % 2 - 1)) % 1 < 0.5).astype(float)


# class name -> (texture, foreground colour, background colour)
CLASSES: dict[str, tuple[Texture, Colour, Colour]] = {
    "red_stripes": (_stripes, (210, 30, 30), (250, 235, 235)),
    "blue_checks": (_checks, (30, 60, 200), (240, 220, 40)),
    "green_noise": (_noise, (60, 190, 70), (10, 70, 20)),
    "orange_gradient": (_gradient, (250, 140, 20), (30, 15, 5)),
    "red_dots": (_dots, (210, 30, 30), (250, 235, 235)),
    "blue_waves": (_waves, (30, 60, 200), (240, 220, 40)),
    "magenta_rings": (_rings, (230, 40, 160), (20, 20, 20)),
    "brown_zigzag": (_zigzag, (120, 70, 30), (230, 210, 170)),
    "cyan_grid": (_grid, (40, 200, 240), (245, 245, 245)),
    "olive_blobs": (_blobs, (130, 130, 20), (150, 200, 240)),
}


def pattern_image(texture: Texture, front: Colour, back: Colour, *, rng: np.random.Generator) -> Image.Image:
    """One image of a class: its texture at a random scale, phase and angle, in a jittered palette, with noise."""
    axis = np.linspace(-1, 1, SIZE)
    x, y = np.meshgrid(axis, axis)
    angle = rng.uniform(0, np.pi)
    u, v = x * np.cos(angle) + y * np.sin(angle), -x * np.sin(angle) + y * np.cos(angle)
    mask = texture(u, v, rng)[..., None]
    front_, back_ = (np.array(c, float) + rng.normal(0, 10, 3) for c in (front, back))
    pixels = mask * front_ + (1 - mask) * back_ + rng.normal(0, 8, (SIZE, SIZE, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def build_patterns(folder: Path, per_class: int = PER_CLASS, seed: int = 0) -> int:
    """Write the demo images (those not yet there); returns how many the folder holds."""
    for c, (label, (texture, front, back)) in enumerate(CLASSES.items()):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / label / f"{i:03d}.png"
            if not path.exists():
                pattern_image(texture, front, back, rng=np.random.default_rng([seed, c, i])).save(path)
    return len(CLASSES) * per_class
