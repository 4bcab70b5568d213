"""Every listing command has a machine form: --format json on stdout."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli import cli


def _json(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_encoders_json_lists_every_encoder_with_its_facts():
    rows = {row["name"]: row for row in _json("encoders", "--format", "json")}
    assert len(rows) >= 10
    assert rows["clip"]["dim"] == 512 and rows["clip"]["text"] is True
    assert rows["colorhist"]["weights_present"] is True and rows["colorhist"]["preprocessing"] is None


def test_datasets_json_counts_images_classes_and_problems(data_root):
    (data_root / "Shapes" / "list_of_images.txt").open("a").write("no tab here\n")
    [row] = _json("datasets", "--data-root", str(data_root), "--format", "json")
    assert (row["name"], row["images"], row["classes"]) == ("shapes", 12, ["blue", "green", "red"])
    assert row["problems"] == [{"where": "list_of_images.txt:13", "reason": "no tab between path and label"}]


def test_ingest_json_reports_each_collection_then_a_rerun(data_root, tmp_path):
    args = (
        "--storage",
        str(tmp_path / "q"),
        "--reports",
        str(tmp_path / "r"),
        "ingest",
        "--data-root",
        str(data_root),
        "-e",
        "colorhist",
        "--workers",
        "0",
        "--format",
        "json",
    )
    [first] = _json(*args)
    assert (first["collection"], first["written"], first["already_stored"]) == ("shapes_colorhist", 12, 0)
    assert json.loads(open(first["report"]).read())["written"] == 12
    [again] = _json(*args)
    assert (again["written"], again["already_stored"]) == (0, 12)
