"""A synthetic labelled vector set for `import`, the collection `tune` is benchmarked on.

Unit vectors around one random centre per class (`eval_scale.synthetic`:
noise 4 per dimension around unit-variance centres), written as
`<out>/vectors.npy` and `<out>/list.txt` (`c<class>/<n>.jpg<TAB>c<class>`, one
line per row). Then, for example:

    python bench/tune_synthetic.py --points 20000 --dim 384 --classes 100 --out /tmp/synthetic20k
    python cli.py import --vectors /tmp/synthetic20k/vectors.npy --list /tmp/synthetic20k/list.txt \\
        -d synthetic20k -e random384
    python cli.py tune -c synthetic20k_random384

Not a test: it writes files only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_scale import Points, synthetic  # noqa: E402


def write_set(out: Path, points: Points, seed: int = 0) -> tuple[Path, Path]:
    """The vectors and the list `python cli.py import` reads; their paths."""
    vectors, labels = synthetic(points, seed)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", vectors)
    lines = "".join(f"c{label}/{row:06d}.jpg\tc{label}\n" for row, label in enumerate(labels))
    (out / "list.txt").write_text(lines, encoding="utf-8")
    return out / "vectors.npy", out / "list.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    vectors, list_file = write_set(args.out, Points(args.points, args.dim, args.classes), args.seed)
    print(f"wrote {vectors} and {list_file}: {args.points} {args.dim}-d vectors in {args.classes} classes")


if __name__ == "__main__":
    main()
