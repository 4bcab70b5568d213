"""The command line as a new user meets it (issue 15): each test runs the CLI, as typed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from cli import cli
from encoders import SPECS
from errors import RetrievalError
from tests.conftest import make_image, run_cli
from tests.test_missing_weights import ROOT, _empty_cache_env


def run(*args: str, env: dict | None = None, **kwargs):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False, **kwargs)


def refused(*args: str, env: dict | None = None) -> str:
    """The one line a command that should fail gives (cli.main prints it and exits 2)."""
    done = CliRunner().invoke(cli, list(args), env=env)
    assert isinstance(done.exception, RetrievalError), done.output
    return str(done.exception)


@pytest.fixture
def ingested(data_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(storage, reports) holding shapes_colorhist, ingested with every option after the command's name."""
    storage, reports = tmp_path / "q", tmp_path / "r"
    done = run(
        "ingest", "--data-root", str(data_root), "-e", "colorhist", "--workers", "0",
        "--storage", str(storage), "--reports", str(reports),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return storage, reports


# 1. store and report options after the command's name, and from the environment


def test_store_and_report_options_work_after_the_command_and_from_the_environment(ingested, tmp_path):
    storage, reports = ingested
    assert (reports / "ingest" / "shapes_colorhist.json").is_file()  # --reports after `ingest`
    listed = run("collections", "--format", "json", "--storage", str(storage))
    assert [c["name"] for c in json.loads(listed.stdout)] == ["shapes_colorhist"]
    other = tmp_path / "other_reports"
    env = {"RETRIEVAL_STORAGE": str(storage), "RETRIEVAL_REPORTS": str(other)}
    assert run("eval", "-c", "shapes_colorhist", env=env).exit_code == 0
    assert (other / "shapes_colorhist" / "runs" / "full.json").is_file()
    # an option after the command wins over the environment
    assert run("eval", "-c", "shapes_colorhist", "--reports", str(tmp_path / "third"), env=env).exit_code == 0
    assert (tmp_path / "third" / "index.html").is_file()
    unknown_url = run("search", "-c", "x", "--id", "1", "--qdrant-url", "http://127.0.0.1:1", "--help")
    assert unknown_url.exit_code == 0  # accepted, not 'No such option'
    helped = run("--help").output
    for variable in ("RETRIEVAL_STORAGE", "RETRIEVAL_REPORTS", "QDRANT_URL", "QDRANT_API_KEY"):
        assert variable in helped
    assert "RETRIEVAL_DATA_ROOT" in run("ingest", "--help").output


def test_the_data_root_comes_from_the_environment(data_root):
    listed = run("datasets", "--format", "json", env={"RETRIEVAL_DATA_ROOT": str(data_root)})
    assert [d["name"] for d in json.loads(listed.stdout)] == ["shapes"]


# 2. one vocabulary


def test_eval_takes_dash_k_and_format_json(ingested):
    storage, reports = ingested
    done = run("eval", "-c", "shapes_colorhist", "-k", "3", "--format", "json", "--storage", str(storage))
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert (summary["collection"], summary["k"], summary["metric"]) == ("shapes_colorhist", 3, "mAP@3")
    assert run("eval", "--json").exit_code == 2  # one way: --format json


# 3. search --path takes the file's path too; 4. an unknown --label is an error


def test_search_path_takes_the_stored_form_the_file_path_and_the_images_prefix(ingested, data_root, monkeypatch):
    storage, _ = ingested
    images = data_root / "Shapes" / "images"
    monkeypatch.chdir(data_root.parent)
    forms = [
        "red/01.jpg",  # as stored
        "images/red/01.jpg",  # relative to the dataset's folder
        str(Path("data", "Shapes", "images", "red", "01.jpg")),  # relative to the working folder
        str(images / "red" / "01.jpg"),  # absolute
    ]
    found = []
    for form in forms:
        done = run("search", "-c", "shapes_colorhist", "--path", form, "--format", "json", "--storage", str(storage))
        assert done.exit_code == 0, (form, done.output)
        found.append(json.loads(done.stdout)["query"]["id"])
    assert len(set(found)) == 1 and found[0] is not None
    outside = data_root.parent / "elsewhere.jpg"
    make_image((200, 40, 40), seed=1).save(outside)
    message = refused("search", "-c", "shapes_colorhist", "--path", str(outside), "--storage", str(storage))
    assert "no point in 'shapes_colorhist' has path" in message


def test_an_unknown_label_lists_the_labels_with_a_did_you_mean(ingested):
    storage, _ = ingested
    query = ["search", "-c", "shapes_colorhist", "--path", "red/01.jpg", "--storage", str(storage)]
    found = run(*query, "--label", "Green", "--format", "json")  # case ignored, and said so
    assert found.exit_code == 0 and {hit["label"] for hit in json.loads(found.stdout)["hits"]} == {"green"}
    assert json.loads(found.stdout)["label_filter"]["matches"] == "any of a point's labels, case ignored"
    message = refused(*query, "--label", "gren")
    assert message.endswith("has no label 'gren' (case ignored); did you mean 'green'? its labels: blue, green, red")
    message = refused(*query, "--label", "cat")
    assert "did you mean" not in message and message.endswith("its labels: blue, green, red")
    assert run(*query, "--label", "green").exit_code == 0


# 5. encoder names in any case; 6. one policy for encoders without weights


def test_encoder_names_are_accepted_in_any_case(data_root, tmp_path):
    storage = tmp_path / "q"
    done = run("ingest", "--data-root", str(data_root), "-e", "ColorHist", "--workers", "0", "--storage", str(storage))
    assert done.exit_code == 0, done.output
    assert "shapes_colorhist" in done.stdout and "shapes_ColorHist" not in done.stdout


def test_ingest_does_every_encoder_that_can_run_and_fails_for_the_skipped(data_root, tmp_path):
    storage = tmp_path / "q"
    command = [sys.executable, str(ROOT / "cli.py"), "ingest", "--data-root", str(data_root), "--workers", "0"]
    done = subprocess.run(
        [*command, "-e", "clip", "-e", "colorhist", "--storage", str(storage), "--reports", str(tmp_path / "r")],
        cwd=tmp_path,
        env=_empty_cache_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "skipping clip" in done.stderr and SPECS["clip"].model_id in done.stderr
    assert "shapes_colorhist" in done.stdout  # ingested although clip was skipped
    assert re.search(r"error: skipped clip .*the other encoders were ingested", done.stderr)
    listed = run("collections", "--format", "json", "--storage", str(storage))
    assert [c["name"] for c in json.loads(listed.stdout)] == ["shapes_colorhist"]


# 7. tables at 80 columns never cut the names that identify rows


def _whole_words(output: str) -> set[str]:
    return set(re.findall(r"[\w./:-]+", output))


def test_tables_at_80_columns_keep_names_and_paths_whole(data_root, tmp_path):
    env = {"COLUMNS": "80"}
    listing = run("encoders", env=env).stdout
    assert max(len(line) for line in listing.splitlines()) <= 80
    assert set(SPECS) <= _whole_words(listing)
    long_name = data_root / "Flowers12longname"
    (long_name / "a_long_class_name").mkdir(parents=True)
    deep = long_name / "a_long_class_name" / "an_image_with_a_rather_long_file_name_0001.jpg"
    make_image((40, 180, 60), seed=5).save(deep)
    make_image((40, 180, 60), seed=6).save(deep.with_name("an_image_with_a_rather_long_file_name_0002.jpg"))
    storage = tmp_path / "q"
    ingested = run(
        "ingest", "--data-root", str(data_root), "-e", "colorhist", "--workers", "0", "--storage", str(storage)
    )
    assert ingested.exit_code == 0, ingested.output
    collection = "flowers12longname_colorhist"
    for args in (
        ["collections"],
        ["eval", "--reports", str(tmp_path / "r")],
        ["search", "-c", collection, "--path", "a_long_class_name/an_image_with_a_rather_long_file_name_0001.jpg"],
    ):
        output = run(*args, "--storage", str(storage), env=env).stdout
        assert collection in output.replace("\n", "") or collection in _whole_words(output), args
        assert "…" not in output, output
    assert "has path" in refused("search", "-c", collection, "--path", deep.name, "--storage", str(storage))
    hit = run("search", "-c", collection, "--id", _first_id(storage, collection), "--storage", str(storage), env=env)
    assert "an_image_with_a_rather_long_file_name_000" in hit.stdout.replace("\n", "").replace("│", "").replace(" ", "")


def _first_id(storage: Path, collection: str) -> str:
    shown = run("collections", "show", collection, "--format", "json", "--storage", str(storage))
    return json.loads(shown.stdout)["samples"][0]["id"]


# 8. search galleries: a title with the collection and the query; captions keep rank and score


def test_gallery_captions_keep_rank_and_score_and_the_title_names_collection_and_query(tmp_path, monkeypatch):
    import media.sheets as gallery

    folder = tmp_path / "data" / "tiles"
    label = "a_label_far_too_long_to_fit_under_one_thumbnail_of_the_gallery"
    for i in range(3):
        (folder / label).mkdir(parents=True, exist_ok=True)
        make_image((200, 40, 40), seed=i).save(folder / label / f"{'x' * 40}_{i}.jpg")
    storage = tmp_path / "q"
    ingest = ["ingest", "--data-root", str(tmp_path / "data"), "-e", "colorhist", "--workers", "0"]
    assert run(*ingest, "--storage", str(storage)).exit_code == 0
    shown: list[str] = []
    original = gallery.fit

    def recording(text, font, width, keep_start=False):
        shown.append(original(text, font, width, keep_start=keep_start))
        return shown[-1]

    monkeypatch.setattr(gallery, "fit", recording)
    out = tmp_path / "g.png"
    query = f"{label}/{'x' * 40}_0.jpg"
    done = run("search", "-c", "tiles_colorhist", "--path", query, "--gallery", str(out), "--storage", str(storage))
    assert done.exit_code == 0, done.output
    assert Image.open(out).size[0] > 0
    assert shown[0].startswith("tiles_colorhist: query by path a_label")
    ranks = [text for text in shown if text.startswith("#")]
    assert [text[:3] for text in ranks] == ["#1 ", "#2 "]
    assert all(re.match(r"#\d  \d\.\d{3}  a_label", text) and text.endswith("...") for text in ranks)
    paths = [text for text in shown if text.endswith(".jpg")]
    assert len(paths) == 3 and all(
        text.startswith("...") and text.endswith("_0.jpg") is (i == 0) for i, text in enumerate(paths)
    )


# 9. the offline demo shows something


def test_the_offline_demo_generates_classes_a_colour_histogram_separates(tmp_path):
    env = _empty_cache_env(tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "demo", "--data-root", str(tmp_path / "data")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    classes = sorted(p.name for p in (tmp_path / "data" / "patterns").iterdir())
    assert len(classes) == 10 and all(len(list((tmp_path / "data" / "patterns" / c).iterdir())) == 40 for c in classes)
    for name in ("dinov2", "clip", "resnet18"):
        assert f"skipping {name}" in done.stderr
    metrics = json.loads((tmp_path / "reports" / "patterns_colorhist" / "runs" / "full.json").read_text())
    assert metrics["queries"] == 400 and metrics["map"] > 0.6


# 11. no arguments, drop without a terminal


def test_no_arguments_shows_the_help_and_exits_0():
    done = subprocess.run([sys.executable, str(ROOT / "cli.py")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Usage:" in done.stdout and "ingest" in done.stdout


def test_drop_without_a_terminal_needs_yes(ingested, tmp_path):
    storage, _ = ingested
    done = run_cli("collections", "drop", "shapes_colorhist", "--storage", str(storage), cwd=tmp_path)  # stdin: no tty
    assert done.returncode == 2 and "--yes needed" in done.stderr
    listed = run("collections", "--format", "json", "--storage", str(storage))
    assert [c["name"] for c in json.loads(listed.stdout)] == ["shapes_colorhist"]


# 12. the HTML report


def test_the_report_has_contents_captions_that_say_what_and_escaped_names(ingested):
    storage, reports = ingested
    assert run("eval", "--storage", str(storage), "--reports", str(reports)).exit_code == 0
    page = (reports / "index.html").read_text()
    toc = re.search(r"<nav>.*?</nav>", page, re.S).group(0)
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert anchors == ["table", "comparisons", "curves", "shapes_colorhist"]
    for anchor in anchors:
        assert f'id="{anchor}"' in page
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert len(captions) == 4  # the dataset's curves, the collection's curve, best and worst
    assert not any(re.fullmatch(r"[\w.-]+\.png", caption) for caption in captions)
    assert any("lowest AP" in caption for caption in captions) and any("highest AP" in c for c in captions)
    assert re.search(r"Made \d{4}-\d\d-\d\dT.* by <code>.*</code> from the store embedded:", page)
    assert "Versions: project " in page and "qdrant-client" in page
    assert "figure.gallery img { max-width: 100%; }" in page and "align-items: flex-start" in page
