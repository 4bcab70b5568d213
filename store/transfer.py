"""Collections moved between engines and files: copy, export for `import`, migrate a local-mode store.

Everything here goes through the store contract, so any engine can be the
source or the target: a collection pushed to a server keeps its provenance,
an exported one round-trips through `python cli.py import`, and a store of an
earlier release (qdrant-client's local mode) becomes an Edge store whose
collections are verified before the old folder is set aside.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from errors import StoreError
from media.files import written_atomically
from store.base import VectorStore

Progress = Callable[[str, int, int], None]  # (collection, points done, points in all)
VERIFIED_QUERIES = 5  # stored points per collection whose top 10 must match after a move
VERIFY_K = 10


def copy_collection(
    source: VectorStore, name: str, target: VectorStore, *, as_name: str | None = None, progress: Progress | None = None
) -> int:
    """Write collection `name` of `source` into `target` (as `as_name`), with its provenance, one scroll page
    at a time (memory bounded by a page, whatever the collection's size); the points copied."""
    as_name = as_name or name
    info = source.info(name)
    if not info.dim:
        raise StoreError(f"collection '{name}' has named vectors (written by another tool); it cannot be copied")
    total = source.count(name)
    target.ensure_collection(as_name, info.dim, provenance=info.provenance)
    done = 0
    with target.bulk_load(as_name) as loader:
        for page in source.scroll(name, with_vectors=True):
            loader.add(page.ids, page.vectors, page.payloads)
            done += len(page.ids)
            if progress:
                progress(name, done, max(done, total))
    return done


def same_neighbours(first: VectorStore, second: VectorStore, name: str, *, samples: int = VERIFIED_QUERIES) -> int:
    """Check that `samples` evenly spread stored points have the same exact top 10 in both stores
    (ids, or scores where ties may order them differently); the number checked."""
    ids = first.points(name).ids
    chosen = [ids[i] for i in np.linspace(0, len(ids) - 1, min(samples, len(ids)), dtype=int)] if ids else []
    if len(ids) < 2:
        return 0
    for point in chosen:
        one = first.query(name, point, VERIFY_K, exact=True)
        two = second.query(name, point, VERIFY_K, exact=True)
        same_ids = [h.id for h in one] == [h.id for h in two]
        same_scores = np.allclose([h.score for h in one], [h.score for h in two], atol=1e-5)
        if not (same_ids or (len(one) == len(two) and same_scores)):
            raise StoreError(f"collection '{name}': the top {VERIFY_K} of point {point} differs after the copy")
    return len(chosen)


@dataclass
class ExportReport:
    collection: str
    points: int
    dim: int
    vectors: str
    list_file: str
    dataset: str
    encoder: str
    images: str | None  # the image folder the collection recorded, which the list's paths are relative to

    def import_command(self) -> str:
        """The `import` that reads this export back into a collection of the same name, pasteable as printed."""
        images = f" --images {shlex.quote(self.images)}" if self.images else ""
        return (
            f"python cli.py import --vectors {shlex.quote(self.vectors)} --list {shlex.quote(self.list_file)} "
            f"--dataset {shlex.quote(self.dataset)} --encoder {shlex.quote(self.encoder)}{images}"
        )

    def to_json(self) -> dict:
        return {**asdict(self), "import_command": self.import_command()}


def export_collection(store: VectorStore, name: str, *, vectors_file: Path, list_file: Path) -> ExportReport:
    """The vectors (float32, dataset order) and the list (`path<TAB>label[,label...]`) that
    `python cli.py import` reads back into the same collection.

    Two scrolls keep memory bounded by a page of vectors: the first reads the payloads, which fix each
    point's row (dataset order) and its list line; the second writes each page's vectors at their rows
    of the .npy file, whose header is written first (the format `numpy.save` writes). Both files are
    written beside their targets and renamed in at the end: an export killed or refused midway leaves
    an earlier export as it was."""
    info = store.info(name)
    if not info.dim:
        raise StoreError(f"collection '{name}' has named vectors (written by another tool); it cannot be exported")
    rows, lines = _rows_and_lines(store, name)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False}
    row_bytes = info.dim * np.dtype(np.float32).itemsize
    with written_atomically(vectors_file, list_file) as (out, listing):
        np.lib.format.write_array_header_1_0(out, {**header, "shape": (len(lines), info.dim)})
        start = out.tell()
        out.truncate(start + len(lines) * row_bytes)
        written = 0
        for page in store.scroll(name, with_vectors=True):
            for point, vector in zip(page.ids, page.vectors, strict=True):
                if point not in rows:
                    raise StoreError(f"collection '{name}' changed while it was exported; export it again")
                out.seek(start + rows[point] * row_bytes)
                out.write(np.ascontiguousarray(vector, np.float32).tobytes())
                written += 1
        if written != len(lines):
            raise StoreError(f"collection '{name}' changed while it was exported; export it again")
        listing.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
    images = info.provenance.image_root if info.provenance else None
    return ExportReport(
        name, len(lines), info.dim, str(vectors_file), str(list_file), info.dataset, info.encoder, images
    )


