"""bf16 against fp32: forward speed and how far the vectors move, on real photos.

For each encoder (random weights at full size: the arithmetic of the real
ones), the same Corel-1K images, decoded and preprocessed once, go through an
fp32 and a bf16 build of the same model, batch by batch in turns (fp32 then
bf16 on each batch, so both see the same machine load), `repeats` times. It
prints images/s of each (median over the repeats), their ratio, and the
cosine between each image's fp32 and bf16 vectors (mean and minimum). The
device is CUDA when one is visible, else the CPU (bf16 needs AVX512-BF16
there); the bench skips where the set or bf16 is missing.

    python bench/precision_bench.py                                   # dinov2 resnet18, 160 images, 3 repeats
    python bench/precision_bench.py --encoders dinov2 --images 320 --repeats 5
    python bench/precision_bench.py --data DATASET --encoders resnet18 --init random-tiny --images 4 --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COREL = ROOT.parent / "shared" / "data" / "corel1k"


def _batches(encoder, folder: Path, *, images: int, batch_size: int) -> list:
    """The first `images` of an even sample of a dataset (`folder`) through the encoder's transform, in batches."""
    import numpy as np

    from ingest import read_dataset
    from media.images import load_rgb

    dataset = read_dataset(folder)
    items = dataset.items[:: max(1, len(dataset.items) // images)][:images]
    transform = encoder.transform()
    arrays = [transform(load_rgb(dataset.image_root / item.path)) for item in items]
    return [np.stack(arrays[i : i + batch_size]) for i in range(0, len(arrays), batch_size)]


@dataclass(frozen=True)
class Run:
    """How each encoder is measured: on `device`, `images` of the dataset at `folder` in batches of
    `batch_size`, `repeats` times, the weights drawn as `init` says."""

    device: str
    folder: Path
    images: int
    batch_size: int
    repeats: int
    init: str


def measure(name: str, run: Run) -> dict:
    import numpy as np

    from encoders import build_encoder

    models = {p: build_encoder(name, run.device, init=run.init, precision=p) for p in ("fp32", "bf16")}
    batches = _batches(models["fp32"], run.folder, images=run.images, batch_size=run.batch_size)
    for model in models.values():
        model.embed_images(batches[0])  # warm-up
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    vectors: dict[str, list] = {"fp32": [], "bf16": []}
    for repeat in range(run.repeats):
        seconds = {"fp32": 0.0, "bf16": 0.0}
        for batch in batches:
            for precision, model in models.items():
                started = time.perf_counter()
                out = model.embed_images(batch)
                seconds[precision] += time.perf_counter() - started
                if repeat == 0:
                    vectors[precision].append(out)
        count = sum(len(batch) for batch in batches)
        for precision in rates:
            rates[precision].append(count / seconds[precision])
    cosines = np.sum(np.concatenate(vectors["fp32"]) * np.concatenate(vectors["bf16"]), axis=1)
    fp32, bf16 = statistics.median(rates["fp32"]), statistics.median(rates["bf16"])
    return {
        "encoder": name,
        "images": sum(len(batch) for batch in batches),
        "fp32 img/s": fp32,
        "bf16 img/s": bf16,
        "speed-up": bf16 / fp32,
        "cosine mean": float(cosines.mean()),
        "cosine min": float(cosines.min()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", nargs="+", default=["dinov2", "resnet18"])
    parser.add_argument("--images", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=COREL, help="a dataset folder (default: Corel-1K)")
    parser.add_argument("--init", default="random", choices=["random", "random-tiny"], help="random: full size")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no dataset at {args.data}")
        return
    from encoders.interface import resolve_device
    from encoders.precision import precision_problem

    device = resolve_device("auto")
    problem = precision_problem("bf16", device)
    if problem is not None:
        print(f"skipped: bf16 on {device}: {problem}")
        return
    import torch

    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print(
        f"{'encoder':10} {'images':>6} {'fp32 img/s':>10} {'bf16 img/s':>10} {'speed-up':>8} {'cos mean':>9} {'cos min':>9}"
    )
    run = Run(device, args.data, args.images, args.batch_size, args.repeats, args.init)
    for name in args.encoders:
        row = measure(name, run)
        print(
            f"{row['encoder']:10} {row['images']:6d} {row['fp32 img/s']:10.1f} {row['bf16 img/s']:10.1f} "
            f"{row['speed-up']:8.2f} {row['cosine mean']:9.5f} {row['cosine min']:9.5f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
