"""Vectors made elsewhere (another tool, a GPU cluster) stored as a collection in the project's schema.

The rows of a `.npy` (or a one-array `.npz`) file follow the lines of a list
file (`path<TAB>label`, the study's layout); the listed images need not be on
this machine. Vectors are checked (shape, dtype, finite, non-zero), normalised
and stored with the same payload as ingest's; the collection records where
they came from (the file and its sha256) instead of weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from encoders import get_spec
from errors import DatasetError
from ingest.datasets import read_list
from media.files import file_sha256
from store import ImagePayload, Provenance, VectorStore, WeightsIdentity, collection_name, point_id
from store.provenance import now, versions


@dataclass
class ImportReport:
    collection: str
    dataset: str
    encoder: str
    points: int
    dim: int
    vectors_file: str
    sha256: str
    same_as: bool

    def to_json(self) -> dict:
        return asdict(self)


def load_vectors(path: Path) -> np.ndarray:
    """The float matrix in a .npy file or a .npz file holding one array; refused with one line when it is not."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read vectors from '{path}': {error}") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            if len(loaded.files) != 1:
                raise DatasetError(f"'{path}' holds {len(loaded.files)} arrays ({', '.join(loaded.files)}); keep one")
            loaded = loaded[loaded.files[0]]
    if loaded.ndim != 2 or not np.issubdtype(loaded.dtype, np.floating):
        raise DatasetError(f"'{path}' holds a {loaded.dtype} array of shape {loaded.shape}; expected 2-d floats")
    return loaded


def checked_unit_vectors(vectors: np.ndarray, path: Path) -> np.ndarray:
    """Float32 rows of unit length; a row that is not finite or is all zeros is refused, by its number."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise DatasetError(f"'{path}' row {bad[0]} (0-based) holds NaN or infinity ({len(bad)} rows in all)")
    vectors = vectors.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    zero = np.flatnonzero(norms == 0)
    if len(zero):
        raise DatasetError(f"'{path}' row {zero[0]} (0-based) is all zeros ({len(zero)} rows in all)")
    return vectors / norms[:, None]


def import_vectors(
    store: VectorStore,
    vectors_file: Path,
    list_file: Path,
    dataset: str,
    encoder: str,
    image_root: Path,
    same_as: bool = False,
    recreate: bool = False,
) -> ImportReport:
    """Store the vectors of `vectors_file` as collection `<dataset>_<encoder>`, row i for list line i."""
    items, problems = read_list(list_file, image_root, require_files=False)
    if problems:
        raise DatasetError(f"{problems[0].where}: {problems[0].reason}; every line must name one row of vectors")
    vectors = checked_unit_vectors(load_vectors(vectors_file), vectors_file)
    if len(vectors) != len(items):
        raise DatasetError(f"'{vectors_file}' has {len(vectors)} rows but '{list_file}' lists {len(items)} images")
    if same_as:
        spec = get_spec(encoder)  # an unknown name is refused with the list of encoders
        if spec.dim and spec.dim != vectors.shape[1]:
            raise DatasetError(
                f"--same-as {encoder}: that encoder gives {spec.dim}-d vectors, '{vectors_file}' holds "
                f"{vectors.shape[1]}-d ones"
            )
    name = collection_name(dataset, encoder)
    sha256 = file_sha256(vectors_file)
    made = now()
    provenance = Provenance(
        dataset=dataset,
        image_root=str(image_root.resolve()),
        encoder=encoder,
        model_id="imported",
        weights=WeightsIdentity("imported", sha256).to_dict(),
        preprocessing=None,
        dim=vectors.shape[1],
        versions=versions(),
        created=made,
        updated=made,
        imported_from=str(vectors_file.resolve()),
        same_as=same_as,
    )
    if store.exists(name) and not recreate:
        raise DatasetError(f"collection '{name}' exists; import with --recreate to replace it")
    store.ensure_collection(name, vectors.shape[1], recreate=recreate, provenance=provenance)
    ids = [point_id(dataset, item.path) for item in items]
    payloads = [
        ImagePayload(item.label, item.path, dataset, encoder, i, labels=item.labels) for i, item in enumerate(items)
    ]
    with store.bulk_load(name) as loader:
        loader.add(ids, vectors, payloads)
    store.build_index(name)
    return ImportReport(name, dataset, encoder, len(items), vectors.shape[1], str(vectors_file), sha256, same_as)
