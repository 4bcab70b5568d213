"""`encoders --check` against a cache laid out as a user's (tests/checkpoint_cache.py) and an empty one.

Each run is a fresh interpreter with HF_HOME/TORCH_HOME pointing at the cache and
HF_HUB_OFFLINE=1. Expected identities and sizes come from the files written here:
the snapshot folder's name, hashlib over the torch file, os.stat of each file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from encoders import SPECS
from tests.checkpoint_cache import CHECKPOINTS, ROOT, add_checkpoint, cache_env, published_state, snapshot_dir

CACHED = ("dinov2", "resnet18")  # the two small checkpoints (about 135 MB together)


def _check(cache: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**cache_env(cache), "COLUMNS": "300"}  # table rows on one line each
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "encoders", "--check", *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("check") / "cache"
    for name in CACHED:
        add_checkpoint(root, name)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _records(cache: Path) -> dict[str, dict]:
    done = _check(cache, "--format", "json")
    assert done.returncode == 0, done.stderr
    return {record["name"]: record for record in json.loads(done.stdout)}


def test_cached_weights_show_the_snapshot_commit_the_file_hash_and_their_size(cache):
    records = _records(cache)
    assert list(records) == list(SPECS)

    dinov2 = records["dinov2"]
    snapshot = snapshot_dir(cache, "dinov2")
    files = {path.name: path.stat().st_size for path in snapshot.iterdir()}
    assert dinov2["cached"] is True
    assert dinov2["identity"]["kind"] == "hf-snapshot"
    assert dinov2["identity"]["value"] == CHECKPOINTS["dinov2"].commit == snapshot.name
    assert dinov2["bytes_on_disk"] == sum(files.values())
    assert dinov2["download"]["model"] == "facebook/dinov2-small"
    assert dinov2["download"]["files"] == ["config.json", "model.safetensors"]
    assert dinov2["download"]["bytes"] == files["config.json"] + files["model.safetensors"]
    assert (dinov2["download"]["size_from"], dinov2["download"]["needed"]) == ("cache", False)

    resnet = records["resnet18"]
    weights = cache / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert resnet["identity"] == {
        "kind": "file-sha256",
        "value": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "seed": None,
    }
    assert resnet["bytes_on_disk"] == resnet["download"]["bytes"] == weights.stat().st_size
    assert resnet["download"]["model"] == "https://download.pytorch.org/models/resnet18-f37072fd.pth"

    clip = records["clip"]
    assert (clip["cached"], clip["identity"], clip["bytes_on_disk"]) == (False, None, None)
    assert clip["download"]["needed"] is True and "model.safetensors" in clip["download"]["files"]
    assert records["colorhist"]["download"] is None


def test_the_table_shows_each_encoder_on_one_row(cache):
    done = _check(cache)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("│")}
    assert "cached" in rows["dinov2"] and CHECKPOINTS["dinov2"].commit[:12] in rows["dinov2"]
    assert "cached" in rows["resnet18"] and "nothing" in rows["resnet18"]
    assert "missing" in rows["clip"] and "openai/clip-vit-base-patch32: config.json, model.safetensors" in rows["clip"]
    assert "not needed" in rows["colorhist"]


def test_an_empty_cache_lists_every_download_with_its_published_size(tmp_path):
    records = _records(tmp_path / "empty")
    for name, spec in SPECS.items():
        record = records[name]
        if not spec.needs_weights:
            continue
        download = record["download"]
        assert (record["cached"], record["identity"], record["bytes_on_disk"]) == (False, None, None)
        assert download["needed"] is True and download["size_from"] == "published config"
        weights_file = "resnet18-f37072fd.pth" if spec.source == "torchvision" else "model.safetensors"
        assert weights_file in download["files"]
        # float32 tensors of the architecture in the published configuration
        expected = sum(math.prod(t.shape) * t.element_size() for t in published_state(name).values())
        assert download["bytes"] == expected, name
    assert not os.path.exists(tmp_path / "empty" / "hf" / "hub" / "models--facebook--dinov2-small")
