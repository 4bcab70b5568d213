"""`duplicates`: identical files by sha256 and near duplicates by cosine, grouped, within a collection and
across two, checked against a plain numpy reference (every pair at or above the threshold, connected by
scipy) on random unit vectors and on the stored vectors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from commands.context import Context
from duplicates.groups import Member, grouped, hash_pairs
from errors import QueryError
from store import ImagePayload, open_store, point_id
from store.close_pairs import pairs_across, pairs_within
from tests.conftest import make_image, write_list_dataset


def reference_pairs(vectors: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    """Every pair i < j with cosine >= threshold, from the whole matrix."""
    scores = vectors @ vectors.T
    i, j = np.nonzero(np.triu(scores >= threshold, 1))
    return {(a, b): scores[a, b] for a, b in zip(i.tolist(), j.tolist(), strict=True)}


def reference_groups(n: int, pairs) -> set[frozenset[int]]:
    """The connected groups (two or more points) of the pairs, by scipy."""
    i, j = np.array([p[0] for p in pairs], int), np.array([p[1] for p in pairs], int)
    _, label = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    members = {}
    for point in set(i.tolist()) | set(j.tolist()):
        members.setdefault(label[point], set()).add(point)
    return {frozenset(group) for group in members.values()}


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """Random unit vectors, a third of them near copies of others (some of copies: chains)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim))
    for k in range(n // 3):
        vectors[rng.integers(n)] = vectors[k] + rng.normal(scale=0.2, size=dim)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_pairs_and_groups_equal_the_numpy_reference(seed):
    vectors = unit_vectors(90, 8, seed)
    expected = reference_pairs(vectors, 0.9)
    found = pairs_within(vectors, 0.9, block=7)  # blocks that cut the triangle's rows and the diagonal
    got = dict(zip(zip(found.first.tolist(), found.second.tolist(), strict=True), found.score.tolist(), strict=True))
    assert expected and got.keys() == expected.keys()
    assert np.allclose([got[p] for p in expected], list(expected.values()), atol=1e-5)
    members = [Member("c", str(k), ImagePayload(None, f"{k}.jpg", "d", "e", k)) for k in range(len(vectors))]
    groups = grouped(members, found, hash_pairs([None] * len(vectors)))
    assert {frozenset(m.payload.index for m in g.members) for g in groups} == reference_groups(90, expected)
    assert [len(g.members) for g in groups] == sorted((len(g.members) for g in groups), reverse=True)


def test_pairs_across_two_sets_equal_the_numpy_reference():
    vectors = unit_vectors(70, 8, 2)
    first, second = vectors[:40], vectors[40:]
    scores = first @ second.T
    expected = set(zip(*np.nonzero(scores >= 0.85), strict=True))
    found = pairs_across(first, second, 0.85, block=6)
    assert expected and set(zip(found.first.tolist(), found.second.tolist(), strict=True)) == expected


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store with shapes_colorhist (3 classes x 2 generated images, red/00.jpg stored twice: again.jpg) and
    held_colorhist (a copy of shapes' blue/01.jpg, and one image of its own), plus two stand-ins written
    directly: other_resnet18 (4-d, no measured threshold)."""
    tmp = tmp_path_factory.mktemp("duplicates")
    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset, read_dataset

    shapes = write_list_dataset(tmp / "Shapes", per_class=2)
    shutil.copy(shapes / "images" / "red" / "00.jpg", shapes / "images" / "red" / "again.jpg")
    with (shapes / "list_of_images.txt").open("a") as listing:
        listing.write("red/again.jpg\tred\n")
    held = tmp / "Held" / "images" / "x"
    held.mkdir(parents=True)
    shutil.copy(shapes / "images" / "blue" / "01.jpg", held / "leaked.jpg")
    make_image((200, 200, 40), seed=999).save(held / "own.jpg", quality=92)
    (tmp / "Held" / "list_of_images.txt").write_text("x/leaked.jpg\tx\nx/own.jpg\tx\n")
    store = open_store(path=tmp / "qdrant")
    encoder = build_encoder("colorhist", "cpu")
    for folder, name in ((shapes, "shapes"), (tmp / "Held", "held")):
        ingest_dataset(read_dataset(folder, name), encoder, store, options=IngestOptions(workers=0))
    store.ensure_collection("other_resnet18", 4)
    payloads = [ImagePayload("a", f"{k}.jpg", "other", "resnet18", k) for k in range(2)]
    store.upsert(
        "other_resnet18",
        [point_id("other", p.path) for p in payloads],
        np.eye(2, 4, dtype=np.float32),
        payloads=payloads,
    )
    yield store
    store.close()


def duplicates(store, *args: str):
    import cli

    return CliRunner().invoke(cli.cli, ["duplicates", *args], obj=Context(handed=store))


def test_the_same_file_twice_is_one_exact_group(stored):
    done = duplicates(stored, "-c", "shapes_colorhist", "--exact-only", "--format", "json")
    assert done.exit_code == 0, done.output
    [group] = json.loads(done.stdout)
    assert group["paths"] == ["red/00.jpg", "red/again.jpg"] and group["exact"] is True
    assert group["pairs"] == [{"a": "red/00.jpg", "b": "red/again.jpg", "score": None, "exact": True}]


def test_near_groups_equal_the_reference_on_the_stored_vectors(stored):
    points = stored.points("shapes_colorhist", with_vectors=True)
    paths = [p.path for p in points.payloads]
    threshold = float(np.sort((points.vectors @ points.vectors.T)[np.triu_indices(len(paths), 1)])[-4])
    done = duplicates(stored, "-c", "shapes_colorhist", "--threshold", str(threshold), "--format", "json")
    assert done.exit_code == 0, done.output
    groups = json.loads(done.stdout)
    expected = reference_pairs(points.vectors, threshold)
    assert {frozenset(g["paths"]) for g in groups} == {
        frozenset(paths[k] for k in group) for group in reference_groups(len(paths), expected)
    }
    assert sum(len(g["pairs"]) for g in groups) == len(expected)  # the identical pair is among the near ones
    assert [g["size"] for g in groups] == sorted((g["size"] for g in groups), reverse=True)
    table = duplicates(stored, "-c", "shapes_colorhist", "--threshold", str(threshold))
    printed = duplicates(stored, "-c", "shapes_colorhist", "--threshold", str(threshold), "--format", "paths")
    assert printed.stdout.split("\n\n")[:-1] == ["\n".join(g["paths"]) for g in groups]
    assert f"{len(groups)} group(s)" in table.stdout and "(same file)" in table.stdout


def test_across_finds_the_leaked_image_and_nothing_inside_one_collection(stored):
    done = duplicates(
        stored, "--across", "shapes_colorhist", "held_colorhist", "--threshold", "0.9999", "--format", "json"
    )
    assert done.exit_code == 0, done.output
    groups = json.loads(done.stdout)
    assert [sorted((m["collection"], m["path"]) for m in g["members"]) for g in groups] == [
        [("held_colorhist", "x/leaked.jpg"), ("shapes_colorhist", "blue/01.jpg")]
    ]  # red/00.jpg and red/again.jpg, both in shapes, are no leak
    assert groups[0]["exact"] is True


def test_one_line_refusals(stored, monkeypatch):
    other = duplicates(stored, "--across", "shapes_colorhist", "other_resnet18", "--threshold", "0.9")
    unmeasured = duplicates(stored, "-c", "other_resnet18")
    neither = duplicates(stored, "--threshold", "0.9")
    assert isinstance(other.exception, QueryError) and "different encoders" in str(other.exception)
    assert isinstance(unmeasured.exception, QueryError) and "pass --threshold T" in str(unmeasured.exception)
    assert "no measured near-duplicate threshold for encoder 'resnet18'" in str(unmeasured.exception)
    assert neither.exit_code == 2 and "-c NAME" in neither.output
    monkeypatch.setattr("duplicates.within.MAX_PAIRS", 3)
    loose = duplicates(stored, "-c", "shapes_colorhist", "--threshold", "-1")
    assert isinstance(loose.exception, QueryError) and "joins more than 3 pairs of 'shapes_colorhist'" in str(
        loose.exception
    )


def test_the_web_page_searches_once_per_content_and_lowest_threshold_and_filters_higher_ones(
    stored, tmp_path, monkeypatch
):
    from fastapi.testclient import TestClient

    import duplicates.within
    from duplicates import DuplicateOptions, find_within
    from web import create_app
    from web.backend import Options

    name, shapes = "copy_colorhist", stored.points("shapes_colorhist", with_vectors=True)
    stored.ensure_collection(name, shapes.vectors.shape[1])  # a collection of its own: this test adds to it
    stored.upsert(name, shapes.ids, shapes.vectors, payloads=shapes.payloads)
    scores = np.sort((shapes.vectors @ shapes.vectors.T)[np.triu_indices(len(shapes.ids), 1)])
    low, middle, high = (float(scores[-k]) for k in (5, 4, 2))  # the five closest pairs: 3, 4 and 5 of them
    expected = {t: find_within(stored, name, DuplicateOptions(threshold=t)).to_json() for t in (low, middle, high)}
    assert len({json.dumps(report) for report in expected.values()}) == 3  # each threshold its own groups
    searched: list[float] = []
    search = duplicates.within.pairs_within
    monkeypatch.setattr(duplicates.within, "pairs_within", lambda v, t, **k: searched.append(t) or search(v, t, **k))
    client = TestClient(create_app(lambda: stored, Options(tmp_path, tmp_path / "reports", "cpu")))
    try:
        for asked in (middle, high, middle, low, high):
            assert client.get(f"/c/{name}/duplicates", params={"threshold": asked}).status_code == 200
        assert searched == [middle, low]  # a higher threshold filtered the pairs kept, a lower one searched
        for asked in (middle, high):  # from the pairs at `low`: the groups a search at `asked` finds
            assert client.app.state.explorer.duplicates(name, asked).to_json() == expected[asked]
        stored.upsert(name, [point_id("copy", "new.jpg")], shapes.vectors[:1], payloads=[shapes.payloads[0]])
        client.get(f"/c/{name}/duplicates", params={"threshold": high})
        assert searched == [middle, low, high]  # new content: searched again
    finally:
        stored.drop(name)


def test_planted_copies_of_real_photos_are_found_as_groups(corel, tmp_path):
    """Four Corel-1K photos, each beside its four planted copies (bench/duplicates_bench.py's): at colorhist's
    measured default every group holds one photo's images, and each photo's group holds it with its re-encoded,
    halved and cropped copies (the bench's recall 1.000 for those; the brighter copy's is 0.917)."""
    from bench.duplicates_bench import original_of, plant_copies
    from encoders import build_encoder
    from ingest import IngestOptions, ingest_dataset, read_dataset

    folder = plant_copies(corel, tmp_path / "Planted", 4)
    store = open_store(path=tmp_path / "qdrant")
    try:
        ingest_dataset(
            read_dataset(folder, "planted"), build_encoder("colorhist", "cpu"), store, options=IngestOptions(workers=0)
        )
        done = duplicates(store, "-c", "planted_colorhist", "--format", "json")
    finally:
        store.close()
    assert done.exit_code == 0, done.output
    groups = [sorted(g["paths"]) for g in json.loads(done.stdout)]
    originals = sorted({original_of(p) for g in groups for p in g})
    assert len(originals) == 4 and all(len({original_of(p) for p in g}) == 1 for g in groups)
    for original in originals:
        [group] = [g for g in groups if original_of(g[0]) == original]
        assert {f"{original}.jpg", *(f"{original}__{kind}.jpg" for kind in ("jpeg70", "half", "crop90"))} <= set(group)
