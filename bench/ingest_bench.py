"""Ingest speed against the encoder's own speed (issue 7's P1), on real photos.

For each encoder, in a fresh process of its own (so peak memory is its own):
the raw forward rate on arrays already in memory, the end-to-end rate of
`ingest` into a fresh embedded collection with the same model, batch size and
threads, their ratio P1, peak RSS, and where an image's time goes (decode,
preprocess, forward, upsert). Deep encoders use random weights at full size:
the arithmetic is that of the real weights.

On a machine with few cores, decoding and the forward pass share the CPU, so
P1 cannot reach 1: the bench also prints the bound 1 / (1/raw + decode and
preprocess seconds per image), the rate when decoding and the forward pass
take turns on the CPU, and e2e / bound. With --repeat N the encoders run in
turns N times (interleaved, so all see the same load) and each ratio is
printed as median [min - max].

    python bench/ingest_bench.py                       # resnet18 dinov2 clip colorhist, Corel-1K
    python bench/ingest_bench.py --encoders resnet18 --images 256 --workers 2 --repeat 3
    python bench/ingest_bench.py --data DATASET --encoders resnet18 --init random-tiny --images 8
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COREL = ROOT.parent / "shared" / "data" / "corel1k"


def _subset(folder: Path, images: int):
    from ingest import read_dataset

    dataset = read_dataset(folder)
    step = max(1, len(dataset.items) // images)
    dataset.items = dataset.items[::step][:images]
    return dataset


def _raw_rate(encoder, arrays, batch_size: int) -> float:
    import numpy as np

    encoder.embed_images(np.stack(arrays[:batch_size]))  # warm-up
    started = time.perf_counter()
    for start in range(0, len(arrays), batch_size):
        encoder.embed_images(np.stack(arrays[start : start + batch_size]))
    return len(arrays) / (time.perf_counter() - started)


@dataclass(frozen=True)
class Run:
    """How each encoder is measured: `images` of the dataset at `folder`, in batches of `batch_size`, with
    `workers` decoding processes and `threads` torch threads, the weights drawn as `init` says."""

    folder: Path
    images: int
    batch_size: int
    workers: int
    threads: int
    init: str


def measure(name: str, run: Run) -> dict:
    """All figures for one encoder, in this process."""
    import numpy as np
    import torch

    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset
    from media.images import load_rgb
    from store import ImagePayload, open_store

    torch.set_num_threads(run.threads)
    encoder = build_encoder(name, "cpu", init="pretrained" if name == "colorhist" else run.init)
    dataset = _subset(run.folder, run.images)
    transform = encoder.transform()
    decode = preprocess = 0.0
    arrays = []
    for item in dataset.items:
        t0 = time.perf_counter()
        image = load_rgb(dataset.image_root / item.path)
        t1 = time.perf_counter()
        arrays.append(transform(image))
        decode, preprocess = decode + t1 - t0, preprocess + time.perf_counter() - t1
    raw_before = _raw_rate(encoder, arrays, run.batch_size)

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(path=Path(tmp) / "q")
        started = time.perf_counter()
        report = ingest_dataset(dataset, encoder, store, options=IngestOptions(run.batch_size, run.workers))
        end_to_end = report.written / (time.perf_counter() - started)
        vectors = np.random.default_rng(0).normal(size=(len(arrays), encoder.dim)).astype(np.float32)
        store.ensure_collection("upsert_only", encoder.dim)
        ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(len(arrays))]
        payloads = [ImagePayload("x", str(i), "bench", name, i) for i in range(len(arrays))]
        t0 = time.perf_counter()
        for start in range(0, len(ids), run.batch_size):
            stop = start + run.batch_size
            store.upsert("upsert_only", ids[start:stop], vectors[start:stop], payloads=payloads[start:stop])
        upsert = time.perf_counter() - t0
        store.close()
    raw_after = _raw_rate(encoder, arrays, run.batch_size)
    raw = max(raw_before, raw_after)
    n = len(arrays)
    bound = 1 / (1 / raw + (decode + preprocess) / n)
    peak = (
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        / 1024
    )
    return {
        "encoder": name,
        "images": n,
        "batch_size": run.batch_size,
        "workers": run.workers,
        "threads": run.threads,
        "raw_img_s": raw,
        "raw_before": raw_before,
        "raw_after": raw_after,
        "e2e_img_s": end_to_end,
        "bound_img_s": bound,
        "P1": end_to_end / raw,
        "of_bound": end_to_end / bound,
        "peak_mb": peak,
        "decode_ms": 1000 * decode / n,
        "preprocess_ms": 1000 * preprocess / n,
        "forward_ms": 1000 / raw,
        "upsert_ms": 1000 * upsert / n,
    }


def spread(values: list[float]) -> str:
    """median [min - max] of interleaved repeats."""
    return f"{statistics.median(values):.3f} [{min(values):.3f} - {max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", default="resnet18,dinov2,clip,colorhist")
    parser.add_argument("--data", type=Path, default=COREL, help="a dataset folder (default: Corel-1K)")
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", default="random", choices=["random", "random-tiny", "pretrained"])
    parser.add_argument("--repeat", type=int, default=1, help="interleaved turns over the encoders")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        row = measure(args.one, Run(args.data, args.images, args.batch_size, args.workers, args.threads, args.init))
        print(json.dumps(row))
        return
    if not args.data.is_dir():
        sys.exit(f"no dataset at {args.data}; pass --data with a dataset folder")
    print(
        f"{'encoder':10} {'images':>6} {'raw/s':>7} {'e2e/s':>7} {'bound/s':>7} {'P1':>5} {'e2e/bd':>6} "
        f"{'peak MB':>8} {'decode':>7} {'prep':>6} {'fwd':>7} {'upsert':>7}  (ms per image)"
    )
    names = args.encoders.split(",")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(args.repeat):  # in turns, so that every encoder sees the same load on a shared machine
        for name in names:
            command = [sys.executable, __file__, "--one", name, "--data", str(args.data), "--images", str(args.images)]
            command += ["--batch-size", str(args.batch_size), "--workers", str(args.workers)]
            command += ["--threads", str(args.threads), "--init", args.init]
            r = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            runs[name].append(r)
            print(
                f"{name:10} {r['images']:>6} {r['raw_img_s']:>7.1f} {r['e2e_img_s']:>7.1f} {r['bound_img_s']:>7.1f} "
                f"{r['P1']:>5.2f} {r['of_bound']:>6.2f} {r['peak_mb']:>8.0f} {r['decode_ms']:>7.2f} "
                f"{r['preprocess_ms']:>6.2f} {r['forward_ms']:>7.1f} {r['upsert_ms']:>7.2f}",
                flush=True,
            )
    print(f"median [min - max] of {args.repeat} interleaved run(s):")
    for name, rows in runs.items():
        print(
            f"{name:10} P1 {spread([r['P1'] for r in rows])}   e2e / bound {spread([r['of_bound'] for r in rows])}",
            flush=True,
        )


if __name__ == "__main__":
    main()
