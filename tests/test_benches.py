"""Every bench script runs at a tiny size: it exits 0 and prints its figures.

A bench is not a test (it asserts no timing), but a bench that crashes cannot
reproduce the figures BENCHMARKS.md records. Each script runs in a fresh
interpreter with sizes small enough for seconds, deep encoders with the tiny
random architecture; the generated dataset stands in for Corel-1K.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from store import open_store
from tests.conftest import CLI_ENV, ROOT, write_list_dataset

DATASET = "{dataset}"  # replaced by a generated dataset folder (3 classes x 2 images)

# script -> (tiny arguments, a pattern its figures match)
RUNS = {
    "embedded_limits.py": (
        ["--sizes", "300", "--repeat", "1", "--queries", "5"],
        r"local / edge: insert [\d.]+x, open [\d.]+x, memory added by open [\d.]+x, stored-point query p50",
    ),
    "duplicates_bench.py": (
        ["--data", DATASET, "--originals", "3"],
        r"^colorhist best F1 [\d.]+ at threshold -?[\d.]+ \(precision [\d.]+, recall [\d.]+\)",
    ),
    "duplicates_scale.py": (["--sizes", "300", "--repeat", "1"], r"^\s+300(\s+[\d.]+){8}"),
    "eval_bench.py": (["--sizes", "200", "--repeat", "1"], r"^\s+200\s+[\d.]+\s+[\d.]+"),
    "export_memory.py": (
        ["--points", "300", "--dim", "8", "--repeat", "1"],
        r"export added peak: -?\d+ MiB = -?[\d.]+x the vectors' bytes",
    ),
    "eval_scale.py": (["--sizes", "300", "--repeat", "1"], r"^\s+300(\s+[\d.]+){7}"),
    "ingest_bench.py": (
        ["--data", DATASET, "--encoders", "resnet18", "--init", "random-tiny", "--images", "6", "--batch-size", "4"]
        + ["--workers", "0"],
        r"resnet18\s+P1 [\d.]+ \[[\d.]+ - [\d.]+\]\s+e2e / bound [\d.]+",
    ),
    "precision_bench.py": (
        ["--data", DATASET, "--encoders", "resnet18", "--init", "random-tiny", "--images", "4", "--batch-size", "2"]
        + ["--repeats", "1"],
        r"^resnet18\s+4\s+[\d.]+\s+[\d.]+\s+[\d.]+",
    ),
    "rerank_bench.py": (["--points", "300", "--repeat", "1"], r"dba\+aqe\s+[\d.]+\s+[\d.]+\s+[\d.]+"),
    "search_bench.py": (
        ["--points", "200", "--queries", "4", "--repeat", "1", "--init", "random-tiny", "--target-only"],
        r"cold command minus encoder load: [+-][\d.]+ s",
    ),
    "tune_synthetic.py": (
        ["--points", "50", "--dim", "8", "--classes", "3", "--out", "synthetic"],
        r"wrote synthetic/vectors.npy and synthetic/list.txt: 50 8-d vectors in 3 classes",
    ),
    "web_bench.py": (["--points", "200", "--repeat", "2"], r"stored-point query page \(k=12\): server [\d.]+"),
}


def test_every_bench_script_has_a_tiny_run():
    assert sorted(RUNS) == sorted(p.name for p in (ROOT / "bench").glob("*.py"))


@pytest.mark.parametrize("script", sorted(RUNS))
def test_bench_runs_at_a_tiny_size(script: str, tmp_path: Path):
    arguments, figures = RUNS[script]
    dataset = write_list_dataset(tmp_path / "Shapes", per_class=2)
    arguments = [str(dataset) if a == DATASET else a for a in arguments]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=CLI_ENV,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    if script == "precision_bench.py" and done.stdout.startswith("skipped: bf16"):
        pytest.skip(done.stdout.strip())  # this CPU has no bf16: the bench says so and measures nothing
    assert re.search(figures, done.stdout, re.MULTILINE), done.stdout


def test_eval_scale_measures_both_ranking_paths_on_a_server(server, tmp_path: Path):
    """With a server, eval_scale ranks the same points by batch query and by the block path, and drops them."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval_scale.py"), "--sizes", "300", "--repeat", "1"]
        + ["--sides", "eval", "floor", "--url", server.url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**CLI_ENV, "QDRANT_API_KEY": server.api_key or ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = re.search(r"batch-query ([\d.]+) s, block .* \|mAP diff\| ([\d.e+-]+)", done.stdout)
    assert line and float(line.group(2)) < 1e-9, done.stdout
    assert "eval_scale_synthetic300" not in open_store(url=server.url, api_key=server.api_key).collection_names()
