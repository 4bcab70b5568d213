"""`ingest --part I/N`: the N parts, run one after another, make the collection one run makes."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from encoders import build_encoder
from errors import RetrievalError
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from ingest.parts import parse_part
from store import collection_name, open_store, point_id
from tests.conftest import run_cli

COLLECTION = collection_name("shapes", "colorhist")


def _ingest(dataset, store, part: str | None = None, **options):
    encoder = build_encoder("colorhist")
    return ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0, part=parse_part(part), **options))


def _collection(store) -> dict:
    """id -> (vector, payload as a dict) of every stored point."""
    points = store.points(COLLECTION, with_vectors=True)
    return {
        pid: (vector, payload.to_dict())
        for pid, vector, payload in zip(points.ids, points.vectors, points.payloads, strict=True)
    }


def _same_collection(parts: dict, whole: dict) -> None:
    assert set(parts) == set(whole)
    for pid, (vector, payload) in whole.items():
        assert np.array_equal(parts[pid][0], vector)
        assert parts[pid][1] == payload


@pytest.mark.parametrize("count", [3, 50])  # 50 parts of 12 images: most parts are empty
def test_parts_one_after_another_make_the_collection_one_run_makes(data_root, tmp_path, count):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    whole_store = open_store(path=tmp_path / "whole")
    _ingest(dataset, whole_store)
    whole = _collection(whole_store)
    whole_store.close()

    store = open_store(path=tmp_path / "parts")
    reports = [_ingest(dataset, store, f"{i}/{count}") for i in range(1, count + 1)]
    assert sum(report.written for report in reports) == 12
    assert not any(report.failed or report.not_in_dataset for report in reports)
    # the shares, from the ids' own integer value: disjoint, and together the whole list
    shares = {i: {p for p in whole if uuid.UUID(p).int % count == i - 1} for i in range(1, count + 1)}
    assert [report.images for report in reports] == [len(shares[i]) for i in range(1, count + 1)]
    _same_collection(_collection(store), whole)
    assert store.provenance(COLLECTION).stale == 0

    before = _collection(store)
    rerun = _ingest(dataset, store, f"1/{count}")
    assert (rerun.written, rerun.relabelled, rerun.changed, rerun.not_in_dataset) == (0, 0, 0, 0)
    _same_collection(_collection(store), before)
    store.close()


def test_an_empty_part_creates_nothing_and_drops_nothing(data_root, store):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    ids = [point_id(dataset.name, item.path) for item in dataset.items]
    empty = next(i for i in range(1, 51) if all(uuid.UUID(pid).int % 50 != i - 1 for pid in ids))
    report = _ingest(dataset, store, f"{empty}/50")
    assert (report.images, report.written, report.failed) == (0, 0, None)
    assert not store.exists(COLLECTION)
    _ingest(dataset, store)
    again = _ingest(dataset, store, f"{empty}/50")
    assert again.failed is None and store.count(COLLECTION) == 12


def test_a_part_counts_and_prunes_only_points_missing_from_the_whole_list(data_root, store):
    folder = discover(data_root)["shapes"]
    _ingest(read_dataset(folder, "shapes"), store)
    listing = folder / "list_of_images.txt"
    lines = listing.read_text().splitlines()
    listing.write_text("\n".join(lines[1:]) + "\n")  # the first image leaves the list
    dataset = read_dataset(folder, "shapes")
    counted = [_ingest(dataset, store, f"{i}/3").not_in_dataset for i in (1, 2, 3)]
    assert counted == [1, 1, 1]  # the one image no longer listed, never another part's points
    assert store.provenance(COLLECTION).stale == 1
    pruned = _ingest(dataset, store, "2/3", prune=True)
    assert pruned.pruned == 1 and store.count(COLLECTION) == 11
    assert store.provenance(COLLECTION).stale == 0


def test_recreate_with_a_part_is_refused_before_anything_is_dropped(data_root, store):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    _ingest(dataset, store)
    with pytest.raises(RetrievalError, match="--recreate with --part 1/2"):
        _ingest(dataset, store, "1/2", recreate=True)
    assert store.count(COLLECTION) == 12


@pytest.mark.parametrize("part", ["0/3", "4/3", "x", "1/0", "-1/3"])
def test_a_bad_part_is_refused_with_one_line(tmp_path, data_root, part):
    result = run_cli("ingest", "--data-root", str(data_root), "-e", "colorhist", "--part", part, cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and f"--part '{part}'" in lines[0]
    assert not (tmp_path / "qdrant_storage").exists()


def test_a_collection_created_meanwhile_by_another_part_is_used_not_refused(store, monkeypatch):
    """Two parts may both find no collection and both create it: the second one's create fails, and it
    then writes into the collection the first made, as when it had found it."""
    store.ensure_collection(COLLECTION, 128)
    real = type(store).exists
    looks = []

    def exists(self, name: str) -> bool:  # the first look sees no collection: the other part had not made it yet
        looks.append(name)
        return len(looks) > 1 and real(self, name)

    monkeypatch.setattr(type(store), "exists", exists)
    assert store.ensure_collection(COLLECTION, 128) is False
    assert store.exists(COLLECTION)
