"""Missing weights stop with one clear line naming the model, and nothing is written.

Both tests run a fresh process with empty Hugging Face and torch caches and
HF_HUB_OFFLINE=1, so they give the same answer whatever this machine has cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from encoders import SPECS

ROOT = Path(__file__).resolve().parents[1]
CHECKED = [name for name, spec in SPECS.items() if spec.needs_weights]


def _empty_cache_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_CACHE", "TRANSFORMERS_CACHE", "TORCH_HOME"}}
    env.update(
        HF_HOME=str(tmp_path / "hf"), TORCH_HOME=str(tmp_path / "torch"), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT)
    )
    return env


def test_missing_weights_raise_one_line_naming_the_model(tmp_path):
    script = (
        "import json, sys\n"
        "from encoders import build_encoder\n"
        "errors = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        build_encoder(name, 'cpu')\n"
        "    except Exception as error:\n"
        "        errors[name] = [type(error).__name__, str(error)]\n"
        "print(json.dumps(errors))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *CHECKED],
        cwd=tmp_path,
        env=_empty_cache_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(errors) == set(CHECKED)
    for name, (kind, message) in errors.items():
        assert kind == "WeightsMissingError"
        assert "\n" not in message and message.startswith(f"{name}: ")
        assert SPECS[name].model_id in message
        assert "huggingface-cli" not in message  # current huggingface_hub ships `hf`, not huggingface-cli
        if "Hugging Face cache" in message:
            assert f"`hf download {SPECS[name].model_id}`" in message


def test_ingest_without_weights_exits_with_one_line_and_creates_nothing(data_root, tmp_path):
    storage, reports = tmp_path / "storage", tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "--storage",
            str(storage),
            "--reports",
            str(reports),
            "ingest",
            "--data-root",
            str(data_root),
            "--encoder",
            "dinov2",
        ],
        cwd=tmp_path,
        env=_empty_cache_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "facebook/dinov2-small" in lines[0], done.stderr
    assert not storage.exists() and not reports.exists()
