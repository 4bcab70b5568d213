"""Near-duplicate detection on real photos with planted copies: precision and recall of pairs per threshold.

A seeded sample of originals from a labeled dataset (Corel-1K by default,
spread over its classes) is copied into a temporary folder, each beside four
planted copies: re-encoded as JPEG at quality 70, resized to half, a 90%
centre crop, and 10% brighter. Each encoder embeds originals and copies into
a temporary store; every pair of points is then scored
(`store.close_pairs.pairs_within`, what `duplicates` runs) and a pair is a
true duplicate when both images come from the same original (the ten pairs
among an original and its four copies). Distinct photos, those of the same
class first of all, are the negatives. It prints, per encoder, precision,
recall and F1 at a grid of thresholds, the false positives that are distinct
photos of the same class, and the threshold with the best F1 (the default
`duplicates/thresholds.py` records for an encoder with real weights), with
the recall of each kind of copy there.

    python bench/duplicates_bench.py                                      # colorhist, 300 originals
    python bench/duplicates_bench.py --encoders dinov2 clip               # where their weights exist
    python bench/duplicates_bench.py --encoders resnet18 --init random --originals 60
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COREL = Path(os.environ.get("RETRIEVAL_COREL1K") or ROOT.parent / "shared" / "data" / "corel1k")
SEPARATOR = "__"  # a copy's file is <original stem>__<kind>.jpg
GRID = (0.80, 0.90, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)


def _jpeg(image: Image.Image, quality: int = 95) -> bytes:
    out = BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _centre_crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    cw, ch = round(w * share), round(h * share)
    left, top = (w - cw) // 2, (h - ch) // 2
    return image.crop((left, top, left + cw, top + ch))


COPIES = {  # kind -> the copy's JPEG bytes from the original picture
    "jpeg70": lambda image: _jpeg(image, quality=70),
    "half": lambda image: _jpeg(image.resize((max(1, image.width // 2), max(1, image.height // 2)), Image.LANCZOS)),
    "crop90": lambda image: _jpeg(_centre_crop(image, 0.9)),
    "bright10": lambda image: _jpeg(ImageEnhance.Brightness(image).enhance(1.1)),
}


def plant_copies(source: Path, target: Path, originals: int, *, seed: int = 0) -> Path:
    """A dataset folder at `target` (images/<class>/..., list_of_images.txt): `originals` photos of the dataset
    at `source`, a seeded sample spread evenly over its classes, each beside its four planted copies."""
    from ingest import read_dataset

    dataset = read_dataset(source)
    rng = np.random.default_rng(seed)
    by_class: dict[str, list] = {}
    for item in dataset.items:
        by_class.setdefault(item.label, []).append(item)
    per_class = max(1, originals // len(by_class))
    chosen = [
        item
        for items in by_class.values()
        for item in (items[i] for i in sorted(rng.choice(len(items), min(per_class, len(items)), replace=False)))
    ][:originals]
    lines = []
    for item in chosen:
        stem = Path(item.path).with_suffix("")
        folder = target / "images" / stem.parent
        folder.mkdir(parents=True, exist_ok=True)
        data = (dataset.image_root / item.path).read_bytes()
        (folder / f"{stem.name}.jpg").write_bytes(data)
        lines.append(f"{stem}.jpg\t{item.label}")
        with Image.open(BytesIO(data)) as picture:
            picture = picture.convert("RGB")
            for kind, copy in COPIES.items():
                (folder / f"{stem.name}{SEPARATOR}{kind}.jpg").write_bytes(copy(picture))
                lines.append(f"{stem}{SEPARATOR}{kind}.jpg\t{item.label}")
    (target / "list_of_images.txt").write_text("\n".join(lines) + "\n")
    return target


def original_of(path: str) -> str:
    """The original a stored path comes from (itself for an original)."""
    return path.split(SEPARATOR)[0].removesuffix(".jpg")


def kind_of(path: str) -> str:
    return path.removesuffix(".jpg").split(SEPARATOR)[1] if SEPARATOR in path else "original"


@dataclass(frozen=True)
class Scored:
    """Every pair of one encoder's points: cosine, whether both come from one original, whether same class,
    and the copy kind of the pair's second image when the first is its original ('' otherwise)."""

    score: np.ndarray
    duplicate: np.ndarray
    same_class: np.ndarray
    kind: np.ndarray

    def at(self, threshold: float) -> tuple[float, float, float, int]:
        """(precision, recall, F1, false positives of the same class) of the pairs at or above `threshold`."""
        found = self.score >= threshold
        true = int((found & self.duplicate).sum())
        precision = true / max(1, int(found.sum())) if found.any() else 1.0
        recall = true / max(1, int(self.duplicate.sum()))
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1, int((found & ~self.duplicate & self.same_class).sum())

    def best(self) -> float:
        """The threshold with the best F1: halfway between the last pair kept and the next, rounded down to 4
        decimals unless that would let the next pair in."""
        order = np.argsort(-self.score, kind="stable")
        hits = np.cumsum(self.duplicate[order])
        kept = np.arange(1, len(order) + 1)
        f1 = 2 * hits / (kept + self.duplicate.sum())
        k = int(np.argmax(f1))
        low = float(self.score[order[k + 1]]) if k + 1 < len(order) else -1.0
        high = float(self.score[order[k]])
        rounded = np.floor((low + high) / 2 * 1e4) / 1e4
        return float(rounded) if low < rounded <= high else high


