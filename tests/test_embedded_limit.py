"""Ingest and eval say once when a collection outgrows the embedded store (store/limits.py)."""

from __future__ import annotations

import io

from rich.console import Console

from encoders import build_encoder
from evaluation import EvalOptions, evaluate_collections
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from render import Screen

SHAPES_POINTS = 12  # the 'shapes' fixture: 3 classes x 4 images


def _ingest(data_root, store, limit: int):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    return ingest_dataset(
        dataset, build_encoder("colorhist"), store, options=IngestOptions(workers=0, embedded_limit=limit)
    )


def test_ingest_notes_a_collection_past_the_limit_once_and_not_at_it(data_root, store):
    at_limit = _ingest(data_root, store, SHAPES_POINTS)
    assert at_limit.notes == []
    past = _ingest(data_root, store, SHAPES_POINTS - 1)
    assert len(past.notes) == 1
    assert "shapes_colorhist: 12 points in the embedded store" in past.notes[0]
    assert "--qdrant-url" in past.notes[0]
    assert past.to_json()["notes"] == past.notes
    console = Console(file=io.StringIO(), width=200)
    Screen(out=console, err=console).ingest([past], store.location)
    assert "12 points in the embedded store" in console.file.getvalue()


def test_default_limit_gives_no_note_to_a_small_collection(data_root, store, tmp_path):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    report = ingest_dataset(dataset, build_encoder("colorhist"), store, options=IngestOptions(workers=0))
    assert report.notes == []
    run = evaluate_collections(
        store, ["shapes_colorhist"], tmp_path / "reports", options=EvalOptions(data_root=data_root)
    )
    assert not any("embedded store" in note for note in run.notes)


def test_eval_notes_a_collection_past_the_limit_once(data_root, store, tmp_path):
    _ingest(data_root, store, SHAPES_POINTS)
    run = evaluate_collections(
        store,
        ["shapes_colorhist"],
        tmp_path / "reports",
        options=EvalOptions(data_root=data_root, embedded_limit=SHAPES_POINTS - 1),
    )
    notes = [note for note in run.notes if "in the embedded store" in note]
    assert len(notes) == 1
    assert notes[0].startswith("shapes_colorhist: 12 points in the embedded store")
