"""The layers' import rules, read from the source (every import statement, those inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "evaluation", "search", "tune", "duplicates")


def imported(path: Path) -> set[str]:
    """The top-level package of every module `path` imports, at any depth of its code (relative imports left out:
    they stay inside the package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_scan_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "lazy.py"
    source.write_text("import numpy\n\ndef f():\n    from encoders.registry import SPECS\n    import search.searcher\n")
    assert imported(source) == {"numpy", "encoders", "search"}


def test_the_evaluations_protocols_never_import_its_report_files():
    """protocols/ measures, report/ writes what was measured (and imports protocols/): no circle between them."""
    offenders = []
    for path in modules("evaluation/protocols"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("evaluation.report"):
                offenders.append(str(path.relative_to(ROOT)))
    assert modules("evaluation/protocols") and offenders == []


def test_evaluation_never_imports_encoders():
    offenders = [str(path.relative_to(ROOT)) for path in modules("evaluation") if "encoders" in imported(path)]
    assert modules("evaluation") and offenders == []


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_another(stage):
    others = set(STAGES) - {stage}
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported(path) & others)
        for path in modules(stage)
        if imported(path) & others
    }
    assert modules(stage) and offenders == {}
