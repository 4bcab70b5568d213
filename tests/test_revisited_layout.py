"""Revisited Oxford/Paris from the published layout: ingest the database, eval embeds the cropped queries."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from commands.context import Context
from errors import DatasetError
from ingest import discover, read_dataset
from media.groundtruth import read_ground_truth
from tests.conftest import make_image
from tests.test_revisitop import _reference

COLOURS = [(200, 40, 40), (40, 180, 60), (40, 60, 200)]
DATABASE = [f"{name}_{n:06d}" for name in ("all_souls", "bodleian", "radcliffe") for n in range(4)]


def write_revisited(root: Path, dataset: str = "roxford5k") -> Path:
    """12 database images of 3 landmarks and 2 queries, whose boxes hold a red and a blue patch."""
    folder = root / dataset
    (folder / "jpg").mkdir(parents=True)
    for n, name in enumerate(DATABASE):
        make_image(COLOURS[n // 4], seed=n).save(folder / "jpg" / f"{name}.jpg")
    for q, colour in enumerate((COLOURS[0], COLOURS[2])):
        image = np.array(make_image((128, 128, 128), seed=50 + q, size=(120, 90)))
        image[20:70, 30:90] = np.array(make_image(colour, seed=60 + q, size=(60, 50)))
        Image.fromarray(image).save(folder / "jpg" / f"query_{q}.jpg")
    gnd = [
        # red query: two easy, one hard, one junk among the reds
        {"bbx": np.array([30.0, 20.0, 90.0, 70.0]), "easy": [0, 1], "hard": np.array([2]), "junk": [3]},
        # blue query: no hard positive (left out of Hard), greens as junk
        {"bbx": [30.2, 19.8, 89.6, 70.4], "easy": [8, 9, 10, 11], "hard": [], "junk": [4, 5]},
    ]
    record = {"imlist": DATABASE, "qimlist": ["query_0", "query_1"], "gnd": gnd}
    (folder / f"gnd_{dataset}.pkl").write_bytes(pickle.dumps(record))
    return folder


def test_layout_is_a_dataset_of_database_images(tmp_path):
    folder = write_revisited(tmp_path / "data")
    assert discover(tmp_path / "data") == {"roxford5k": folder}
    dataset = read_dataset(folder)
    assert [item.path for item in dataset.items] == [f"{name}.jpg" for name in DATABASE]
    assert dataset.items[0].label == "all_souls" and dataset.image_root == folder / "jpg"


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    file = tmp_path / "gnd_roxford5k.pkl"
    file.write_bytes(pickle.dumps({"imlist": [], "qimlist": [], "gnd": [Payload()]}))
    with pytest.raises(DatasetError, match="refusing 'builtins.print'"):
        read_ground_truth(file, "roxford5k")


def test_eval_measures_easy_medium_hard_with_the_published_figures_beside(tmp_path, store):
    from cli import cli
    from encoders import build_encoder

    folder = write_revisited(tmp_path / "data")
    handed = Context(handed=store)  # the CLI in this process, on the open store
    runner = CliRunner()
    common = ["--reports", str(tmp_path / "reports")]
    ingest = [*common, "ingest", "--data-root", str(tmp_path / "data"), "-e", "colorhist"]
    assert runner.invoke(cli, ingest, catch_exceptions=False, obj=handed).exit_code == 0
    result = runner.invoke(cli, [*common, "eval", "-c", "roxford5k_colorhist"], catch_exceptions=False, obj=handed)
    assert result.exit_code == 0, result.output
    assert "68.8" in result.output and "43.2" in result.output and "Table 9" in result.output
    metrics = json.loads((tmp_path / "reports" / "roxford5k_colorhist" / "metrics.json").read_text())
    assert metrics["protocol"] == "revisited" and metrics["reference"]["map"] == {"medium": 68.8, "hard": 43.2}
    # independent figures: the queries cropped here, ranked against the stored vectors
    encoder = build_encoder("colorhist")
    truth = read_ground_truth(folder / "gnd_roxford5k.pkl", "roxford5k")
    crops = []
    for query in truth.queries:
        image = Image.open(folder / "jpg" / f"{query.name}.jpg").convert("RGB")
        crops.append(image.crop(tuple(round(v) for v in query.bbx)))
    queries = encoder.embed_pil(crops)
    points = store.points("roxford5k_colorhist", with_vectors=True)
    order = np.argsort(-(queries @ points.vectors.T), axis=1, kind="stable")
    lists = {
        "easy": lambda t: (set(t.easy), set(t.junk) | set(t.hard)),
        "medium": lambda t: (set(t.easy) | set(t.hard), set(t.junk)),
        "hard": lambda t: (set(t.hard), set(t.junk) | set(t.easy)),
    }
    for setup, pick in lists.items():
        expected = [
            _reference(order[q].tolist(), *pick(t), (1, 5, 10)) for q, t in enumerate(truth.queries) if pick(t)[0]
        ]
        figures = metrics["setups"][setup]
        assert figures["map"] == pytest.approx(np.mean([ap for ap, _ in expected]))
        assert figures["mp_at"]["5"] == pytest.approx(np.mean([p[1] for _, p in expected]))
    assert metrics["setups"]["hard"]["queries"] == 1
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "Revisited Oxford and Paris" in index and "ref. 68.8" in index
