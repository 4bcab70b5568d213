"""Ad-hoc search against a generated dataset ingested with colorhist and a random tiny clip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from commands.context import Context
from encoders import build_encoder
from errors import CollectionNotFoundError, QueryError
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from search import Query, Searcher
from store import ImagePayload, VectorStore, open_store, point_id
from tests.conftest import run_cli, write_list_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """tmp/data/Shapes (3 classes x 4 images) and tmp/qdrant with shapes_colorhist, shapes_clip
    (random-tiny), two stand-ins written directly (shapes_resnet18, other_clip) and empty_clip."""
    tmp = tmp_path_factory.mktemp("search")
    write_list_dataset(tmp / "data" / "Shapes")
    dataset = read_dataset(discover(tmp / "data")["shapes"], "shapes")
    store = open_store(path=tmp / "qdrant")
    for name, init in (("colorhist", "pretrained"), ("clip", "random-tiny")):
        ingest_dataset(dataset, build_encoder(name, "cpu", init=init), store, options=IngestOptions(workers=0))
    for dataset_name, encoder in (("shapes", "resnet18"), ("other", "clip")):
        collection = f"{dataset_name}_{encoder}"
        store.ensure_collection(collection, 4)
        payload = ImagePayload("a", "a.jpg", dataset_name, encoder, 0)
        store.upsert(collection, [point_id(dataset_name, "a.jpg")], np.eye(1, 4, dtype=np.float32), payloads=[payload])
    store.ensure_collection("empty_clip", 512)
    store.close()
    return tmp


@pytest.fixture
def opened(built: Path):
    store = open_store(path=built / "qdrant")
    yield store
    store.close()


@pytest.fixture
def searcher(opened: VectorStore) -> Searcher:
    return Searcher(lambda: opened, device="cpu", init="random-tiny")


def image(built: Path, rel: str) -> Path:
    return built / "data" / "Shapes" / "images" / rel


def assert_ranked(hits, k: int) -> None:
    scores = [hit.score for hit in hits]
    assert len(hits) == k
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("collection", ["shapes_colorhist", "shapes_clip"])
def test_image_query_gives_k_hits_best_first_with_the_same_stored_image_on_top(built, searcher, collection):
    result = searcher.search(Query(collection, image=image(built, "green/01.jpg"), limit=5))
    assert_ranked(result.hits, 5)
    assert result.info.encoder == collection.split("_")[1]
    assert result.hits[0].path == "green/01.jpg"
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)  # decoded exactly as ingest did


def test_text_query_on_clip_gives_the_numpy_top_k(searcher, opened):
    result = searcher.search(Query("shapes_clip", text="a green photo", limit=4))
    text = build_encoder("clip", "cpu", init="random-tiny").embed_texts(["a green photo"])[0]
    stored = opened.points("shapes_clip", with_vectors=True)
    scores = stored.vectors @ text
    best = np.argsort(-scores, kind="stable")[:4]
    assert [hit.id for hit in result.hits] == [stored.ids[i] for i in best]
    assert [hit.score for hit in result.hits] == pytest.approx(scores[best].tolist(), abs=1e-5)
    assert result.to_json()["query"] == {"kind": "text", "value": "a green photo", "id": None, "label": None}


@pytest.mark.parametrize("collection", ["shapes_colorhist", "shapes_clip"])
def test_id_and_path_queries_leave_the_queried_point_out(searcher, collection):
    pid = point_id("shapes", "red/02.jpg")
    by_path = searcher.search(Query(collection, path="red/02.jpg", limit=11))
    by_id = searcher.search(Query(collection, point_id=pid, limit=11))
    assert_ranked(by_path.hits, 11)
    assert pid not in {hit.id for hit in by_path.hits}
    assert [hit.id for hit in by_id.hits] == [hit.id for hit in by_path.hits]
    assert (by_path.source_id, by_path.source.label) == (pid, "red")


def test_colour_classes_come_first_for_the_colour_histogram(searcher):
    result = searcher.search(Query("shapes_colorhist", path="blue/00.jpg", limit=3))
    assert [hit.label for hit in result.hits] == ["blue"] * 3


@pytest.mark.parametrize("query", [{"path": "red/00.jpg"}, {"text": "anything"}, {"image": "blue/03.jpg"}])
def test_label_filter_keeps_only_that_class(built, searcher, query):
    if "image" in query:
        query = {"image": image(built, query["image"])}
    result = searcher.search(Query("shapes_clip", limit=10, label="green", **query))
    assert_ranked(result.hits, 4)
    assert {hit.label for hit in result.hits} == {"green"}


@pytest.mark.parametrize("query", [{"text": "a red bus"}, {"image": "blue/03.jpg"}])
def test_a_label_is_checked_against_the_store_before_any_model_loads(built, opened, query, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("a model loaded before the label was checked")

    monkeypatch.setattr("search.searcher.build_encoder", no_model)
    monkeypatch.setattr("search.searcher.build_text_encoder", no_model)
    if "image" in query:
        query = {"image": image(built, query["image"])}
    fresh = Searcher(lambda: opened, device="cpu", init="random-tiny")  # no model loaded yet, none embedded ahead
    with pytest.raises(QueryError, match="no label 'gren' .*did you mean 'green'"):
        fresh.search(Query("shapes_clip", label="gren", **query))


def test_search_reports_model_load_encode_and_store_seconds_apart(built, opened):
    fresh = Searcher(lambda: opened, device="cpu", init="random-tiny")
    first = fresh.search(Query("shapes_clip", image=image(built, "blue/03.jpg")))
    again = fresh.search(Query("shapes_clip", image=image(built, "red/00.jpg")))
    assert first.load_seconds > 0 and again.load_seconds == 0  # loaded once, then kept
    assert first.encode_seconds > 0 and first.store_seconds > 0
    assert set(first.to_json()["seconds"]) == {"load", "encode", "store"}


def test_text_on_an_image_only_collection_names_the_text_collections_of_its_dataset(searcher):
    with pytest.raises(QueryError, match="no text tower") as caught:
        searcher.search(Query("shapes_resnet18", text="a red bus"))
    message = str(caught.value)
    assert "text-capable collections of dataset 'shapes': shapes_clip" in message
    assert "other_clip" not in message


@pytest.mark.parametrize(
    "query, error, message",
    [
        (Query("nope_clip", path="red/00.jpg"), CollectionNotFoundError, "collection 'nope_clip' does not exist"),
        (Query("shapes_clip", path="red/99.jpg"), QueryError, "no point in 'shapes_clip' has path 'red/99.jpg'"),
        (Query("shapes_clip", point_id="12"), QueryError, "'12' is not a point id"),
        (Query("shapes_clip", point_id=point_id("shapes", "x")), QueryError, "has id"),
        (Query("shapes_clip", text="a", path="red/00.jpg"), QueryError, "exactly one of"),
        (Query("shapes_clip"), QueryError, "exactly one of"),
        (Query("empty_clip", text="a"), QueryError, "collection 'empty_clip' is empty"),
    ],
)
def test_bad_queries_raise_one_clear_error(searcher, query, error, message):
    with pytest.raises(error, match=message):
        searcher.search(query)


def test_a_model_is_loaded_once_per_searcher(built, searcher, monkeypatch):
    import search.searcher

    built_models = []

    def counting(name, *args, **kwargs):
        built_models.append(name)
        return build_encoder(name, *args, **kwargs)

    monkeypatch.setattr(search.searcher, "build_encoder", counting)
    monkeypatch.setattr(search.searcher, "build_text_encoder", counting)
    for rel in ("red/00.jpg", "blue/01.jpg"):
        searcher.search(Query("shapes_clip", image=image(built, rel), limit=2))
    searcher.search(Query("shapes_clip", text="red", limit=2))  # the full model serves text too
    assert built_models == ["clip"]


def test_text_only_loading_gives_the_full_models_text_vectors(tmp_path):
    from transformers import CLIPModel

    from encoders import build_text_encoder
    from encoders.families.clip import byte_level_tokenizer

    saved = build_encoder("clip", "cpu", init="random-tiny")
    saved.model.save_pretrained(tmp_path / "clip")
    byte_level_tokenizer().save_pretrained(tmp_path / "clip")
    full = build_encoder("clip", "cpu", weights=str(tmp_path / "clip"))
    text = build_text_encoder("clip", "cpu", weights=str(tmp_path / "clip"))
    assert isinstance(full.model, CLIPModel) and not hasattr(text.model, "vision_model")
    texts = ["a red bus", "two horses"]
    assert np.allclose(full.embed_texts(texts), text.embed_texts(texts), atol=1e-5)


def cli(opened: VectorStore, *args: str):
    """The CLI in this process on the open store (the embedded store allows one opener)."""
    from cli import cli as group

    return CliRunner().invoke(group, list(args), catch_exceptions=False, obj=Context(handed=opened))


def test_cli_refuses_a_gallery_it_cannot_write_before_any_model_loads(built, opened, tmp_path, monkeypatch):
    from errors import MediaError

    monkeypatch.setattr("search.searcher.build_text_encoder", lambda *a, **k: pytest.fail("a model loaded"))
    (tmp_path / "file").write_text("")
    with pytest.raises(MediaError, match="--gallery .* is a file"):
        cli(opened, "search", "-c", "shapes_clip", "--text", "red", "--gallery", str(tmp_path / "file" / "g.png"))


def test_cli_formats_paths_json_and_table(built, opened):
    base = ["search", "-c", "shapes_colorhist", "--path", "red/00.jpg", "-k", "3"]
    paths = cli(opened, *base, "--format", "paths")
    assert paths.exit_code == 0
    root = built / "data" / "Shapes" / "images"  # where ingest found the images, recorded by the collection
    assert sorted(paths.stdout.splitlines()) == [str(root / f"red/0{i}.jpg") for i in (1, 2, 3)]
    data = json.loads(cli(opened, *base, "--format", "json").stdout)
    assert [hit["rank"] for hit in data["hits"]] == [1, 2, 3]
    assert data["query"]["id"] == point_id("shapes", "red/00.jpg")
    assert [hit["file"] for hit in data["hits"]] == paths.stdout.splitlines()
    table = cli(opened, *base).stdout
    assert "shapes_colorhist (colorhist, no weights, 12 points): path red/00.jpg (red, excluded" in table
    assert all(hit["path"] in table for hit in data["hits"])


def test_cli_gallery_draws_the_query_and_its_hits(built, opened, tmp_path):
    from PIL import Image

    picture = tmp_path / "out" / "gallery.png"
    result = cli(
        opened,
        "search",
        "-c",
        "shapes_clip",
        "--text",
        "red",
        "-k",
        "5",
        "--init",
        "random-tiny",
        "--gallery",
        str(picture),
        "--data-root",
        str(built / "data"),
        "--format",
        "paths",
    )
    assert result.exit_code == 0
    assert "not found" not in result.stderr
    with Image.open(picture) as drawn:
        assert drawn.size[0] > drawn.size[1] > 0  # one row: the query and five hits


def run(built: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess:
    """`search ARGS` in a fresh interpreter: what it imports, and the child it forks to embed ahead."""
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, str(ROOT / "cli.py"), "--storage", str(built / "qdrant"), "search", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=built,
        env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )


def test_a_stored_point_query_prints_paths_without_importing_torch(built):
    done = run(built, "-c", "shapes_colorhist", "--path", "red/00.jpg", "-k", "5", "--format", "paths", importtime=True)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 5 and "red/00.jpg" not in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "qdrant_edge" in imported  # the embedded store's engine, and nothing heavier
    assert not {"torch", "transformers", "torchvision", "qdrant_client"} & imported


@pytest.mark.parametrize(
    "args, message",
    [
        (["-c", "nope_clip", "--path", "red/00.jpg"], "error: collection 'nope_clip' does not exist"),
        (["-c", "shapes_clip", "--image", "missing.jpg"], "error: image file 'missing.jpg' does not exist"),
        (
            ["-c", "shapes_colorhist", "--image", "data/Shapes/list_of_images.txt"],
            "error: cannot read image 'data/Shapes/list_of_images.txt': cannot decode",
        ),
    ],
)
def test_the_user_sees_one_line_and_exit_code_2(built, args, message):
    done = run_cli("--storage", str(built / "qdrant"), "search", *args, cwd=built)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(message)


def test_a_cold_cli_text_query_finds_what_the_library_finds(built):
    """The CLI embeds ahead in a forked child; its vector must be the in-process one."""
    done = run(
        built,
        "-c",
        "shapes_clip",
        "--text",
        "a green photo",
        "-k",
        "4",
        "--init",
        "random-tiny",
        "--device",
        "cpu",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    store = open_store(path=built / "qdrant")
    try:
        searcher = Searcher(lambda: store, device="cpu", init="random-tiny")
        expected = searcher.search(Query("shapes_clip", text="a green photo", limit=4))
    finally:
        store.close()
    answer = json.loads(done.stdout)
    assert answer["embedded_ahead"] is True  # the forked child embedded the query
    got = answer["hits"]
    assert [hit["id"] for hit in got] == [hit.id for hit in expected.hits]
    assert [hit["score"] for hit in got] == pytest.approx([hit.score for hit in expected.hits], abs=1e-5)


def test_an_image_query_on_a_colour_histogram_collection_imports_no_torch(built):
    query = str(image(built, "green/01.jpg"))
    done = run(built, "-c", "shapes_colorhist", "--image", query, "-k", "3", "--format", "paths", importtime=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("green/01.jpg")
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not {"torch", "transformers", "torchvision", "timm"} & imported


def test_a_random_weight_collection_is_searched_with_the_weights_it_recorded_without_init(built):
    query = str(image(built, "green/01.jpg"))
    done = run_cli("--storage", str(built / "qdrant"), "search", "-c", "shapes_clip", "--image", query, "-k", "2",
                   "--format", "paths", cwd=built)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("green/01.jpg")  # its own image first: the same random weights
