"""`search --like/--unlike/--strategy/--diverse/--min-score` in process, on a tiny colorhist collection
(3 colours x 4 images), checked against Qdrant's formulas in numpy on the stored vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from commands.context import Context
from encoders import build_encoder
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import ImagePayload, VectorStore, open_store, point_id
from store.example_query import Strategy
from tests.conftest import write_list_dataset
from tests.recommend_reference import recommend_scores

NAME = "shapes_colorhist"


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> tuple[VectorStore, Path]:
    """The open store holding shapes_colorhist, and the dataset's image folder."""
    tmp = tmp_path_factory.mktemp("examples")
    write_list_dataset(tmp / "data" / "Shapes")
    dataset = read_dataset(discover(tmp / "data")["shapes"], "shapes")
    store = open_store(path=tmp / "qdrant")
    ingest_dataset(dataset, build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0))
    yield store, tmp / "data" / "Shapes" / "images"
    store.close()


def search(store: VectorStore, *args: str):
    return CliRunner().invoke(cli.cli, ["search", "-c", NAME, *args], obj=Context(handed=store))


def error_of(result) -> str:
    """The one line `cli.main` prints: a usage error's text, or the project's exception (one line)."""
    assert result.exit_code != 0
    text = (
        result.output if result.exception is None or isinstance(result.exception, SystemExit) else str(result.exception)
    )
    assert "\n" not in text.strip() or "Usage:" in text
    return text


def hits_of(store: VectorStore, *args: str) -> list[dict]:
    result = search(store, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["hits"]


@pytest.mark.parametrize("strategy", list(Strategy))
def test_like_two_unlike_one_ranks_as_qdrants_formula_on_the_stored_vectors(shapes, strategy):
    store, _ = shapes
    stored = store.points(NAME, with_vectors=True)
    rows = {path: row for row, path in enumerate(stored.paths)}
    like, unlike = ["red/00.jpg", "green/01.jpg"], ["red/02.jpg"]
    scores = recommend_scores(stored.vectors, [rows[p] for p in like], [rows[p] for p in unlike], strategy)
    scores[[rows[p] for p in like + unlike]] = -np.inf  # stored examples are never hits
    args = [arg for p in like for arg in ("--like", p)] + ["--unlike", unlike[0], "--strategy", str(strategy)]
    hits = hits_of(store, *args, "-k", "5")
    assert not {h["path"] for h in hits} & set(like + unlike)
    np.testing.assert_allclose([h["score"] for h in hits], [scores[rows[h["path"]]] for h in hits], atol=1e-4)
    np.testing.assert_allclose([h["score"] for h in hits], np.sort(scores)[::-1][:5], atol=1e-4)  # the top 5
    kept = hits_of(store, *args, "--min-score", str(scores[rows[hits[1]["path"]]] - 1e-4))
    assert all(h["score"] >= scores[rows[hits[1]["path"]]] - 1e-4 for h in kept) and len(kept) < 9


def test_diverse_reorders_a_stored_point_query_across_the_colours(shapes):
    store, _ = shapes
    plain = hits_of(store, "--path", "red/00.jpg", "-k", "3")
    diverse = hits_of(store, "--path", "red/00.jpg", "-k", "3", "--diverse", "--diversity", "0.9")
    assert [h["label"] for h in plain] == ["red"] * 3
    assert sorted(h["label"] for h in diverse) == ["blue", "green", "red"]
    stored = store.points(NAME, with_vectors=True)
    query = stored.vectors[stored.paths.index("red/00.jpg")]
    for hit in diverse:  # each hit keeps its cosine to the query as its score
        assert hit["score"] == pytest.approx(float(stored.vectors[stored.paths.index(hit["path"])] @ query), abs=1e-5)


def test_an_image_file_is_an_example_and_the_min_score_cuts_a_plain_query(shapes, tmp_path):
    store, images = shapes
    shutil.copy(images / "blue" / "01.jpg", tmp_path / "mine.jpg")
    hits = hits_of(store, "--like", str(tmp_path / "mine.jpg"), "-k", "2")
    assert hits[0]["path"] == "blue/01.jpg" and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
    plain = hits_of(store, "--image", str(tmp_path / "mine.jpg"), "--min-score", "0.5")
    assert {h["label"] for h in plain} == {"blue"} and len(plain) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--like", "red/0.jpg"],
            "--like red/0.jpg: no point in 'shapes_colorhist' has this path and there is no such file; did you mean 'red/0",
        ),
        (["--like", "00000000-0000-0000-0000-000000000000"], "no point in 'shapes_colorhist' has this id"),
        (["--like", "red/00.jpg", "--unlike", "red/00.jpg"], "'red/00.jpg' is given both as --like and as --unlike"),
        (["--like", "red/00.jpg", "--unlike", "blue/00.jpg", "--diverse"], "--diverse re-orders a nearest query"),
        (["--path", "red/00.jpg", "--diversity", "0.3"], "--diversity goes with --diverse"),
        (["--like", "red/00.jpg", "--id", "x"], "with --like/--unlike, give every example there"),
        (["--like", "red/00.jpg", "--text", "red"], "has no text tower"),
    ],
)
def test_bad_examples_are_one_line_errors(shapes, args, message):
    assert message in error_of(search(shapes[0], *args))


def test_a_file_that_is_no_image_is_named_with_its_side(shapes, tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    result = search(shapes[0], "--like", "red/00.jpg", "--unlike", str(tmp_path / "notes.jpg"))
    assert f"--unlike {tmp_path / 'notes.jpg'}: cannot read image" in error_of(result)


def test_diverse_with_a_label_stored_in_two_spellings_is_refused_in_one_line(store):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4, 8)).astype(np.float32)
    paths = [f"{i}.jpg" for i in range(4)]
    store.ensure_collection("toy", 8)
    payloads = [
        ImagePayload(label, path, "toy", "toy", i) for i, (label, path) in enumerate(zip("aBbc", paths, strict=True))
    ]
    store.upsert("toy", [point_id("toy", p) for p in paths], vectors, payloads=payloads)
    asked = ["search", "-c", "toy", "--id", point_id("toy", "0.jpg"), "--label", "b"]
    merged = CliRunner().invoke(cli.cli, [*asked, "--format", "json"], obj=Context(handed=store))
    assert {hit["path"] for hit in json.loads(merged.output)["hits"]} == {"1.jpg", "2.jpg"}
    refused = CliRunner().invoke(cli.cli, [*asked, "--diverse"], obj=Context(handed=store))
    assert "--diverse with --label 'b': collection 'toy' spells it 2 ways (B, b)" in error_of(refused)
