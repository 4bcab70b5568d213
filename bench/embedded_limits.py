"""Where the embedded store stops serving: open time, memory and query latency at 100,000 and more points.

For each size it builds a synthetic 384-d collection (10 classes) in an
embedded store on disk with the store's bulk load (`eval_scale.build`) and
saves the same vectors as a .npy file beside it. Then, --repeat times, a fresh
process (imports done first, not timed):

- opens the store (`store.open_store(path=...)`) and reads its peak RSS
  (VmHWM) less the RSS before opening; reference: `np.load` of the .npy in the
  same process, and the vectors' own size (n x d x 4 B);
- in turns, --queries times: a stored-point query (`store.query(name, id,
  10)`), numpy's top 10 of the same point (one matrix-vector product,
  `argpartition`, itself excluded), a vector query (`store.query(name, vector,
  10)`) and numpy's top 10 of the same vector.

It prints medians over the processes of the open time and RSS, and the
median and p95 of each query over all queries, with the ratios to numpy.
Not a test: figures only. Usage:
python bench/embedded_limits.py [--sizes 100000 300000] [--repeat 3] [--queries 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_scale import build, peak_rss_gb, synthetic  # noqa: E402

from store import point_id  # noqa: E402

LIMIT = 10


def rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def top(vectors: np.ndarray, query: np.ndarray, exclude: int | None = None) -> np.ndarray:
    """numpy's exact cosine top 10 (unit vectors), `exclude` left out."""
    scores = vectors @ query
    if exclude is not None:
        scores[exclude] = -np.inf
    best = np.argpartition(-scores, LIMIT)[:LIMIT]
    return best[np.argsort(-scores[best])]


def side(folder: Path, name: str, n: int, queries: int, seed: int) -> dict:
    """One fresh process: open, memory, then the queries in turns with numpy's."""
    from store import open_store
    from store.embedded import EmbeddedStore  # noqa: F401  (qdrant-client imported before the clock starts)

    before = rss_gb()
    started = time.perf_counter()
    store = open_store(path=folder, create=False)
    opened = time.perf_counter() - started
    open_rss = peak_rss_gb() - before
    started = time.perf_counter()
    vectors = np.load(folder.parent / f"{name}.npy")
    loaded = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    rows = rng.choice(n, queries, replace=False)
    times: dict[str, list[float]] = {"stored": [], "stored_numpy": [], "vector": [], "vector_numpy": []}
    agree = 0
    for row in rows:
        ident = point_id("synthetic", f"c{row % 10}/{row:06d}.jpg")
        probe = rng.normal(size=vectors.shape[1]).astype(np.float32)
        probe /= np.linalg.norm(probe)
        t0 = time.perf_counter()
        hits = store.query(name, ident, LIMIT)
        t1 = time.perf_counter()
        expected = top(vectors, vectors[row], exclude=row)
        t2 = time.perf_counter()
        store.query(name, probe, LIMIT)
        t3 = time.perf_counter()
        top(vectors, probe)
        t4 = time.perf_counter()
        for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            times[key].append(seconds)
        agree += [hit.index for hit in hits] == expected.tolist()
    store.close()
    return {"open": opened, "load": loaded, "open_rss": open_rss, "rss": peak_rss_gb(), "agree": agree, **times}


def run_side(folder: Path, name: str, n: int, args: argparse.Namespace, seed: int) -> dict:
    command = [sys.executable, __file__, "--side", "--folder", str(folder), "--sizes", str(n)]
    command += ["--queries", str(args.queries), "--seed", str(seed)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        n = args.sizes[0]
        print(json.dumps(side(args.folder, f"synthetic{n}", n, args.queries, args.seed)))
        return
    with tempfile.TemporaryDirectory(prefix="embedded_limits_") as tmp:
        for n in args.sizes:
            name = f"synthetic{n}"
            folder = Path(tmp) / f"store{n}"
            built = build(folder, name, n, args.dim, args.classes)
            np.save(Path(tmp) / f"{name}.npy", synthetic(n, args.dim, args.classes)[0])
            runs = [run_side(folder, name, n, args, seed) for seed in range(args.repeat)]
            vectors_gb = n * args.dim * 4 / 1e9
            med = {key: statistics.median(r[key] for r in runs) for key in ("open", "load", "open_rss", "rss")}
            every = {
                key: [t for r in runs for t in r[key]] for key in ("stored", "stored_numpy", "vector", "vector_numpy")
            }
            print(f"{n:,} points, {args.dim}-d: build {built:.1f} s (bulk load)", flush=True)
            print(
                f"  open (fresh process, imports excluded): {med['open']:.2f} s; np.load of the same vectors "
                f"{med['load']:.3f} s; ratio {med['open'] / med['load']:.0f}",
                flush=True,
            )
            print(
                f"  RSS added by opening: {med['open_rss']:.2f} GB; the vectors: {vectors_gb:.2f} GB; ratio "
                f"{med['open_rss'] / vectors_gb:.1f}; peak RSS of the process {med['rss']:.2f} GB",
                flush=True,
            )
            for kind, label in (("stored", "stored-point query"), ("vector", "vector query")):
                store_ms = [t * 1e3 for t in every[kind]]
                numpy_ms = [t * 1e3 for t in every[f"{kind}_numpy"]]
                print(
                    f"  {label} top {LIMIT}: median {statistics.median(store_ms):.1f} ms, "
                    f"p95 {p95(store_ms):.1f} ms; numpy {statistics.median(numpy_ms):.2f} ms, "
                    f"p95 {p95(numpy_ms):.2f} ms; ratio of medians "
                    f"{statistics.median(store_ms) / statistics.median(numpy_ms):.0f}",
                    flush=True,
                )
            print(
                f"  stored-point top {LIMIT} equal to numpy's: {sum(r['agree'] for r in runs)} of {len(every['stored'])}"
            )


if __name__ == "__main__":
    main()
