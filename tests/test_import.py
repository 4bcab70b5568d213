"""`python cli.py import`: vectors made elsewhere become a collection that evaluates, re-ranks and answers
stored-point queries; bad files are refused with one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import average_precision_score

import cli
from errors import DatasetError, QueryError, RetrievalError
from store import open_store, point_id

LABELS = [label for label in ("cat", "dog", "owl") for _ in range(5)]


def run(tmp_path: Path, *args: str):
    options = ["--storage", str(tmp_path / "q"), "--reports", str(tmp_path / "reports")]
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli.cli, [*options, *args], catch_exceptions=False)


def write_set(tmp_path: Path, vectors: np.ndarray, suffix: str = ".npy") -> tuple[Path, Path]:
    """A list of 15 images (absent from this machine) and a vectors file, row i for line i."""
    listing = tmp_path / "exported" / "list_of_images.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{label}/{i:02d}.jpg\t{label}\n" for i, label in enumerate(LABELS)))
    file = tmp_path / "exported" / f"vectors{suffix}"
    if suffix == ".npz":
        np.savez(file, embeddings=vectors)
    else:
        np.save(file, vectors)
    return file, listing


def clustered(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = {label: rng.normal(size=8) for label in ("cat", "dog", "owl")}
    return np.array([centres[label] * 2 + rng.normal(size=8) for label in LABELS])  # float64, not normalised


def import_args(file: Path, listing: Path, *extra: str) -> list[str]:
    return ["import", "--vectors", str(file), "--list", str(listing), "-d", "pets", "-e", "extnet", *extra]


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_import_round_trips_the_vectors_in_list_order_with_their_provenance(tmp_path, suffix):
    vectors = clustered()
    file, listing = write_set(tmp_path, vectors, suffix)
    done = run(tmp_path, *import_args(file, listing), "--format", "json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert (report["collection"], report["points"], report["dim"]) == ("pets_extnet", 15, 8)
    assert report["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    store = open_store(path=tmp_path / "q")
    try:
        points = store.points("pets_extnet", with_vectors=True)
        provenance = store.provenance("pets_extnet")
    finally:
        store.close()
    expected = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(points.vectors, expected, atol=1e-6)
    assert points.ids == [point_id("pets", f"{label}/{i:02d}.jpg") for i, label in enumerate(LABELS)]
    assert points.labels == LABELS
    assert provenance.weights == {"kind": "imported", "value": report["sha256"], "seed": None}
    assert provenance.imported_from == str(file.resolve()) and provenance.same_as is False


def test_an_imported_collection_evaluates_re_ranks_and_answers_stored_point_queries(tmp_path):
    vectors = clustered(1)
    file, listing = write_set(tmp_path, vectors)
    assert run(tmp_path, *import_args(file, listing)).exit_code == 0
    evaluated = run(tmp_path, "eval", "-c", "pets_extnet", "--format", "json")
    assert evaluated.exit_code == 0, evaluated.output
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    labels = np.array(LABELS)
    expected = np.mean(
        [
            average_precision_score(np.delete(labels == labels[q], q), np.delete(similarity[q], q))
            for q in range(len(labels))
        ]
    )
    summary = json.loads(evaluated.stdout)
    assert summary["map"] == pytest.approx(expected, abs=1e-6)
    assert summary["weights"].startswith("imported vectors")
    assert "galleries not drawn" in evaluated.stderr  # the images are not on this machine
    assert run(tmp_path, "eval", "-c", "pets_extnet", "--rerank", "aqe").exit_code == 0
    found = run(tmp_path, "search", "-c", "pets_extnet", "--path", "cat/00.jpg", "-k", "4", "--format", "json")
    nearest = np.argsort(-similarity[0][1:], kind="stable")[:4] + 1  # the point itself left out
    assert [hit["index"] for hit in json.loads(found.stdout)["hits"]] == nearest.tolist()


def test_image_and_text_queries_need_the_encoder_named(tmp_path):
    file, listing = write_set(tmp_path, clustered())
    assert run(tmp_path, *import_args(file, listing)).exit_code == 0
    picture = tmp_path / "query.png"
    from PIL import Image

    Image.new("RGB", (32, 32), "red").save(picture)
    with pytest.raises(QueryError, match="imported from .*no encoder is known.*--same-as"):
        run(tmp_path, "search", "-c", "pets_extnet", "--image", str(picture))
    with pytest.raises(RetrievalError, match="unknown encoder 'extnet'"):
        run(tmp_path, *import_args(file, listing, "--same-as", "--recreate"))
    with pytest.raises(DatasetError, match="--same-as colorhist: that encoder gives 128-d vectors"):
        run(
            tmp_path,
            "import",
            "--vectors",
            str(file),
            "--list",
            str(listing),
            "-d",
            "pets",
            "-e",
            "colorhist",
            "--same-as",
        )


def _refused(tmp_path: Path, vectors: np.ndarray, message: str) -> None:
    file, listing = write_set(tmp_path, vectors)
    with pytest.raises(DatasetError, match=message):
        run(tmp_path, *import_args(file, listing))


def test_bad_vector_files_are_refused_with_one_line(tmp_path):
    good = clustered()
    _refused(tmp_path, good[:14], "has 14 rows but .* lists 15 images")
    with_nan = good.copy()
    with_nan[3, 2] = np.nan
    _refused(tmp_path, with_nan, r"row 3 \(0-based\) holds NaN")
    zero = good.copy()
    zero[7] = 0
    _refused(tmp_path, zero, r"row 7 \(0-based\) is all zeros")
    _refused(tmp_path, np.ones((15, 8), dtype=np.int64), "holds a int64 array .* expected 2-d floats")
    _refused(tmp_path, np.ones((15, 2, 4)), r"shape \(15, 2, 4\)")
    file, listing = write_set(tmp_path, good)
    np.savez(file.with_suffix(".npz"), a=good, b=good)
    with pytest.raises(DatasetError, match="holds 2 arrays"):
        run(tmp_path, *import_args(file.with_suffix(".npz"), listing))
    listing.write_text(listing.read_text() + "no tab on this line\n")
    with pytest.raises(DatasetError, match="list_of_images.txt:16: no tab"):
        run(tmp_path, *import_args(file, listing))
    assert not (tmp_path / "q" / "collection").exists() or not any((tmp_path / "q" / "collection").iterdir())


def test_the_query_page_of_imported_vectors_says_why_instead_of_offering_a_form(tmp_path):
    import io

    from fastapi.testclient import TestClient
    from PIL import Image

    from web import create_app
    from web.backend import Options

    file, listing = write_set(tmp_path, clustered())
    assert run(tmp_path, *import_args(file, listing)).exit_code == 0
    store = open_store(path=tmp_path / "q")
    try:
        client = TestClient(create_app(lambda: store, Options(tmp_path, tmp_path / "reports", "cpu")))
        page = client.get("/c/pets_extnet/query").text
        picture = io.BytesIO()
        Image.new("RGB", (32, 32), "red").save(picture, "PNG")
        refused = client.post("/c/pets_extnet/upload", files={"file": ("q.png", picture.getvalue(), "image/png")})
    finally:
        store.close()
    assert 'id="upload-form"' not in page and 'id="text-form"' not in page
    assert "no encoder is known to embed an image or a text like them" in page and "--same-as" in page
    assert "no encoder is known" in refused.text  # the reason the upload would have met
