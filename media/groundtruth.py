"""The Revisited Oxford and Paris ground truth (`gnd_roxford5k.pkl`, `gnd_rparis6k.pkl`), read safely.

The published layout (Radenovic et al., CVPR 2018) is `<root>/<dataset>/jpg/*.jpg`
beside `<root>/<dataset>/gnd_<dataset>.pkl`, a pickle holding `imlist` (the
database images, names without '.jpg'), `qimlist` (the query images) and `gnd`,
one record per query: `bbx` (x0, y0, x1, y1, pixels, 0-based) and the database
positions in `easy`, `hard` and `junk`. A pickle can run code when loaded, so
this loader admits only plain containers, numbers, strings and numpy arrays;
anything else is refused. Shared by ingest (the database) and evaluation
(the queries and their lists).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

from errors import DatasetError

REVISITED = ("roxford5k", "rparis6k")
IMAGE_FOLDER = "jpg"
ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


@dataclass(frozen=True)
class QueryTruth:
    """One query's ground truth: its image name, bounding box (x0, y0, x1, y1) and database positions."""

    name: str
    bbx: tuple[float, float, float, float]
    easy: tuple[int, ...]
    hard: tuple[int, ...]
    junk: tuple[int, ...]


@dataclass(frozen=True)
class GroundTruth:
    dataset: str
    file: Path
    database: list[str]  # image names without '.jpg', in the protocol's order
    queries: list[QueryTruth]


def truth_file(folder: Path, dataset: str | None = None) -> Path | None:
    """`folder/gnd_<dataset>.pkl` for a revisited dataset's folder (its name when `dataset` is None), or None."""
    name = dataset or folder.name.lower()
    if name not in REVISITED:
        return None
    file = folder / f"gnd_{name}.pkl"
    return file if file.is_file() else None


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refusing '{module}.{name}'")
        return super().find_class(module, name)


def read_ground_truth(file: Path, dataset: str) -> GroundTruth:
    """The lists of `file`; a file that is not the published ground truth is one line saying so."""
    try:
        with file.open("rb") as handle:
            record = _PlainUnpickler(handle).load()
        database = [str(name) for name in record["imlist"]]
        queries = [
            QueryTruth(
                str(name),
                tuple(float(v) for v in truth["bbx"]),
                *(tuple(int(i) for i in truth.get(part, ())) for part in ("easy", "hard", "junk")),
            )
            for name, truth in zip(record["qimlist"], record["gnd"], strict=True)
        ]
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
        raise DatasetError(
            f"'{file}' is not the Revisited Oxford/Paris ground truth ({error}); download gnd_{dataset}.pkl again"
        ) from None
    for query in queries:
        bad = [i for part in (query.easy, query.hard, query.junk) for i in part if not 0 <= i < len(database)]
        if bad or len(query.bbx) != 4:
            raise DatasetError(f"'{file}': query '{query.name}' names database position {bad[:1]} or a bad box")
    return GroundTruth(dataset, file, database, queries)
