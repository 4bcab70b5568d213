"""The settings `tune` tries: how each index is built, and how it is searched.

A `Build` is what needs its own index (HNSW m, ef_construct, quantization); a
`TuneSetting` adds the query-time parameters (beam `hnsw_ef`, rescoring and
oversampling of a quantized search), so several settings share one build. A
quantized build keeps its original vectors on disk: the quantized copy and the
graph are what memory then holds, and the originals are read only to rescore.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from store import IndexSettings
from store.types import Quantization, SearchSettings

QUANTIZATIONS = tuple(Quantization)


@dataclass(frozen=True)
class Build:
    """What one index is built with."""

    hnsw_m: int
    hnsw_ef_construct: int
    quantization: Quantization = Quantization.NONE

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantization", Quantization(self.quantization))  # as read from a record

    @property
    def quantized(self) -> bool:
        return self.quantization != Quantization.NONE

    def index_settings(self) -> IndexSettings:
        """The scratch collection's layout: indexed at any size, originals on disk where quantized."""
        return IndexSettings(
            on_disk=self.quantized,
            hnsw_m=self.hnsw_m,
            hnsw_ef_construct=self.hnsw_ef_construct,
            quantization=self.quantization,
            index_any_size=True,
        )


@dataclass(frozen=True)
class TuneSetting:
    """A build and how it is searched."""

    build: Build
    hnsw_ef: int
    rescore: bool | None = None  # quantized builds only
    oversampling: float | None = None

    @property
    def search(self) -> SearchSettings:
        return SearchSettings(self.hnsw_ef, self.rescore, self.oversampling)

    @property
    def label(self) -> str:
        """A short name: `m16 efc100 int8 ef128 rescore x2`."""
        b = self.build
        text = f"m{b.hnsw_m} efc{b.hnsw_ef_construct} {b.quantization} ef{self.hnsw_ef}"
        if b.quantized:
            text += " rescore" if self.rescore else " no-rescore"
            if self.oversampling not in (None, 1):
                text += f" x{self.oversampling:g}"
        return text

    def to_json(self) -> dict:
        return {**asdict(self.build), **asdict(self.search), "label": self.label}


def _quantized(build: Build, hnsw_ef: int, oversamplings: tuple[float, ...]) -> list[TuneSetting]:
    """A quantized build searched without rescoring, then rescored at each oversampling."""
    return [TuneSetting(build, hnsw_ef, False), *(TuneSetting(build, hnsw_ef, True, x) for x in oversamplings)]


def small_grid() -> list[TuneSetting]:
    """Eight settings over six builds: the graph's size and beam, then each quantization (default)."""
    default = Build(16, 100)
    return [
        TuneSetting(Build(8, 64), 64),
        TuneSetting(default, 64),
        TuneSetting(default, 128),
        TuneSetting(Build(32, 200), 128),
        TuneSetting(Build(16, 100, Quantization.INT8), 128, False),
        TuneSetting(Build(16, 100, Quantization.INT8), 128, True, 2),
        TuneSetting(Build(16, 100, Quantization.BINARY), 128, True, 3),
        TuneSetting(Build(16, 100, Quantization.PRODUCT), 128, True, 3),
    ]


def full_grid() -> list[TuneSetting]:
    """m 8/16/32 x ef_construct 100/200 unquantized at beams 32..256, and every quantization of
    m16 efc100 with and without rescoring, oversampling 1, 2 and 4 (36 settings over 9 builds)."""
    settings = [TuneSetting(Build(m, efc), ef) for m in (8, 16, 32) for efc in (100, 200) for ef in (32, 64, 128, 256)]
    for quantization in QUANTIZATIONS[1:]:
        settings += _quantized(Build(16, 100, quantization), 128, (1, 2, 4))
    return settings


GRIDS = {"small": small_grid, "full": full_grid}


def grid(name: str) -> list[TuneSetting]:
    return GRIDS[name]()
