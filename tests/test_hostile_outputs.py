"""A hostile user's third round (issue 23), what the project writes: no credential in any output of a run,
and a full reports disk leaves no truncated metrics.json."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from commands.context import Context
from tests.conftest import run_cli, spawn_cli, write_list_dataset
from tests.hostile import one_line_error, small_file_system

PASSWORD, KEY = "S3cretPW", "K3yS3cretV4lue"
URL = f"http://alice:{PASSWORD}@127.0.0.1:6333"


def every_output(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


# 6. credentials out of every output


def test_a_planted_password_and_key_appear_in_no_output_of_a_run(tmp_path, monkeypatch, store):
    """ingest and eval run with a server URL holding a password and an API key on the command line; the
    store handed to them is an embedded one (no server here), so every file written is checked."""
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    common = ["--qdrant-url", URL, "--api-key", KEY, "--reports", str(tmp_path / "reports")]
    outputs = []
    for command in (
        ["ingest", "--data-root", str(tmp_path / "data"), "-e", "colorhist", "--workers", "0"],
        ["eval", "-c", "shapes_colorhist"],
        ["eval", "-c", "nothing_here"],
    ):
        monkeypatch.setattr(sys, "argv", ["cli.py", *common, *command])
        result = CliRunner().invoke(cli.cli, [*common, *command], obj=Context(handed=store))
        outputs.append(result.output)
    assert (tmp_path / "reports" / "index.html").is_file()
    assert "--qdrant-url http://***@127.0.0.1:6333" in (tmp_path / "reports" / "index.html").read_text()
    written = every_output(tmp_path)
    assert len(written) > 5
    for name, content in [*written.items(), *enumerate(outputs)]:
        text = content if isinstance(content, bytes) else content.encode()
        assert PASSWORD.encode() not in text and KEY.encode() not in text, name


def test_a_server_that_cannot_be_reached_is_named_without_its_password(tmp_path):
    result = spawn_cli("--qdrant-url", f"http://alice:{PASSWORD}@127.0.0.1:9", "collections", cwd=tmp_path)
    assert result.returncode != 0
    assert PASSWORD not in result.stdout + result.stderr and "127.0.0.1" in result.stderr


# 10. a full reports disk


@pytest.fixture
def full_disk(tmp_path) -> Iterator[Path]:
    """A 64 KiB file system, filled to the last byte (a tmpfs: needs root; skipped elsewhere)."""
    with small_file_system(tmp_path / "reports", "64k") as folder:
        filler = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"\0" * 512):
                pass
        except OSError:
            pass
        os.close(filler)
        yield folder


def test_eval_on_a_full_reports_disk_leaves_no_empty_record_file(tmp_path, full_disk):
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    ingest = ["--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0"]
    refused = one_line_error(run_cli("--reports", str(full_disk), *ingest, cwd=tmp_path))
    assert "shapes_colorhist.json" in refused and "No space left" in refused
    ingested = run_cli("--reports", "elsewhere", *ingest, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    result = run_cli("--storage", "q", "--reports", str(full_disk), "eval", "-c", "shapes_colorhist", cwd=tmp_path)
    error = one_line_error(result)
    assert "runs/full.json" in error and "No space left" in error
    assert sorted(path.name for path in full_disk.rglob("*") if path.is_file()) == ["filler"]
