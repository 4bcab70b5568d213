"""Leave-one-out evaluation through the embedded store against a numpy reference.

For each size (default 1,000 and 6,000 points, 384-d, 10 classes) it writes a
synthetic collection with class structure into an embedded store on disk (a
temporary folder), reopens it as `python cli.py eval` would, and times, in the
same process, alternating, best of --repeat:

- eval: `evaluation.leave_one_out` (read vectors and payloads from the store,
  rank every point against the others, itself excluded, compute every figure);
- numpy: the reference on the vectors already in memory: normalise, one matrix
  product, sort each row, AP.

It prints both times, their ratio and the mAP difference. Not a test: no
assertion, figures only. Usage: python bench/eval_bench.py [--sizes 1000 6000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation import leave_one_out  # noqa: E402
from store import ImagePayload, open_store, point_id  # noqa: E402

NOISE = 4.0  # per-dimension noise around the class centres, relative to their unit-variance entries


def synthetic(n: int, dim: int, classes: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Float32 vectors (not normalised) scattered around one random centre per class, and labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    centres = rng.normal(size=(classes, dim))
    vectors = centres[labels] + rng.normal(scale=NOISE, size=(n, dim))
    return vectors.astype(np.float32), labels


def write_collection(folder: Path, name: str, *, vectors: np.ndarray, labels: np.ndarray) -> float:
    """VectorStore the points (normalised, ingest's payload); returns the seconds it took."""
    started = time.perf_counter()
    store = open_store(path=folder)
    store.ensure_collection(name, vectors.shape[1], recreate=True)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for start in range(0, len(vectors), 500):
        rows = range(start, min(start + 500, len(vectors)))
        paths = [f"c{labels[i]}/{i:05d}.jpg" for i in rows]
        payloads = [ImagePayload(f"c{labels[i]}", p, "synthetic", "bench", i) for i, p in zip(rows, paths, strict=True)]
        store.upsert(name, [point_id("synthetic", p) for p in paths], unit[rows.start : rows.stop], payloads=payloads)
    store.close()
    return time.perf_counter() - started


def numpy_reference(vectors: np.ndarray, labels: np.ndarray) -> float:
    """mAP of exact cosine leave-one-out: normalise, one matrix product, sort, AP."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1)[:, :-1]
    relevant = labels[order] == labels[:, None]
    rows, ranks = np.nonzero(relevant)  # AP sums precision at the relevant ranks only
    precision = np.cumsum(relevant, axis=1, dtype=np.int32)[rows, ranks] / (ranks + 1)
    ap = np.bincount(rows, weights=precision, minlength=len(labels)) / relevant.sum(axis=1)
    return float(np.mean(ap))


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 6000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'points':>7} {'write s':>8} {'open s':>7} {'eval s':>8} {'numpy s':>8} {'ratio':>6} "
        f"{'mAP':>8} {'|mAP diff|':>10}"
    )
    with tempfile.TemporaryDirectory(prefix="eval_bench_") as tmp:
        for n in args.sizes:
            vectors, labels = synthetic(n, args.dim, args.classes)
            name = f"synthetic_bench{n}"
            written = write_collection(Path(tmp) / f"store{n}", name, vectors=vectors, labels=labels)
            opened_at = time.perf_counter()
            store = open_store(path=Path(tmp) / f"store{n}")
            opened = time.perf_counter() - opened_at
            eval_times, ref_times = [], []
            for _ in range(args.repeat):  # alternate, so that both see the same load on a shared machine
                seconds, evaluation = timed(partial(leave_one_out, store, name))
                eval_times.append(seconds)
                seconds, ref_map = timed(partial(numpy_reference, vectors, labels))
                ref_times.append(seconds)
            eval_s, ref_s = min(eval_times), min(ref_times)
            store.close()
            print(
                f"{n:>7} {written:>8.1f} {opened:>7.2f} {eval_s:>8.2f} {ref_s:>8.2f} {eval_s / ref_s:>6.2f} "
                f"{evaluation.mean_ap:>8.5f} {abs(evaluation.mean_ap - ref_map):>10.2e}"
            )
            print(
                f"        eval split: ranking (read + score + sort) {evaluation.seconds_ranking:.2f} s, "
                f"metrics {evaluation.seconds_metrics:.2f} s (last run)"
            )


if __name__ == "__main__":
    main()
