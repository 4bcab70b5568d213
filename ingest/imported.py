"""Vectors made elsewhere (another tool, a GPU cluster) stored as a collection in the project's schema.

The rows of a `.npy` (or a one-array `.npz`) file follow the lines of a list
file (`path<TAB>label`, the study's layout); the listed images need not be on
this machine. Vectors are checked (shape, dtype, finite, non-zero), normalised
and stored with the same payload as ingest's; the collection records where
they came from (the file and its sha256) instead of weights.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from encoders import get_spec
from errors import DatasetError
from ingest.reading.list_file import read_list
from media.files import file_sha256
from store import ImagePayload, Provenance, VectorStore, WeightsIdentity, collection_name, point_id
from store.naming import MAX_DIM
from store.provenance import now, versions

WRITE_BATCH = 1024


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
    written: int = 0  # points written by this run: all of them, or those a stopped import had not written

    def to_json(self) -> dict:
        return asdict(self)


def load_vectors(path: Path) -> np.ndarray:
    """The float matrix in a .npy file or a .npz file holding one array; refused with one line when it is not.

    A .npy file is mapped, not read, and an array inside a .npz is read only once its header's shape fits
    the bytes stored: a header claiming a huge shape is refused before anything is allocated."""
    try:
        if zipfile.is_zipfile(path):
            loaded = _npz_array(path)
        else:
            shape, dtype, header = _npy_header(path)
            _check_header(path, shape, dtype, header=header, size=path.stat().st_size)
            loaded = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"cannot read vectors from '{path}': {error}") from None
    if loaded.ndim != 2 or not np.issubdtype(loaded.dtype, np.floating):
        raise DatasetError(f"'{path}' holds a {loaded.dtype} array of shape {loaded.shape}; expected 2-d floats")
    if not 0 < loaded.shape[1] <= MAX_DIM:
        raise DatasetError(
            f"'{path}' holds {loaded.shape[1]}-d vectors; a collection takes 1 to {MAX_DIM:,} dimensions"
        )
    if loaded.shape[0] == 0:
        raise DatasetError(f"'{path}' holds no vectors")
    return loaded


def _npy_header(handle_or_path) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, header length) of a .npy stream or file."""
    if isinstance(handle_or_path, Path):
        with handle_or_path.open("rb") as handle:
            return _npy_header(handle)
    handle = handle_or_path
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle)
    return shape, dtype, handle.tell()


def _check_header(path: Path, shape: tuple, dtype: np.dtype, *, header: int, size: int) -> None:
    """Refuse a header whose shape needs more bytes than the file holds (`size` bytes in all)."""
    needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if dtype.hasobject or needed > size - header:
        raise DatasetError(
            f"'{path}' claims a {dtype} array of shape {shape} ({needed:,} bytes) but holds {size - header:,} bytes "
            f"of data; the file is damaged or not made by numpy.save"
        )


def _npz_array(path: Path) -> np.ndarray:
    with zipfile.ZipFile(path) as zipped:
        arrays = [info for info in zipped.infolist() if info.filename.endswith(".npy")]
        if len(zipped.infolist()) != 1 or len(arrays) != 1:
            names = ", ".join(info.filename.removesuffix(".npy") for info in zipped.infolist())
            raise DatasetError(f"'{path}' holds {len(zipped.infolist())} arrays ({names}); keep one")
        with zipped.open(arrays[0]) as handle:
            shape, dtype, header = _npy_header(handle)
        _check_header(path, shape, dtype, header=header, size=arrays[0].file_size)
        with zipped.open(arrays[0]) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)


