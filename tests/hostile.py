"""Helpers of the hostile-user tests (issue 14): one-line errors, ingest runs and their reports."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import run_cli


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a command that failed with exit code 2 (no traceback; no warning, which only
    a fresh interpreter, `spawn_cli`, prints)."""
    lines = [line for line in result.stderr.splitlines() if line.strip() and "━" not in line]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "rerun with --debug" not in lines[0]
    return lines[0]


def ingest(cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    result = run_cli(
        "--storage", "q", "ingest", "--data-root", "data", "-e", "colorhist", "--workers", "0", *extra, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    return result


def stored_paths(cwd: Path, collection: str) -> list[str]:
    shown = run_cli(
        "--storage", "q", "collections", "show", collection, "--samples", "1000", "--format", "json", cwd=cwd
    )
    assert shown.returncode == 0, shown.stderr
    return [sample["payload"]["path"] for sample in json.loads(shown.stdout)["samples"]]


def skipped(cwd: Path, collection: str) -> dict[str, str]:
    report = json.loads((cwd / "reports" / "ingest" / f"{collection}.json").read_text())
    return {problem["where"]: problem["reason"] for problem in report["skipped"]}


@contextmanager
def small_file_system(folder: Path, size: str) -> Iterator[Path]:
    """`folder` as a tmpfs of `size` (e.g. "1m") while the block runs; the test skips where mounting is not allowed."""
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
