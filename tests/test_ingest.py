"""Ingest through every registered encoder (random weights) into the embedded store."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from encoders import SPECS, build_encoder
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import collection_name, open_store, point_id
from tests.conftest import expected_payload

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "qdrant-image-retrieval/points")


def _ingest(data_root, store, encoder_name, init="random", workers=0):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    encoder = build_encoder(encoder_name, "cpu", init=init)
    options = IngestOptions(batch_size=5, workers=workers)
    return dataset, encoder, ingest_dataset(dataset, encoder, store, options=options)


@pytest.mark.parametrize("name", list(SPECS))
def test_ingest_stores_unit_vectors_with_payload_and_deterministic_ids(data_root, store, name):
    """Each encoder at its spec's test init; at full size the vectors have the registered size."""
    init = SPECS[name].test_init
    dataset, encoder, report = _ingest(data_root, store, name, init=init)
    collection = collection_name("shapes", name)
    assert collection == f"shapes_{name}"
    assert report.written == len(dataset.items) == 12 and not report.skipped
    points = store.points(collection, with_vectors=True)
    assert points.vectors.shape == (12, encoder.dim if init == "random-tiny" else SPECS[name].dim)
    assert np.allclose(np.linalg.norm(points.vectors, axis=1), 1.0, atol=1e-5)
    for i, (pid, payload) in enumerate(zip(points.ids, points.payloads, strict=True)):
        item = dataset.items[i]
        assert payload.to_dict() == expected_payload(dataset, i, name)
        assert pid == str(uuid.uuid5(NAMESPACE, f"shapes/{item.path}"))


def test_rerun_adds_nothing_and_resumes_a_partial_collection(data_root, store):
    dataset, encoder, first = _ingest(data_root, store, "colorhist")
    again = ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0))
    assert (again.written, again.already_stored) == (0, 12)
    collection = collection_name("shapes", "colorhist")
    store.delete(collection, [point_id("shapes", dataset.items[3].path)])
    resumed = ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0))
    assert (resumed.written, resumed.already_stored) == (1, 11)
    assert store.count(collection) == 12


def test_workers_give_the_same_vectors_as_the_main_process(data_root, tmp_path):

    results = []
    for workers in (0, 2):
        opened = open_store(path=tmp_path / f"q{workers}")
        _ingest(data_root, opened, "colorhist", workers=workers)
        results.append(opened.points("shapes_colorhist", with_vectors=True).vectors)
        opened.close()
    assert np.array_equal(results[0], results[1])


def test_wrong_vector_size_is_refused_without_touching_the_collection(data_root, store):
    from errors import StoreError

    _ingest(data_root, store, "colorhist")
    store.ensure_collection("shapes_clip", 128)
    with pytest.raises(StoreError, match="128-d"):
        _ingest(data_root, store, "clip", init="random-tiny")


def test_rerun_rewrites_changed_labels_and_reports_images_no_longer_listed(data_root, store):
    dataset, encoder, _ = _ingest(data_root, store, "colorhist")
    list_file = discover(data_root)["shapes"] / "list_of_images.txt"
    lines = list_file.read_text().splitlines()
    relabelled = lines[0].split("\t")[0] + "\tcrimson"
    list_file.write_text("\n".join([relabelled, *lines[1:-1]]) + "\n")  # first relabelled, last dropped
    changed = read_dataset(discover(data_root)["shapes"], "shapes")
    report = ingest_dataset(changed, encoder, store, options=IngestOptions(workers=0))
    assert (report.written, report.relabelled, report.not_in_dataset) == (0, 1, 1)
    points = store.points("shapes_colorhist")
    by_path = {p.path: p for p in points.payloads}
    assert by_path[changed.items[0].path].label == "crimson"
    assert len(points.ids) == 12  # nothing stored is lost
    assert ingest_dataset(changed, encoder, store, options=IngestOptions(workers=0)).relabelled == 0


def test_a_folder_that_is_no_dataset_says_which_layouts_are_read_and_what_it_holds(tmp_path):
    from click.testing import CliRunner

    import cli
    from errors import DatasetError
    from ingest import select_datasets

    (tmp_path / "data" / "notes").mkdir(parents=True)
    (tmp_path / "data" / "notes" / "readme.txt").write_text("no images here")
    for names in (["flat"], []):
        with pytest.raises(DatasetError) as caught:
            select_datasets(tmp_path / "data", names)
        message = str(caught.value)
        assert message.startswith("no dataset 'flat' under" if names else "no dataset under"), message
        assert "list_of_images.txt" in message and "one subfolder of images per class" in message
        assert "images without labels" in message and "holds no image file" in message and "(notes/)" in message
        assert "\n" not in message and "  " not in message
    listed = CliRunner().invoke(cli.cli, ["datasets", "--data-root", str(tmp_path / "data")])
    assert listed.exit_code == 0 and "(notes/)" in listed.stderr and "one subfolder" in listed.stderr


def test_a_data_root_pointed_at_a_dataset_folder_is_that_dataset(data_root, tmp_path):
    from tests.conftest import CLASS_COLOURS, make_image

    assert list(discover(data_root / "Shapes")) == ["shapes"]  # list layout: not its images/ folder
    tints = tmp_path / "Tints"
    for label, colour in CLASS_COLOURS.items():
        (tints / label).mkdir(parents=True)
        make_image(colour, 1).save(tints / label / "0.png")
    assert discover(tints) == {"tints": tints}  # class subfolders, nothing under them a dataset
    assert read_dataset(tints, "tints").classes == sorted(CLASS_COLOURS)