def checked_unit_vectors(vectors: np.ndarray, path: Path) -> np.ndarray:
    """Float32 rows of unit length. A row that is not finite, does not fit float32 (beyond +-3.4e38) or is
    all zeros in float32 is refused, by its number; norms are computed in float64, so a float32 row of
    large values (1e20) is normalised, not overflowed to zeros."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise DatasetError(f"'{path}' row {bad[0]} (0-based) holds NaN or infinity ({len(bad)} rows in all)")
    with np.errstate(over="ignore"):
        single = np.asarray(vectors, dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(single).all(axis=1))
    if len(bad):
        raise DatasetError(
            f"'{path}' row {bad[0]} (0-based) holds values beyond float32's range ({len(bad)} rows in all); "
            f"scale the vectors down"
        )
    wide = single.astype(np.float64)
    norms = np.linalg.norm(wide, axis=1)
    zero = np.flatnonzero(norms == 0)
    if len(zero):
        raise DatasetError(f"'{path}' row {zero[0]} (0-based) is all zeros ({len(zero)} rows in all)")
    return (wide / norms[:, None]).astype(np.float32)  # finite and non-zero: each row's largest is >= 1/sqrt(d)


@dataclass(frozen=True)
class ImportSource:
    """What `import_vectors` stores: the rows of `vectors_file`, row i for line i of `list_file` (paths
    relative to `image_root`), as collection `<dataset>_<encoder>`."""

    vectors_file: Path
    list_file: Path
    dataset: str
    encoder: str
    image_root: Path


def import_vectors(
    store: VectorStore, source: ImportSource, *, same_as: bool = False, recreate: bool = False
) -> ImportReport:
    """Store the vectors of `source.vectors_file` as collection `<dataset>_<encoder>`, row i for list line i.

    Everything is checked before the store is touched. The collection is marked incomplete until its
    last point is written: a rerun of an import that stopped writes only the missing points (ids come
    from the dataset and the listed path), and `--recreate` writes a staging collection beside the old
    one that replaces it only once whole, so a failure leaves the old collection as it was."""
    vectors_file, list_file, dataset, encoder = source.vectors_file, source.list_file, source.dataset, source.encoder
    image_root = source.image_root
    for option, path in (("--vectors", vectors_file), ("--list", list_file)):
        if path.exists() and not path.is_file():  # a device or a pipe would be read without end
            raise DatasetError(
                f"{option} '{path}' is not a regular file; pass the file `python cli.py collections export` wrote"
            )
    items, problems = read_list(list_file, image_root, require_files=False)
    if problems:
        raise DatasetError(f"{problems[0].where}: {problems[0].reason}; every line must name one row of vectors")
    if not items:
        raise DatasetError(f"'{list_file}' lists no images")
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
        complete=False,
        labeled=any(item.label is not None for item in items),
    )
    ids = [point_id(dataset, item.path) for item in items]
    payloads = [
        ImagePayload(item.label, item.path, dataset, encoder, i, labels=item.labels) for i, item in enumerate(items)
    ]
    rows = list(range(len(items)))
    if store.exists(name) and not recreate:
        provenance = _resumable(store, name, provenance)
        stored = store.point_ids(name)
        rows = [row for row in rows if ids[row] not in stored]
        _write(store, name, rows, ids=ids, vectors=vectors, payloads=payloads)
    elif store.exists(name):
        with store.rebuilding(name, vectors.shape[1], provenance=provenance) as rebuild:
            _write(store, rebuild.target, rows, ids=ids, vectors=vectors, payloads=payloads)
    else:
        store.ensure_collection(name, vectors.shape[1], provenance=provenance)
        _write(store, name, rows, ids=ids, vectors=vectors, payloads=payloads)
    store.set_provenance(name, provenance.touched(complete=True))
    return ImportReport(
        name, dataset, encoder, len(items), vectors.shape[1], str(vectors_file), sha256, same_as, written=len(rows)
    )


def _resumable(store: VectorStore, name: str, provenance: Provenance) -> Provenance:
    """This import's provenance, keeping the creation time, when `name` holds an unfinished import of the
    same vectors; otherwise the existing collection is refused."""
    recorded = store.provenance(name)
    if recorded is None or recorded.complete:
        raise DatasetError(f"collection '{name}' exists; import with --recreate to replace it")
    if recorded.weights_identity != provenance.weights_identity or recorded.dim != provenance.dim:
        raise DatasetError(
            f"collection '{name}' holds an unfinished write of other vectors ({recorded.weights_identity.describe()}); "
            f"import with --recreate to replace it"
        )
    return replace(provenance, created=recorded.created)


def _write(
    store: VectorStore, name: str, rows: list[int], *, ids: list[str], vectors: np.ndarray, payloads: list
) -> None:
    with store.bulk_load(name) as loader:
        for start in range(0, len(rows), WRITE_BATCH):
            chunk = rows[start : start + WRITE_BATCH]
            loader.add([ids[row] for row in chunk], vectors[chunk], [payloads[row] for row in chunk])
    store.build_index(name)
