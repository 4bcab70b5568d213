"""Leave-one-out at 10,000 to 100,000 points: the evaluation against a blockwise numpy reference.

For each size (384-d, 10 classes) it builds a synthetic collection in an
embedded store on disk with the store's bulk load (batches of 5,000; its time
is printed on its own), then runs, alternating, --repeat times each, one
subprocess per side so that each side's peak RSS (VmHWM) is its own:

- eval: open the store, `evaluation.leave_one_out` (read vectors and payloads,
  rank every point against the others in blocks, measure each block, drop it);
- numpy: the same vectors generated in memory, then blocks of 256 queries: one
  matrix product, numpy's default argsort of each row, and the same figures
  (AP, P@1/5/10, R-precision, the interpolated PR curve's sum);
- floor: the same vectors, and only the matrix products of the evaluation's
  own blocks (`ranking.block_rows(n)` queries each): the arithmetic no method
  can avoid;
- with `--url` (or QDRANT_URL, with QDRANT_API_KEY), the same points in a
  collection on that Qdrant server, evaluated both ways: `server` ranks with
  the server's exact batch query (what `--method auto` picks there), and
  `server-block` reads the vectors from the server and ranks them here. The
  collection is dropped at the end.

It prints the medians, eval / numpy and eval / floor, the mAP difference, the
peak RSS figures, and where the evaluation's time goes (ranking: read + score +
rank; metrics). Not a test: figures only. Usage:
python bench/eval_scale.py [--sizes 10000 50000 100000] [--repeat 3] [--classes 10] [--sides eval floor]
    [--url http://localhost:6333]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation import RankingRequest, leave_one_out  # noqa: E402
from evaluation.ranking.ranker import block_rows  # noqa: E402
from store import ImagePayload, open_store, point_id  # noqa: E402

NOISE = 4.0  # per-dimension noise around the class centres, relative to their unit-variance entries
LOAD_BATCH = 5000
NAN = float("nan")
REFERENCE_ROWS = 256
LEVELS = 101
SIDES = ["eval", "numpy", "floor"]
SERVER_SIDES = {"server": "batch-query", "server-block": "block"}  # side -> ranking method on the server
SERVER_PREFIX = "eval_scale_"  # the server's collection: eval_scale_synthetic<n>, dropped at the end


@dataclass(frozen=True)
class Points:
    """The synthetic points of one size: `n` unit vectors of `dim` dimensions in `classes` classes, each
    `noise` (per dimension) around its class centre."""

    n: int
    dim: int
    classes: int
    noise: float = NOISE


def synthetic(points: Points, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit float32 vectors scattered around one random centre per class, and labels."""
    n, dim, classes = points.n, points.dim, points.classes
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    vectors = (rng.normal(size=(classes, dim))[labels] + rng.normal(scale=points.noise, size=(n, dim))).astype(
        np.float32
    )
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


def build(folder: Path, name: str, points: Points, *, url: str | None = None) -> float:
    """Write the synthetic collection with the store's bulk load (to the server at `url` if given); the seconds it took."""
    vectors, labels = synthetic(points)
    n = points.n
    started = time.perf_counter()
    store = open_store(url=url, api_key=os.environ.get("QDRANT_API_KEY"), path=folder)
    store.ensure_collection(name, points.dim, recreate=True)
    with store.bulk_load(name) as loader:
        for start in range(0, n, LOAD_BATCH):
            rows = range(start, min(start + LOAD_BATCH, n))
            paths = [f"c{labels[i]}/{i:06d}.jpg" for i in rows]
            payloads = [
                ImagePayload(f"c{labels[i]}", p, "synthetic", "bench", i) for i, p in zip(rows, paths, strict=True)
            ]
            loader.add([point_id("synthetic", p) for p in paths], vectors[rows.start : rows.stop], payloads)
    store.close()
    return time.perf_counter() - started


def numpy_reference(vectors: np.ndarray, labels: np.ndarray) -> float:
    """mAP of exact cosine leave-one-out in blocks of rows, with the evaluation's other figures computed too."""
    n = len(labels)
    r = np.bincount(labels)[labels] - 1
    ap = np.empty(n)
    figures = {"p1": 0.0, "p5": 0.0, "p10": 0.0, "r_precision": 0.0, "pr": np.zeros(LEVELS)}
    for start in range(0, n, REFERENCE_ROWS):
        rows = np.arange(start, min(start + REFERENCE_ROWS, n))
        similarity = vectors[rows] @ vectors.T
        similarity[np.arange(len(rows)), rows] = -np.inf
        order = np.argsort(-similarity, axis=1)[:, :-1]
        relevant = labels[order] == labels[rows, None]
        hits = np.cumsum(relevant, axis=1, dtype=np.int32)
        precision = hits / np.arange(1, n)
        ap[rows] = (precision * relevant).sum(axis=1) / r[rows]
        for k in (1, 5, 10):
            figures[f"p{k}"] += float((hits[:, k - 1] / k).sum())
        figures["r_precision"] += float((hits[np.arange(len(rows)), r[rows] - 1] / r[rows]).sum())
        at, rank = np.nonzero(relevant)  # precision at each relevant hit, then the best at or after it
        at_hit = np.zeros((len(rows), int(r[rows].max())))
        at_hit[at, hits[at, rank] - 1] = precision[at, rank]
        best_after = np.maximum.accumulate(at_hit[:, ::-1], axis=1)[:, ::-1]
        needed = np.ceil(np.arange(LEVELS)[None, :] * r[rows, None] / (LEVELS - 1)).astype(int)
        figures["pr"] += np.take_along_axis(best_after, np.clip(needed - 1, 0, None), axis=1).sum(axis=0)
    return float(ap.mean())


