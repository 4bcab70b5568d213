"""Ingest speed against the encoder's own speed (issue 7's P1), on real photos.

For each encoder, in a fresh process of its own (so peak memory is its own):
the raw forward rate on arrays already in memory, the end-to-end rate of
`ingest` into a fresh embedded collection with the same model, batch size and
threads, their ratio P1, peak RSS, and where an image's time goes (decode,
preprocess, forward, upsert). Deep encoders use random weights at full size:
the arithmetic is that of the real weights.

    python bench/ingest_bench.py                       # resnet18 dinov2 clip colorhist
    python bench/ingest_bench.py --encoders resnet18 --images 256 --workers 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COREL = ROOT.parent / "shared" / "data" / "corel1k"


def _subset(images: int):
    from ingest import read_dataset

    dataset = read_dataset(COREL, "corel1k")
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


def measure(name: str, images: int, batch_size: int, workers: int, threads: int, init: str) -> dict:
    """All figures for one encoder, in this process."""
    import numpy as np
    import torch

    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset
    from media.images import load_rgb
    from store import open_store

    torch.set_num_threads(threads)
    encoder = build_encoder(name, "cpu", init="pretrained" if name == "colorhist" else init)
    dataset = _subset(images)
    transform = encoder.transform()
    decode = preprocess = 0.0
    arrays = []
    for item in dataset.items:
        t0 = time.perf_counter()
        image = load_rgb(dataset.image_root / item.path)
        t1 = time.perf_counter()
        arrays.append(transform(image))
        decode, preprocess = decode + t1 - t0, preprocess + time.perf_counter() - t1
    raw_before = _raw_rate(encoder, arrays, batch_size)

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(path=Path(folder) / "q")
        started = time.perf_counter()
        report = ingest_dataset(dataset, encoder, store, IngestOptions(batch_size, workers))
        end_to_end = report.written / (time.perf_counter() - started)
        vectors = np.random.default_rng(0).normal(size=(len(arrays), encoder.dim)).astype(np.float32)
        store.ensure_collection("upsert_only", encoder.dim)
        ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(len(arrays))]
        payloads = [{"label": "x", "path": str(i), "index": i} for i in range(len(arrays))]
        t0 = time.perf_counter()
        for start in range(0, len(ids), batch_size):
            stop = start + batch_size
            store.upsert("upsert_only", ids[start:stop], vectors[start:stop], payloads[start:stop])
        upsert = time.perf_counter() - t0
        store.close()
    raw_after = _raw_rate(encoder, arrays, batch_size)
    raw = max(raw_before, raw_after)
    n = len(arrays)
    peak = (
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        / 1024
    )
    return {
        "encoder": name,
        "images": n,
        "batch_size": batch_size,
        "workers": workers,
        "threads": threads,
        "raw_img_s": raw,
        "raw_before": raw_before,
        "raw_after": raw_after,
        "e2e_img_s": end_to_end,
        "P1": end_to_end / raw,
        "peak_mb": peak,
        "decode_ms": 1000 * decode / n,
        "preprocess_ms": 1000 * preprocess / n,
        "forward_ms": 1000 / raw,
        "upsert_ms": 1000 * upsert / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", default="resnet18,dinov2,clip,colorhist")
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", default="random", choices=["random", "pretrained"])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.images, args.batch_size, args.workers, args.threads, args.init)))
        return
    if not (COREL / "list_of_images.txt").is_file():
        sys.exit(f"the Corel-1K set is not at {COREL}")
    print(
        f"{'encoder':10} {'images':>6} {'raw/s':>7} {'e2e/s':>7} {'P1':>5} {'peak MB':>8} "
        f"{'decode':>7} {'prep':>6} {'fwd':>7} {'upsert':>7}  (ms per image)"
    )
    for name in args.encoders.split(","):
        command = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--images",
            str(args.images),
            "--batch-size",
            str(args.batch_size),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--init",
            args.init,
        ]
        r = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        print(
            f"{name:10} {r['images']:>6} {r['raw_img_s']:>7.1f} {r['e2e_img_s']:>7.1f} {r['P1']:>5.2f} "
            f"{r['peak_mb']:>8.0f} {r['decode_ms']:>7.2f} {r['preprocess_ms']:>6.2f} "
            f"{r['forward_ms']:>7.1f} {r['upsert_ms']:>7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
