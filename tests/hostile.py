"""Helpers of the hostile-user tests (issue 14): one-line errors, ingest runs and their reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import run_cli


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a command that failed with exit code 2 (no traceback, no warning)."""
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
