"""`collections`, `collections show` and `collections drop` on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from commands.context import Context
from encoders import build_encoder
from errors import CollectionNotFoundError
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from search import list_collections, summarize
from store import VectorStore


@pytest.fixture
def storage(data_root: Path, store: VectorStore) -> VectorStore:
    """The open embedded store holding shapes_colorhist (3 classes x 4 images), also the CLI's."""
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    ingest_dataset(dataset, build_encoder("colorhist"), store, options=IngestOptions(workers=0))
    return store


def cli(store: VectorStore, *args: str, answer: str | None = None, columns: int = 80):
    """The CLI in this process, handed the open store."""
    from cli import cli as group

    env = {"COLUMNS": str(columns)}
    return CliRunner().invoke(
        group, list(args), input=answer, env=env, catch_exceptions=False, obj=Context(handed=store)
    )


def test_library_lists_summarizes_and_drops(storage):
    [info] = list_collections(storage)
    assert (info.name, info.points, info.dim, info.distance) == ("shapes_colorhist", 12, 128, "Cosine")
    assert (info.dataset, info.encoder) == ("shapes", "colorhist")
    with pytest.raises(CollectionNotFoundError, match="did you mean 'shapes_colorhist'"):
        summarize(storage, "shapes_colorhits")  # misspelt
    summary = summarize(storage, "shapes_colorhist", samples=2)
    assert summary.classes == {"red": 4, "green": 4, "blue": 4}
    assert [payload.path for _, payload in summary.samples] == ["red/00.jpg", "red/01.jpg"]
    storage.drop("shapes_colorhist")
    assert list_collections(storage) == []
    with pytest.raises(CollectionNotFoundError, match="'shapes_colorhist' does not exist"):
        summarize(storage, "shapes_colorhist")


def test_collections_lists_every_collection_with_its_facts(storage):
    table = cli(storage, "collections", columns=120).stdout  # at 80 columns, distance and dim give way to the names
    assert "shapes_colorhist" in table and "Cosine" in table and "colorhist" in table
    assert storage.location in table.replace("\n", "")
    [entry] = json.loads(cli(storage, "collections", "--format", "json").stdout)
    assert {k: entry[k] for k in ("name", "points", "dim", "dataset", "encoder")} == {
        "name": "shapes_colorhist",
        "points": 12,
        "dim": 128,
        "dataset": "shapes",
        "encoder": "colorhist",
    }


def test_collections_show_gives_class_counts_and_sample_payloads(storage):
    shown = cli(storage, "collections", "show", "shapes_colorhist").stdout
    assert "3 classes" in shown and "red/00.jpg" in shown
    data = json.loads(cli(storage, "collections", "show", "shapes_colorhist", "--format", "json").stdout)
    assert data["classes"] == {"red": 4, "green": 4, "blue": 4}
    assert len(data["samples"]) == 3


def test_drop_asks_first_and_keeps_the_collection_on_no(storage, monkeypatch):
    monkeypatch.setattr("commands.searching.interactive", lambda: True)
    declined = cli(storage, "collections", "drop", "shapes_colorhist", answer="n\n")
    assert declined.exit_code != 0
    assert "drop 'shapes_colorhist' (12 points)" in declined.stderr
    assert "shapes_colorhist" in cli(storage, "collections").stdout


def test_drop_yes_removes_it_and_says_what_went(storage):
    dropped = cli(storage, "collections", "drop", "shapes_colorhist", "--yes")
    assert dropped.exit_code == 0
    assert dropped.stdout.startswith("dropped shapes_colorhist (12 points, dataset shapes, encoder colorhist)")
    assert "no collections" in cli(storage, "collections").stdout
    with pytest.raises(CollectionNotFoundError):
        cli(storage, "collections", "drop", "shapes_colorhist", "--yes")


def test_a_command_handed_a_store_uses_it_and_leaves_it_open(storage, tmp_path, monkeypatch):
    closed = []
    monkeypatch.setattr(storage, "close", lambda: closed.append(True))
    listed = cli(storage, "--storage", str(tmp_path / "no_store_here"), "collections", "--format", "json")
    assert [entry["name"] for entry in json.loads(listed.stdout)] == ["shapes_colorhist"]
    assert not (tmp_path / "no_store_here").exists()
    assert closed == []  # its owner closes it


def test_collections_show_names_no_published_model_for_random_weights(storage):
    from dataclasses import replace

    from store.provenance import WeightsIdentity

    provenance = storage.provenance("shapes_colorhist")
    storage.set_provenance(
        "shapes_colorhist",
        replace(
            provenance, model_id="ResNet18_Weights.IMAGENET1K_V1", weights=WeightsIdentity("random", seed=0).to_dict()
        ),
    )
    shown = cli(storage, "collections", "show", "shapes_colorhist", columns=200).stdout
    model = next(line for line in shown.splitlines() if line.strip().startswith("model:"))
    assert "random weights" in model and "none loaded" in model, model
