"""Ad-hoc search speed (issue 4) on a 6,000-point collection in the embedded store.

The collection holds synthetic unit vectors whose payload names a real encoder
(default clip, full size, random weights: the arithmetic of the real model), so
the search code runs as it does on an ingested collection.

- warm: one `Searcher` (the code behind `python cli.py search`) answers
  --queries image queries; each is split into encode (decode, preprocess,
  forward) and store (top-k query) time; p50 and p95. Stored-point queries
  (no model) and label-filtered queries give the store time alone.
- cold: `python cli.py search --text` in a fresh process, end to end, against
  a fresh process that only builds the encoder (imports included): the time
  to load the encoder alone. The weights are the random ones saved as a
  checkpoint and passed with --weights, so loading takes the path real
  weights take (from_pretrained). Two more processes: the text tower alone,
  and the command's work done one step after the other (store, then model),
  to show what overlapping them saves. Medians of --repeat runs, in turns.

Not a test: it prints figures. Usage:
    python bench/search_bench.py [--points 6000] [--queries 200] [--encoder clip] [--repeat 3]
    python bench/search_bench.py --points 200 --queries 4 --repeat 1 --init random-tiny --target-only   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COREL = ROOT.parent / "shared" / "data" / "corel1k"

from encoders import get_spec  # noqa: E402
from search import Query, Searcher  # noqa: E402
from store import ImagePayload, open_store, point_id  # noqa: E402

CLASSES = 10
TEXT = "a red double-decker bus"
SEQUENTIAL = """
import sys
from encoders import build_text_encoder
from store import open_store
store = open_store(path=sys.argv[1])
info = store.info(sys.argv[2])
encoder = build_text_encoder(info.encoder, "cpu", weights=sys.argv[3])
store.query(info.name, encoder.embed_texts([sys.argv[4]])[0], 10)
store.close()
"""
LOAD_ONLY = """
import sys
import encoders
getattr(encoders, sys.argv[1])(sys.argv[2], "cpu", weights=sys.argv[3])
"""


def write_collection(folder: Path, name: str, encoder: str, *, dim: int, points: int) -> None:
    """`points` random unit vectors of the encoder's size (`dim`), with ingest's payload."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(points, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = open_store(path=folder)
    store.ensure_collection(name, vectors.shape[1], recreate=True)
    for start in range(0, points, 500):
        rows = range(start, min(start + 500, points))
        paths = [f"c{i % CLASSES}/{i:05d}.jpg" for i in rows]
        payloads = [ImagePayload(f"c{i % CLASSES}", p, "bench", encoder, i) for i, p in zip(rows, paths, strict=True)]
        store.upsert(name, [point_id("bench", p) for p in paths], vectors[rows.start : rows.stop], payloads=payloads)
    store.close()


def save_checkpoint(folder: Path, encoder: str, init: str) -> tuple[Path, int]:
    """The encoder's seeded random weights and tokenizer saved as a local model folder, and its vector size."""
    from encoders import build_encoder

    model = build_encoder(encoder, "cpu", init=init)
    model.model.save_pretrained(folder)
    model.tokenizer.save_pretrained(folder)
    return folder, model.dim


def query_images(folder: Path, count: int) -> list[Path]:
    """Corel-1K photos where present, else generated 384x256 JPEGs."""
    if (COREL / "images").is_dir():
        photos = sorted((COREL / "images").rglob("*.jpg"))
        return [photos[i * len(photos) // count] for i in range(count)]
    from PIL import Image

    rng = np.random.default_rng(1)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 256, size=(256, 384, 3), dtype=np.uint8)
        paths.append(folder / f"q{i:03d}.jpg")
        Image.fromarray(pixels).save(paths[-1], quality=90)
    return paths


def percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms"


def warm(folder: Path, name: str, images: list[Path], *, init: str) -> None:
    store = open_store(path=folder)
    searcher = Searcher(lambda: store, device="cpu", init=init)
    searcher.search(Query(name, image=images[0]))  # loads the model
    results = [searcher.search(Query(name, image=image)) for image in images]
    print(f"image query, encode        {percentiles([r.encode_seconds for r in results])}")
    print(f"image query, store         {percentiles([r.store_seconds for r in results])}")
    ids = [point_id("bench", f"c{i % CLASSES}/{i:05d}.jpg") for i in range(len(images))]
    by_id = [searcher.search(Query(name, point_id=pid)) for pid in ids]
    print(f"stored-point query, store  {percentiles([r.store_seconds for r in by_id])}")
    filtered = [searcher.search(Query(name, point_id=pid, label="c3")) for pid in ids[:50]]
    print(f"... with --label (50)      {percentiles([r.store_seconds for r in filtered])}")
    store.close()


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
    )
    return time.perf_counter() - started


def cold(folder: Path, name: str, encoder: str, *, weights: Path, repeat: int, target_only: bool = False) -> None:
    python = sys.executable
    commands = {
        "encoder load alone": [python, "-c", LOAD_ONLY, "build_encoder", encoder, str(weights)],
        "cli.py search --text": [
            python,
            "cli.py",
            "--storage",
            str(folder),
            "search",
            "-c",
            name,
            "--text",
            TEXT,
            "--weights",
            f"{encoder}={weights}",
            "--device",
            "cpu",
            "--format",
            "json",
        ],
    }
    if not target_only:  # what the overlap of store and model saves: two more processes
        commands["text tower load alone"] = [python, "-c", LOAD_ONLY, "build_text_encoder", encoder, str(weights)]
        commands["same steps, no overlap"] = [python, "-c", SEQUENTIAL, str(folder), name, str(weights), TEXT]
    runs: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, command in commands.items():
            runs[label].append(timed(command))
    medians = {label: statistics.median(seconds) for label, seconds in runs.items()}
    for label, seconds in runs.items():
        print(f"cold {label:24s} median {medians[label]:5.2f} s   runs {', '.join(f'{s:.2f}' for s in seconds)}")
    extra = medians["cli.py search --text"] - medians["encoder load alone"]
    print(f"cold command minus encoder load: {extra:+.2f} s (target <= +1.00 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=6000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--encoder", default="clip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--init", default="random", choices=["random", "random-tiny"], help="random: full size, the real arithmetic"
    )
    parser.add_argument(
        "--target-only",
        action="store_true",
        help="cold: only the two processes the target compares (the command, the encoder load alone)",
    )
    args = parser.parse_args()
    if not get_spec(args.encoder).text:
        parser.error(f"--encoder {args.encoder} has no text tower; the cold run queries by text")
    name = f"bench_{args.encoder}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qdrant"
        weights, dim = save_checkpoint(Path(tmp) / "weights", args.encoder, args.init)
        started = time.perf_counter()
        write_collection(folder, name, args.encoder, dim=dim, points=args.points)
        print(
            f"{name}: {args.points} points written in {time.perf_counter() - started:.1f} s; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        warm(folder, name, query_images(Path(tmp), args.queries), init=args.init)
        cold(folder, name, args.encoder, weights=weights, repeat=args.repeat, target_only=args.target_only)


if __name__ == "__main__":
    main()
