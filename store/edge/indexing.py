"""The HNSW index and quantization of an Edge collection: its configuration, and a build Ctrl-C can stop.

Edge's `optimize()` builds the index in one call that holds the GIL and acts on
SIGINT only when it returns (7 minutes at 1,000,000 points here), and a
`kill -9` during it leaves `temp_segments/` behind. So the build runs in a
child process that opens the shard alone: Ctrl-C in the parent kills the
child, removes its leftovers and leaves the collection as it was (exact
search). The child dies with its parent (Linux's parent-death signal; it also
exits at once if the parent is gone before it starts) and shares the parent's
hold on the collection, writing itself into the holder file, so a build that
outlives its parent is named, never "a process that does not say which". What
a killed build left (`temp_segments/segment_builder_*`) the next process to
hold the collection removes (`sweep_leftovers`). Collections under HNSW_MIN_POINTS get no index: exact search over
them is about as fast (1.2 ms a stored-point query at 10,000 points here).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import qdrant_edge as edge

from errors import StoreError
from store.types import ANY_SIZE_KB, IndexSettings, Quantization

HNSW_MIN_POINTS = 20_000
DEFAULT_M = 16  # Qdrant's defaults
DEFAULT_EF_CONSTRUCT = 100
FULL_SCAN_KB = 10_000
INDEXING_KB = 1_000  # segments past this size are indexed when the build runs
LEFTOVERS = ("temp_segments",)
BUILDER_GLOB = "temp_segments/segment_builder_*"  # what a killed build leaves in the shard folder
_BUILD = """
import ctypes, datetime, json, os, signal, sys
shard, name, parent, holder = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if sys.platform == "linux":
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
if os.getppid() != parent:
    sys.exit("the process that started the build is gone")
since = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
me = {"pid": os.getpid(), "command": f"HNSW index build of '{name}' for process {parent}", "since": since}
os.ftruncate(holder, 0)
os.pwrite(holder, json.dumps(me).encode(), 0)
import qdrant_edge as e
s = e.EdgeShard.load(shard); s.optimize(); s.flush(); s.close()
"""
log = logging.getLogger(__name__)


def edge_config(dim: int, settings: IndexSettings) -> edge.EdgeConfig:
    """A cosine shard of `dim`-d vectors with the HNSW and quantization settings asked for."""
    quantization = {
        Quantization.NONE: None,
        Quantization.INT8: edge.ScalarQuantizationConfig(edge.ScalarType.Int8, always_ram=True),
        Quantization.BINARY: edge.BinaryQuantizationConfig(always_ram=True),
        Quantization.PRODUCT: edge.ProductQuantizationConfig(edge.CompressionRatio.X16, always_ram=True),
    }[settings.quantization]
    return edge.EdgeConfig(
        vectors=edge.EdgeVectorParams(size=dim, distance=edge.Distance.Cosine, on_disk=settings.on_disk or None),
        hnsw_config=edge.HnswIndexConfig(
            m=DEFAULT_M if settings.hnsw_m is None else settings.hnsw_m,
            ef_construct=settings.hnsw_ef_construct or DEFAULT_EF_CONSTRUCT,
            full_scan_threshold=ANY_SIZE_KB if settings.index_any_size else FULL_SCAN_KB,
        ),
        quantization_config=quantization,
        optimizers=edge.EdgeOptimizersConfig(
            indexing_threshold=ANY_SIZE_KB if settings.index_any_size else INDEXING_KB
        ),
    )


def build_index(shard: Path, name: str, holder: int) -> None:
    """Run Edge's optimizer on `shard` (closed by the caller) in a child process that shares the caller's hold
    (`holder`: the holder file's descriptor) and dies with it."""
    child = subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(shard), name, str(os.getpid()), str(holder)],
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(holder,),
    )
    try:
        _, error = child.communicate()
    except BaseException:
        child.kill()
        child.wait()
        remove_leftovers(shard)
        raise
    if child.returncode != 0:
        remove_leftovers(shard)
        last = (error or "").strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
        raise StoreError(f"building the HNSW index of '{name}' failed: {last[0]}; search stays exact")


def remove_leftovers(shard: Path) -> None:
    """What a stopped build leaves in the shard folder."""
    for leftover in LEFTOVERS:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(shard / leftover)


def sweep_leftovers(shard: Path, name: str) -> list[Path]:
    """Remove what a killed build left in `shard`, whose collection this process holds now (so no build that
    is still running owns it: a build shares its parent's hold); each removal is named in a warning."""
    removed = []
    for leftover in sorted(shard.glob(BUILDER_GLOB)):
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover)
        log.warning("removed %s, left by a killed index build of collection '%s'", leftover, name)
    return removed


def check_settings(settings: IndexSettings) -> None:
    """Refuse the server-only settings (shards, replicas) on the embedded store."""
    for option, value in (("--shards", settings.shards), ("--replicas", settings.replicas)):
        if value not in (None, 1):
            raise StoreError(f"{option} applies to a Qdrant server or cluster; pass --qdrant-url, or leave it out")
