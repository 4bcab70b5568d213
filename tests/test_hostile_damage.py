"""A hostile user's fourth round (issue 33, items 3 and 4): one damaged collection or one bad record never blocks
the rest. The damaged one is listed as broken with why and what to do; a bad record is skipped and named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_list_dataset
from tests.hostile import ingest


@pytest.fixture(scope="module")
def two_collections(tmp_path_factory) -> Path:
    """shapes_colorhist and other_colorhist, both evaluated (records in reports/)."""
    built = tmp_path_factory.mktemp("two")
    write_list_dataset(built / "data" / "shapes", per_class=2)
    write_list_dataset(built / "data" / "other", per_class=2)
    ingest(built)
    assert run_cli("--storage", "q", "eval", cwd=built).returncode == 0
    return built


@pytest.fixture
def copied(two_collections, tmp_path) -> Path:
    """A copy of the store, data and reports (its records say the copy's store) to damage."""
    for part in ("q", "data", "reports"):
        shutil.copytree(two_collections / part, tmp_path / part, symlinks=True)
    for record in (tmp_path / "reports").glob("*/runs/*.json"):  # the copy's records are its store's
        data = json.loads(record.read_text())
        record.write_text(json.dumps({**data, "store": f"embedded:{(tmp_path / 'q').resolve()}"}))
    return tmp_path


def web(cwd: Path):
    """The web app over the store in `cwd` (FastAPI's test client); the store is closed when the test ends."""
    from fastapi.testclient import TestClient

    from store import open_store
    from web import create_app
    from web.backend import Options

    store = open_store(path=cwd / "q", create=False)
    return store, TestClient(create_app(lambda: store, Options(cwd / "data", cwd / "reports", "cpu")))


# 3. one damaged collection never blocks the store


def damage(folder: Path, how: str) -> None:
    """A garbled write-ahead log, or a collection.json cut short."""
    if how == "wal":
        for part in (folder / "shard" / "wal").glob("open-*"):
            with part.open("r+b") as file:
                file.write(b"\xff" * 64)
    else:
        sidecar = folder / "collection.json"
        sidecar.write_bytes(sidecar.read_bytes()[:20])


@pytest.mark.parametrize("how", ["wal", "sidecar"])
def test_a_damaged_collection_is_listed_as_broken_and_the_others_listed_evaluated_and_served(copied, how):
    damage(copied / "q" / "collections" / "other_colorhist", how)

    listed = run_cli("--storage", "q", "collections", cwd=copied)
    assert listed.returncode == 0, listed.stderr
    assert "shapes_colorhist" in listed.stdout and "broken" in listed.stdout
    note = next(line for line in listed.stderr.splitlines() if "other_colorhist is broken" in line)
    assert ("drop it" if how == "wal" else "collection.json") in note and "ingest" in note
    as_json = json.loads(run_cli("--storage", "q", "collections", "--format", "json", cwd=copied).stdout)
    assert [(c["name"], bool(c["broken"])) for c in as_json] == [("other_colorhist", True), ("shapes_colorhist", False)]

    evaluated = run_cli("--storage", "q", "eval", cwd=copied)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "shapes_colorhist/runs/full.json" in evaluated.stdout
    assert "skipped" in evaluated.stdout + evaluated.stderr and "other_colorhist" in evaluated.stdout + evaluated.stderr

    store, client = web(copied)
    try:
        home = client.get("/")
        assert home.status_code == 200
        assert ">shapes_colorhist</a>" in home.text and "<strong>broken</strong>" in home.text
    finally:
        store.close()

    if how == "wal":  # the command the note prints, run as printed
        command = note.split("`")[1].split()[2:]
        assert command == ["collections", "drop", "other_colorhist", "--yes"]
        dropped = run_cli("--storage", "q", *command, cwd=copied)
        assert dropped.returncode == 0, dropped.stderr
        assert "broken" not in run_cli("--storage", "q", "collections", cwd=copied).stdout


# 4. a record with wrong types, lengths or a newer schema is skipped and named, never fatal


BAD_RECORDS = {
    "map as text": lambda record: {**record, "map": "0.5x"},
    "ap as text": lambda record: {**record, "ap_per_query": {k: str(v) for k, v in record["ap_per_query"].items()}},
    "curve lengths": lambda record: {**record, "pr_curve": {**record["pr_curve"], "precision": [0.5]}},
    "newer schema": lambda record: {**record, "schema": 99},
}


@pytest.mark.parametrize("bad", list(BAD_RECORDS))
def test_a_bad_record_is_skipped_and_named_and_every_page_and_other_collection_still_answers(copied, bad):
    path = copied / "reports" / "other_colorhist" / "runs" / "full.json"
    path.write_text(json.dumps(BAD_RECORDS[bad](json.loads(path.read_text()))))
    named = "reports/other_colorhist/runs/full.json is skipped"

    evaluated = run_cli("--storage", "q", "eval", "-c", "shapes_colorhist", cwd=copied)
    assert evaluated.returncode == 0, evaluated.stderr
    assert named in evaluated.stderr and "evaluate its collection again" in evaluated.stderr
    assert "other_colorhist" not in (copied / "reports" / "index.html").read_text()

    store, client = web(copied)
    try:
        some = store.points("other_colorhist").ids[0]
        pages = ["/", "/eval", "/eval/other_colorhist", "/eval/shapes_colorhist", "/c/other_colorhist?sort=ap",
                 f"/c/other_colorhist/p/{some}", f"/c/other_colorhist/v/{some}",
                 f"/c/other_colorhist/compare/{some}?with=other_colorhist", f"/eval/other_colorhist/q/{some}"]  # fmt: skip
        answers = {url: client.get(url) for url in pages}
        assert {url: a.status_code for url, a in answers.items() if a.status_code >= 500} == {}
        assert "other_colorhist/runs/full.json is skipped" in answers["/eval"].text
        assert "mAP 1.0000" in answers["/"].text  # shapes_colorhist's own record still shown
    finally:
        store.close()
