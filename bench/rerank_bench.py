"""Re-ranked leave-one-out (aqe, dba, dba+aqe) against a plain one, on the embedded store.

A synthetic collection (default 6,000 points, 384-d, 10 classes; the
generator of bench/eval_bench.py) is written to an embedded store on disk and
reopened, then `evaluation.leave_one_out` runs plain and with each re-ranking
(k=2, alpha=3), interleaved, --repeat times. It prints the median seconds of
each, the median of the per-repeat ratios to plain (target: at most 2x), and
the mAPs. Not a test: figures only. Usage: python bench/rerank_bench.py [--points 6000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_bench import synthetic, write_collection  # noqa: E402
from evaluation import RankingRequest, Rerank, leave_one_out  # noqa: E402
from store import open_store  # noqa: E402

METHODS = ("aqe", "dba", "dba+aqe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=6000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    vectors, labels = synthetic(args.points, args.dim, args.classes)
    with tempfile.TemporaryDirectory(prefix="rerank_bench_") as tmp:
        write_collection(Path(tmp) / "store", "synthetic_bench", vectors=vectors, labels=labels)
        store = open_store(path=Path(tmp) / "store")
        seconds: dict[str, list[float]] = {name: [] for name in ("plain", *METHODS)}
        maps: dict[str, float] = {}
        for _ in range(args.repeat):  # interleaved, so that every variant sees the same load
            for name in seconds:
                stage = None if name == "plain" else Rerank(name)
                started = time.perf_counter()
                evaluation = leave_one_out(store, "synthetic_bench", RankingRequest(stage=stage))
                seconds[name].append(time.perf_counter() - started)
                maps[name] = evaluation.mean_ap
        store.close()
    print(f"{args.points} points, {args.dim}-d, {args.classes} classes, k=2, alpha=3, {args.repeat} repeats")
    print(f"{'variant':>8} {'median s':>9} {'ratio':>6} {'mAP':>8}")
    for name, times in seconds.items():
        ratio = statistics.median(t / p for t, p in zip(times, seconds["plain"], strict=True))
        print(f"{name:>8} {statistics.median(times):>9.2f} {ratio:>6.2f} {maps[name]:>8.5f}")


if __name__ == "__main__":
    main()