def floor(vectors: np.ndarray) -> None:
    """The matrix products of the evaluation's blocks, each dropped: the arithmetic alone."""
    rows = block_rows(len(vectors))
    for start in range(0, len(vectors), rows):
        vectors[start : start + rows] @ vectors.T


def peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def side(which: str, folder: Path, name: str, *, points: Points, url: str | None = None) -> dict:
    """One side's run, in this (fresh) process."""
    if which in ("numpy", "floor"):
        vectors, labels = synthetic(points)
        started = time.perf_counter()
        mean_ap = numpy_reference(vectors, labels) if which == "numpy" else floor(vectors)
        return {"seconds": time.perf_counter() - started, "map": mean_ap, "rss_gb": peak_rss_gb()}
    opened = time.perf_counter()
    if which in SERVER_SIDES:
        store = open_store(url=url, api_key=os.environ.get("QDRANT_API_KEY"))
        name = SERVER_PREFIX + name
    else:
        store = open_store(path=folder, create=False)
    started = time.perf_counter()
    evaluation = leave_one_out(store, name, RankingRequest(method=SERVER_SIDES.get(which, "auto")))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "open": started - opened,
        "ranking": evaluation.seconds_ranking,
        "metrics": evaluation.seconds_metrics,
        "map": evaluation.mean_ap,
        "rss_gb": peak_rss_gb(),
    }


def in_turns(sides: list[str], repeat: int, run: Callable[[str], dict]) -> dict[str, list[dict]]:
    """Each side's `repeat` runs, the sides taking turns so that all see the same load on a shared machine."""
    runs: dict[str, list[dict]] = {which: [] for which in sides}
    for _ in range(repeat):
        for which in sides:
            runs[which].append(run(which))
    return runs


def run_side(which: str, folder: Path, n: int, *, args: argparse.Namespace) -> dict:
    """`side` in a fresh process, so that its peak RSS is its own."""
    command = [sys.executable, __file__, "--side", which, "--folder", str(folder), "--sizes", str(n)]
    command += ["--dim", str(args.dim), "--classes", str(args.classes)] + (["--url", args.url] if args.url else [])
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sides", nargs="+", choices=SIDES, default=SIDES, help="leave numpy out at sizes where it takes too long"
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("QDRANT_URL"),
        help="also evaluate the same points on this Qdrant server, both ways (default: QDRANT_URL)",
    )
    parser.add_argument("--side", choices=SIDES + list(SERVER_SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        n = args.sizes[0]
        points = Points(n, args.dim, args.classes)
        print(json.dumps(side(args.side, args.folder, f"synthetic{n}", points=points, url=args.url)))
        return
    print(
        f"{'points':>7} {'build s':>8} {'open s':>7} {'eval s':>8} {'numpy s':>8} {'floor s':>8} {'ev/np':>6} "
        f"{'ev/floor':>8} {'|mAP diff|':>10} {'eval GB':>8} {'numpy GB':>8}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="eval_scale_") as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"store{n}"
            built = build(folder, f"synthetic{n}", Points(n, args.dim, args.classes))
            asked = in_turns(args.sides, args.repeat, partial(run_side, folder=folder, n=n, args=args))
            runs: dict[str, list[dict]] = {which: [] for which in SIDES} | asked
            ev, ref = runs["eval"], runs["numpy"] or [{"seconds": NAN, "map": NAN, "rss_gb": NAN}]
            eval_s, ref_s, floor_s = (
                statistics.median(r["seconds"] for r in rs) if rs else NAN for rs in runs.values()
            )
            print(
                f"{n:>7} {built:>8.1f} {statistics.median(r['open'] for r in ev):>7.2f} {eval_s:>8.2f} {ref_s:>8.2f} "
                f"{floor_s:>8.2f} {eval_s / ref_s:>6.2f} {eval_s / floor_s:>8.2f} "
                f"{abs(ev[-1]['map'] - ref[-1]['map']):>10.2e} "
                f"{max(r['rss_gb'] for r in ev):>8.2f} {max(r['rss_gb'] for r in ref):>8.2f}",
                flush=True,
            )
            print(
                f"        eval split (median): ranking (read + score + rank) "
                f"{statistics.median(r['ranking'] for r in ev):.2f} s, metrics "
                f"{statistics.median(r['metrics'] for r in ev):.2f} s; mAP {ev[-1]['map']:.6f}",
                flush=True,
            )
            if args.url:
                on_server(folder, n, args, floor_s=floor_s)


def on_server(folder: Path, n: int, args: argparse.Namespace, *, floor_s: float) -> None:
    """The same points on the server at `args.url`: batch query against the block path, in turns; then dropped."""
    name = f"{SERVER_PREFIX}synthetic{n}"
    built = build(folder, name, Points(n, args.dim, args.classes), url=args.url)
    try:
        runs: dict[str, list[dict]] = {which: [] for which in SERVER_SIDES}
        for _ in range(args.repeat):
            for which in SERVER_SIDES:
                runs[which].append(run_side(which, folder, n, args=args))
    finally:
        open_store(url=args.url, api_key=os.environ.get("QDRANT_API_KEY")).drop(name)
    batch, block = (statistics.median(r["seconds"] for r in runs[which]) for which in SERVER_SIDES)
    print(
        f"        server {args.url}: built in {built:.1f} s; batch-query {batch:.2f} s, block (vectors read "
        f"from the server) {block:.2f} s, batch-query / block {batch / block:.2f}, batch-query / floor "
        f"{batch / floor_s:.2f}; |mAP diff| {abs(runs['server'][-1]['map'] - runs['server-block'][-1]['map']):.2e}",
        flush=True,
    )


if __name__ == "__main__":
    main()
