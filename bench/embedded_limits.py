"""The embedded engines side by side: qdrant-client's local mode against Qdrant Edge on the same vectors.

For each size in --sizes both engines get the same synthetic 384-d collection
(10 classes, `eval_scale.synthetic`) through the store's bulk load (insert
time), and for each size in --edge-only Edge alone. Then, --repeat times, one
fresh process per engine, the engines alternating which goes first (imports
done before any clock starts):

- open: `open_store` and the first count (Edge opens a collection on first
  use), and the RSS that added;
- --queries stored-point queries, exact, top 10 (p50 and p95), each checked
  against numpy's top 10 of the same point;
- one batch of 256 stored-point queries (`query_many`, exact);
- every vector into numpy (`points(with_vectors=True)`) and the RSS that added.

Then, Edge alone: the HNSW build (`build_index`, a child process), and in a
fresh process recall@10 of approximate search at each --ef against exact
search, with its p50 query time. It prints medians over the processes, and
Edge / local ratios where both ran. Figures only, not a test. Usage:
python bench/embedded_limits.py [--sizes 10000 100000] [--edge-only 1000000] [--repeat 3] [--queries 50]
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

from eval_scale import NOISE, Points, build, peak_rss_gb, synthetic  # noqa: E402

from store import SearchSettings, open_store, point_id  # noqa: E402

LIMIT = 10
BATCH = 256


def rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def numpy_top(vectors: np.ndarray, row: int) -> list[int]:
    """numpy's exact top 10 of stored point `row`, itself left out (unit vectors)."""
    scores = vectors @ vectors[row]
    scores[row] = -np.inf
    best = np.argpartition(-scores, LIMIT)[:LIMIT]
    return best[np.argsort(-scores[best])].tolist()


def stored_id(row: int, classes: int) -> str:
    """The point id `eval_scale.build` gave row `row`."""
    return point_id("synthetic", f"c{row % classes}/{row:06d}.jpg")


def side(folder: Path, name: str, *, queries: int, seed: int, classes: int) -> dict:
    """One fresh process on one store: open, stored-point queries, a batch, every vector."""
    import qdrant_client  # noqa: F401  (both engines' imports happen before any clock starts)
    import qdrant_edge  # noqa: F401

    before = rss_gb()
    started = time.perf_counter()
    store = open_store(path=folder, create=False)
    n = store.count(name)
    opened = time.perf_counter() - started
    open_rss = peak_rss_gb() - before
    vectors = np.load(folder.parent / f"{name}.npy")
    rng = np.random.default_rng(seed)
    rows = rng.choice(n, queries, replace=False)
    ids = [stored_id(row, classes) for row in range(n)]
    times, agree = [], 0
    for row in rows:
        t0 = time.perf_counter()
        hits = store.query(name, ids[row], LIMIT, exact=True)
        times.append(time.perf_counter() - t0)
        agree += [hit.index for hit in hits] == numpy_top(vectors, int(row))
    chosen = [ids[int(row)] for row in rng.choice(n, min(BATCH, n), replace=False)]
    t0 = time.perf_counter()
    store.query_many(name, chosen, LIMIT, exact=True)
    batch = time.perf_counter() - t0
    del vectors
    before = rss_gb()
    t0 = time.perf_counter()
    read = store.points(name, with_vectors=True)
    to_numpy = time.perf_counter() - t0
    numpy_rss = peak_rss_gb() - before
    assert read.vectors.shape[0] == n
    store.close()
    return {
        "open": opened, "open_rss": open_rss, "stored": times, "agree": agree, "batch": batch,
        "numpy": to_numpy, "numpy_rss": numpy_rss,
    }  # fmt: skip


def recall_side(folder: Path, name: str, *, queries: int, efs: list[int], seed: int, classes: int) -> dict:
    """Recall@10 of approximate search at each ef against exact search, and its p50 query time."""
    store = open_store(path=folder, create=False)
    n = store.count(name)
    rng = np.random.default_rng(seed)
    chosen = [stored_id(int(row), classes) for row in rng.choice(n, queries, replace=False)]
    exact = [set(found) for found, _ in store.query_many(name, chosen, LIMIT, exact=True)]
    result = {"indexed": store.index_status(name).indexed}
    for ef in efs:
        found, times = [], []
        for point in chosen:
            t0 = time.perf_counter()
            found.append(set(store.query_many(name, [point], LIMIT, exact=False, search=SearchSettings(ef))[0][0]))
            times.append(time.perf_counter() - t0)
        result[str(ef)] = {
            "recall": float(np.mean([len(a & e) / len(e) for a, e in zip(found, exact, strict=True)])),
            "p50_ms": statistics.median(times) * 1e3,
        }
    store.close()
    return result