def scored(store, collection: str) -> Scored:
    """Every pair of `collection`'s points with its truth, scored as `duplicates` scores them."""
    from store.close_pairs import pairs_within

    points = store.points(collection, with_vectors=True)
    paths = [p.path for p in points.payloads]
    source = np.unique([original_of(p) for p in paths], return_inverse=True)[1]
    label = np.unique([p.label for p in points.payloads], return_inverse=True)[1]
    pairs = pairs_within(points.vectors, -2.0)  # every pair: the sweep below needs them all
    i, j = pairs.first, pairs.second
    kinds = np.array([kind_of(p) for p in paths])
    is_original = kinds == "original"
    kind = np.where(is_original[i] & (source[i] == source[j]), kinds[j], "")
    return Scored(pairs.score, source[i] == source[j], label[i] == label[j], kind)


def measure(name: str, folder: Path, args: argparse.Namespace) -> None:
    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset, read_dataset
    from store import open_store

    dataset = read_dataset(folder, "planted")
    store = open_store(path=folder.parent / f"store_{name}")
    try:
        encoder = build_encoder(name, "cpu", init=args.init)
        ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0, batch_size=args.batch_size))
        pairs = scored(store, f"planted_{name}")
    finally:
        store.close()
    weights = "real" if name == "colorhist" or args.init == "pretrained" else f"{args.init} weights: not a default"
    print(f"{name} ({weights}): {len(dataset.items)} images, {int(pairs.duplicate.sum())} duplicate pairs")
    print(f"  {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>6} {'FP same class':>13}")
    best = pairs.best()
    for threshold in sorted({*GRID, best}):
        precision, recall, f1, same = pairs.at(threshold)
        mark = "  <- best F1" if threshold == best else ""
        print(f"  {threshold:>9.4f} {precision:>9.4f} {recall:>7.4f} {f1:>6.4f} {same:>13}{mark}")
    found = pairs.score >= best
    by_kind = ", ".join(
        f"{kind} {(found & (pairs.kind == kind)).sum() / max(1, (pairs.kind == kind).sum()):.3f}" for kind in COPIES
    )
    precision, recall, f1, same = pairs.at(best)
    print(f"{name} best F1 {f1:.4f} at threshold {best:.4f} (precision {precision:.4f}, recall {recall:.4f})")
    print(f"  recall of original ~ copy at {best:.4f}: {by_kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", nargs="+", default=["colorhist"])
    parser.add_argument("--originals", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", type=Path, default=COREL, help="a labeled dataset folder (default: Corel-1K)")
    parser.add_argument("--init", default="pretrained", choices=["pretrained", "random", "random-tiny"])
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no dataset at {args.data}")
        return
    with tempfile.TemporaryDirectory(prefix="duplicates_bench_") as tmp:
        folder = plant_copies(args.data, Path(tmp) / "Planted", args.originals, seed=args.seed)
        originals = (folder / "list_of_images.txt").read_text().count("\n") // (len(COPIES) + 1)
        print(f"{originals} originals of {args.data}, each with {len(COPIES)} copies: {', '.join(COPIES)}")
        for name in args.encoders:
            measure(name, folder, args)


if __name__ == "__main__":
    main()
