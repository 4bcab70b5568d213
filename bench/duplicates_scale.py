"""`duplicates` at 10,000 to 100,000 points against the matrix-product floor of `bench/eval_scale.py`.

For each size it builds eval_scale's synthetic collection (384-d, 10 classes)
in an embedded store on disk with eval_scale's `build`, then runs, in turns,
--repeat times each, one subprocess per side:

- duplicates: open the store and `duplicates.find_within` (read vectors and
  payloads a page at a time, score the upper triangle in blocks of rows,
  group the pairs), at --threshold;
- floor: eval_scale's `floor`: the matrix products of the evaluation's blocks
  over every row and column (n x n), the arithmetic no leave-one-out can avoid.

It prints the medians, duplicates / floor, the pairs and groups found and the
peak RSS of each side. Not a test: figures only. Usage:
python bench/duplicates_scale.py [--sizes 10000 50000 100000] [--repeat 3] [--threshold 0.95]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_scale import Points, build, floor, in_turns, peak_rss_gb, synthetic  # noqa: E402

SIDES = ["duplicates", "floor"]


def side(which: str, folder: Path, *, points: Points, threshold: float) -> dict:
    """One side's run, in this (fresh) process."""
    if which == "floor":
        vectors, _ = synthetic(points)
        started = time.perf_counter()
        floor(vectors)
        return {"seconds": time.perf_counter() - started, "rss_gb": peak_rss_gb()}
    from duplicates import DuplicateOptions, find_within
    from store import open_store

    store = open_store(path=folder, create=False)
    started = time.perf_counter()
    report = find_within(store, f"synthetic{points.n}", DuplicateOptions(threshold=threshold))
    seconds = time.perf_counter() - started
    pairs = sum(len(group.pairs) for group in report.groups)
    return {"seconds": seconds, "rss_gb": peak_rss_gb(), "pairs": pairs, "groups": len(report.groups)}


def run_side(which: str, folder: Path, n: int, *, args: argparse.Namespace) -> dict:
    """`side` in a fresh process, so that its peak RSS is its own."""
    command = [sys.executable, __file__, "--side", which, "--folder", str(folder), "--sizes", str(n)]
    command += ["--dim", str(args.dim), "--classes", str(args.classes), "--threshold", str(args.threshold)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        points = Points(args.sizes[0], args.dim, args.classes)
        print(json.dumps(side(args.side, args.folder, points=points, threshold=args.threshold)))
        return
    print(
        f"{'points':>7} {'build s':>8} {'dupes s':>8} {'floor s':>8} {'dupes/floor':>11} {'pairs':>7} {'groups':>7} "
        f"{'dupes GB':>8} {'floor GB':>8}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="duplicates_scale_") as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"store{n}"
            built = build(folder, f"synthetic{n}", Points(n, args.dim, args.classes))
            runs = in_turns(SIDES, args.repeat, partial(run_side, folder=folder, n=n, args=args))
            dupes, floor_s = (statistics.median(r["seconds"] for r in runs[which]) for which in SIDES)
            last = runs["duplicates"][-1]
            print(
                f"{n:>7} {built:>8.1f} {dupes:>8.2f} {floor_s:>8.2f} {dupes / floor_s:>11.2f} {last['pairs']:>7} "
                f"{last['groups']:>7} {max(r['rss_gb'] for r in runs['duplicates']):>8.2f} "
                f"{max(r['rss_gb'] for r in runs['floor']):>8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