def in_child(*args: str) -> dict:
    command = [sys.executable, __file__, *args]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def report(engine: str, n: int, *, built: float, runs: list[dict]) -> dict:
    med = {key: statistics.median(r[key] for r in runs) for key in ("open", "open_rss", "batch", "numpy", "numpy_rss")}
    stored = [t * 1e3 for r in runs for t in r["stored"]]
    med.update(insert=built, p50=statistics.median(stored), p95=p95(stored))
    print(
        f"  {engine:5s} insert {built:6.1f} s | open {med['open']:6.3f} s, +{med['open_rss']:.2f} GB | stored-point "
        f"query p50 {med['p50']:7.2f} ms, p95 {med['p95']:7.2f} ms | {BATCH} queries {med['batch']:6.2f} s | "
        f"vectors into numpy {med['numpy']:5.2f} s, +{med['numpy_rss']:.2f} GB | top 10 = numpy "
        f"{sum(r['agree'] for r in runs)} of {len(stored)}",
        flush=True,
    )
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--edge-only", type=int, nargs="*", default=[])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--noise", type=float, default=NOISE, help="Spread around the class centres (eval_scale).")
    parser.add_argument("--no-index", action="store_true", help="Leave out the HNSW build and the recall.")
    parser.add_argument("--side", choices=["queries", "recall"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "queries":
        print(json.dumps(side(args.folder, args.name, queries=args.queries, seed=args.seed, classes=args.classes)))
        return
    if args.side == "recall":
        recall = recall_side(
            args.folder, args.name, queries=args.queries, efs=args.ef, seed=args.seed, classes=args.classes
        )
        print(json.dumps(recall))
        return
    plan = [(n, ("local", "edge")) for n in args.sizes] + [(n, ("edge",)) for n in args.edge_only]
    with tempfile.TemporaryDirectory(prefix="embedded_limits_") as tmp:
        for n, engines in plan:
            name = f"synthetic{n}"
            folders = {engine: Path(tmp) / f"{engine}{n}" / "store" for engine in engines}
            built = {}
            for engine, folder in folders.items():
                folder.parent.mkdir(parents=True)
                open_store(path=folder, engine=engine).close()  # the store's format, before the load
                points = Points(n, args.dim, args.classes, args.noise)
                built[engine] = build(folder, name, points)
                np.save(folder.parent / f"{name}.npy", synthetic(points)[0])
            runs: dict[str, list[dict]] = {engine: [] for engine in engines}
            for repeat in range(args.repeat):
                for engine in engines if repeat % 2 == 0 else engines[::-1]:
                    side_args = ["--side", "queries", "--folder", str(folders[engine]), "--name", name]
                    side_args += ["--classes", str(args.classes)]
                    runs[engine].append(in_child(*side_args, "--queries", str(args.queries), "--seed", str(repeat)))
            print(f"{n:,} points, {args.dim}-d, {args.repeat} processes per engine (medians):", flush=True)
            figures = {engine: report(engine, n, built=built[engine], runs=runs[engine]) for engine in engines}
            if len(engines) == 2:
                local, edge = figures["local"], figures["edge"]
                print(
                    f"  local / edge: insert {local['insert'] / edge['insert']:.1f}x, open "
                    f"{local['open'] / edge['open']:.0f}x, memory added by open "
                    f"{local['open_rss'] / max(edge['open_rss'], 1e-3):.1f}x, stored-point query p50 "
                    f"{local['p50'] / edge['p50']:.0f}x, {BATCH} queries {local['batch'] / edge['batch']:.0f}x, "
                    f"vectors into numpy {local['numpy'] / edge['numpy']:.1f}x",
                    flush=True,
                )
            if args.no_index:
                continue
            edge_store = open_store(path=folders["edge"], create=False)
            started = time.perf_counter()
            edge_store.build_index(name, force=True)
            index_seconds = time.perf_counter() - started
            edge_store.close()
            side_args = ["--side", "recall", "--folder", str(folders["edge"]), "--name", name, "--classes"]
            side_args.append(str(args.classes))
            recall = in_child(*side_args, "--queries", str(args.queries), "--ef", *map(str, args.ef))
            shown = ", ".join(
                f"hnsw_ef {ef}: recall@10 {recall[str(ef)]['recall']:.3f}, p50 {recall[str(ef)]['p50_ms']:.2f} ms"
                for ef in args.ef
            )
            print(
                f"  edge HNSW build {index_seconds:.1f} s ({recall['indexed']:,} vectors indexed); {shown}", flush=True
            )


if __name__ == "__main__":
    main()
