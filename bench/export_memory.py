"""The memory `collections export` adds: peak RSS against `collections` on the same embedded store.

Builds a Qdrant Edge store of --points x --dim random unit vectors (one
collection, 10 classes, written with the store's bulk load), then, --repeat
times, runs two fresh processes of the CLI on it, alternating which goes
first: `collections` (opens the store and lists it: the baseline) and
`collections export` (every vector to a .npy, every payload to a list file).
Each child's peak RSS comes from the kernel (`os.wait4`). It prints the
medians and the added peak as a ratio of the vectors' bytes (points x dim x 4).
--root runs another checkout's cli.py on the same store (an older release, to
compare); given several times, each checkout's runs are interleaved with the
others'. Figures only, not a test. Usage:
python bench/export_memory.py [--points 200000] [--dim 256] [--repeat 3] [--root PATH ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store import ImagePayload, collection_name, open_store, point_id  # noqa: E402

CLASSES = 10
BATCH = 4096
NAME = collection_name("synthetic", "random")


def build(folder: Path, points: int, dim: int) -> None:
    """A new Edge store in `folder` holding `points` random unit vectors (seed 0) as collection NAME."""
    rng = np.random.default_rng(0)
    store = open_store(path=folder, engine="edge")
    try:
        store.ensure_collection(NAME, dim)
        with store.bulk_load(NAME) as loader:
            for start in range(0, points, BATCH):
                rows = range(start, min(start + BATCH, points))
                vectors = rng.standard_normal((len(rows), dim)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                paths = [f"c{row % CLASSES}/{row:07d}.jpg" for row in rows]
                payloads = [
                    ImagePayload(f"c{row % CLASSES}", path, "synthetic", "random", row)
                    for row, path in zip(rows, paths, strict=True)
                ]
                loader.add([point_id("synthetic", path) for path in paths], vectors, payloads)
    finally:
        store.close()


def peak_rss_mb(command: list[str], cwd: Path) -> float:
    """The peak resident memory of a child running `command`, from the kernel's accounting of it."""
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}): {child.stderr.read().decode()[-2000:]}")
    child.stderr.close()
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--root", type=Path, action="append", help="a checkout whose cli.py runs (repeatable; default: this one)"
    )
    arguments = parser.parse_args()
    roots = [root.resolve() for root in arguments.root or [ROOT]]
    vector_mb = arguments.points * arguments.dim * 4 / 2**20
    with tempfile.TemporaryDirectory(prefix="export-memory-") as scratch:
        folder = Path(scratch) / "store"
        build(folder, arguments.points, arguments.dim)
        vectors_file, list_file = Path(scratch) / "vectors.npy", Path(scratch) / "list.txt"
        runs = {
            "collections": ["--storage", str(folder), "collections"],
            "export": ["--storage", str(folder), "collections", "export", NAME]
            + ["--vectors", str(vectors_file), "--list", str(list_file)],
        }
        peaks = {(root, kind): [] for root in roots for kind in runs}
        for repeat in range(arguments.repeat):
            for root in roots[:: 1 if repeat % 2 == 0 else -1]:
                for kind in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
                    command = [sys.executable, str(root / "cli.py"), *runs[kind]]
                    peaks[root, kind].append(peak_rss_mb(command, root))
                    if kind == "export":
                        exported = np.load(vectors_file, mmap_mode="r")
                        if exported.shape != (arguments.points, arguments.dim):
                            raise SystemExit(f"{root}: the export holds {exported.shape} vectors")
    print(f"{arguments.points:,} x {arguments.dim} vectors ({vector_mb:.0f} MiB), {arguments.repeat} repeats")
    for root in roots:
        print(root)
        for kind in runs:
            values = peaks[root, kind]
            listed = ", ".join(f"{v:.0f}" for v in values)
            print(f"  {kind:<12} peak RSS median {statistics.median(values):8.0f} MiB  ({listed})")
        added = statistics.median(peaks[root, "export"]) - statistics.median(peaks[root, "collections"])
        print(f"  export added peak: {added:.0f} MiB = {added / vector_mb:.2f}x the vectors' bytes")


if __name__ == "__main__":
    main()
