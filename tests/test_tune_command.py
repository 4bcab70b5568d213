"""The `tune` command: its record and figure, the refusal of exact-only engines in one line, and the scratch
copy a killed tune left removed by the next."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from errors import EvaluationError
from media.scratch import ScratchFolder
from store import open_store
from tests.conftest import CLI_ENV, ROOT
from tests.tune_points import fill
from tune import settings_grid as tune_grid
from tune.tuner import check_tunable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from eval_scale import Points  # noqa: E402
from tune_synthetic import write_set  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")


def test_tune_command_writes_its_record_and_figure(tmp_path):
    vectors, listing = write_set(tmp_path / "set", Points(300, 32, 5))
    base = ["--storage", str(tmp_path / "q"), "--reports", str(tmp_path / "reports")]
    runner = CliRunner(env={"COLUMNS": "200"})
    arguments = ["import", "--vectors", str(vectors), "--list", str(listing), "-d", "syn", "-e", "rand"]
    imported = runner.invoke(cli.cli, [*base, *arguments])
    assert imported.exit_code == 0, imported.output
    done = runner.invoke(cli.cli, [*base, "tune", "-c", "syn_rand", "--sample", "50"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert (
        "recommended:" in done.output
        and f"python cli.py collections reindex syn_rand --storage {tmp_path / 'q'} --hnsw-m" in done.output
    )
    record = json.loads((tmp_path / "reports" / "syn_rand" / "tune.json").read_text())
    assert (record["kind"], record["queries"], record["points"], record["memory_source"]) == ("tune", 50, 300, "disk")
    assert record["timed_queries"] == 50
    assert len(record["settings"]) == len(tune_grid.small_grid())
    assert all(0 <= row["recall"] <= 1 and row["indexed"] == 300 for row in record["settings"])
    assert record["recommended"]["label"] in [row["label"] for row in record["settings"] if row["frontier"]]
    assert (tmp_path / "reports" / "syn_rand" / "tune.png").read_bytes()[:4] == b"\x89PNG"
    assert not any(name.startswith("tune-") for name in open_store(path=tmp_path / "q").collection_names())


def test_tune_command_refuses_a_local_mode_store_in_one_line(tmp_path):
    local = open_store(path=tmp_path / "q", engine="local")
    fill(local, "toy_net", 20)
    local.close()
    done = CliRunner().invoke(cli.cli, ["--storage", str(tmp_path / "q"), "tune", "-c", "toy_net"])
    assert done.exit_code != 0
    assert "store migrate" in str(done.exception)


def test_engines_without_index_settings_are_refused_with_what_to_do(tmp_path):
    local = open_store(path=tmp_path / "old", engine="local")
    fill(local, "toy_net", 20)
    with pytest.raises(EvaluationError, match="store migrate") as error:
        check_tunable(local, "toy_net")
    assert "\n" not in str(error.value) and "--qdrant-url" in str(error.value)
    local.close()


def test_a_killed_tunes_scratch_copy_is_removed_by_the_next_tune_and_a_live_ones_kept(tmp_path, monkeypatch, caplog):
    vectors, listing = write_set(tmp_path / "set", Points(300, 32, 5))
    base = ["--storage", str(tmp_path / "q"), "--reports", str(tmp_path / "reports")]
    arguments = ["import", "--vectors", str(vectors), "--list", str(listing), "-d", "syn", "-e", "rand"]
    assert CliRunner().invoke(cli.cli, [*base, *arguments]).exit_code == 0
    temp = tmp_path / "tmp"
    temp.mkdir()
    tuning = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *base, "tune", "-c", "syn_rand", "--sample", "50"],
        env={**CLI_ENV, "TMPDIR": str(temp)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(temp.glob("tune-*/store")) and time.monotonic() < deadline:
        time.sleep(0.01)
    tuning.kill()  # SIGKILL once its scratch copy exists
    tuning.wait()
    left = list(temp.glob("tune-*"))
    assert len(left) == 1 and (left[0] / "store").is_dir()  # what the kill left
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setitem(tune_grid.GRIDS, "small", lambda: tune_grid.small_grid()[:1])  # one build is enough here
    with ScratchFolder("tune-") as live:  # another tune, running
        done = CliRunner().invoke(cli.cli, [*base, "tune", "-c", "syn_rand", "--sample", "10"])
        assert done.exit_code == 0, done.output
        assert sorted(temp.glob("tune-*")) == [live.path]
    assert f"removed {left[0]}, a scratch folder left by a killed process" in caplog.text
    assert not list(temp.iterdir())