def _rows_and_lines(store: VectorStore, name: str) -> tuple[dict[str, int], list[str]]:
    """Each point's row in dataset order (payload `index`, ties in scroll order) and the list lines in
    that order; a point a list line cannot hold is refused."""
    keyed: list[tuple[int, str, str]] = []
    for page in store.scroll(name):
        for point, payload in zip(page.ids, page.payloads, strict=True):
            text = payload.path + "".join(payload.label_set)
            if any(character in text for character in "\t\n\r") or any("," in label for label in payload.label_set):
                raise StoreError(f"point {point} of '{name}' has a path or label a list line cannot hold: {text!r}")
            labels = f"\t{','.join(payload.label_set)}" if payload.label_set else ""
            keyed.append((payload.index, point, f"{payload.path}{labels}"))
    if len({"\t" in line for _, _, line in keyed}) > 1:
        first = next(point for _, point, line in keyed if "\t" not in line)
        raise StoreError(
            f"point {first} of '{name}' has no label but others have; a list file labels every line or none"
        )
    keyed.sort(key=lambda entry: entry[0])
    return {point: row for row, (_, point, _) in enumerate(keyed)}, [line for _, _, line in keyed]


@dataclass
class MigrationReport:
    storage: str
    backup: str
    collections: dict[str, int] = field(default_factory=dict)  # name -> points copied
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why it was not copied
    verified_queries: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def migrate_store(folder: Path, progress: Progress | None = None) -> MigrationReport:
    """Copy every collection of the local-mode store in `folder` into a new Edge store, verify
    counts and sample queries, then swap the folders (the old one kept as `<folder>.local-mode`)."""
    from store.client.embedded import EmbeddedStore
    from store.edge import EdgeStore
    from store.engines import engine_of

    engine = engine_of(folder)
    if engine is None or engine.name != "local":
        found = "no store" if engine is None else f"a store of the {engine.name} engine already"
        raise StoreError(f"'{folder}' holds {found}; `store migrate` moves a local-mode store (an earlier release's)")
    backup = folder.with_name(folder.name + ".local-mode")
    staging = folder.with_name(folder.name + ".migrating")
    if backup.exists():
        raise StoreError(f"'{backup}' exists (an earlier migration's backup); move it away and rerun")
    shutil.rmtree(staging, ignore_errors=True)  # what an interrupted migration left
    report = MigrationReport(str(folder), str(backup))
    old = EmbeddedStore.open(folder, create=False)
    new = EdgeStore.open(staging, create=True)
    try:
        for name in old.collection_names():
            if not old.info(name).dim:
                report.skipped[name] = "named vectors (written by another tool)"
                continue
            report.collections[name] = copy_collection(old, name, new, progress=progress)
            if new.count(name) != old.count(name):
                raise StoreError(
                    f"collection '{name}': {new.count(name)} points after the copy, {old.count(name)} before"
                )
            report.verified_queries += same_neighbours(old, new, name)
    except BaseException:
        new.close()
        old.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    new.close()
    old.close()
    folder.rename(backup)
    staging.rename(folder)
    return report
