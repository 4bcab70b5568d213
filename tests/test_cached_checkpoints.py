"""The real-weights path rehearsed offline: the published files, random weights, a user's cache layout.

The tests write checkpoints into a fresh Hugging Face / torch hub cache
(tests/checkpoint_cache.py) and run `cli.py` in a new interpreter with HF_HOME,
TORCH_HOME and HF_HUB_OFFLINE=1 pointing at it, so the encoders load them exactly as
they would the downloaded ones, nothing patched. Stored vectors and text-query
scores are then compared with references computed here from the same files by the
libraries' own classes, which shows the cached weights and tokenizer, not a random
initialisation, made them. The big checkpoints run only with `-m slow`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from encoders import SPECS
from tests.checkpoint_cache import (
    CHECKPOINTS,
    ROOT,
    add_checkpoint,
    cache_env,
    fixture_json,
    published_dim,
    snapshot_dir,
)
from tests.conftest import write_list_dataset

FAST = ("dinov2", "resnet18", "clip")
SLOW = ("dinov2-reg", "dinov2-base", "dinov2-reg-base", "dinov2-large", "dinov2-reg-large", "siglip", "eva02")
TEXT = {"clip", "siglip"}
COSINE = 0.999  # stored vector against the reference; unrelated weights give about 0


def _slow(name: str):
    return pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name


@pytest.fixture(autouse=True)
def _only_selected_slow(request: pytest.FixtureRequest) -> None:
    """Slow tests run when `-m` selects them (`pytest -m slow`), else they skip and say how."""
    expression = request.config.getoption("markexpr") or ""
    if request.node.get_closest_marker("slow") and ("slow" not in expression or "not slow" in expression):
        pytest.skip("a big checkpoint: run with `pytest -m slow`")


@dataclass(frozen=True)
class Run:
    """One `cli.py ingest` over a cache holding some checkpoints: its folders and its outcome."""

    cache: Path
    work: Path
    data: Path
    done: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[tuple[str, ...]], Run]]:
    """Ingest the generated 'shapes' set with a group of encoders in one command, once per group.

    The fast encoders share one run (one interpreter start); the caches, hundreds of MB
    each, are removed when the module ends.
    """
    runs: dict[tuple[str, ...], Run] = {}

    def run(names: tuple[str, ...]) -> Run:
        if names not in runs:
            work = tmp_path_factory.mktemp("ingest")
            data = write_list_dataset(work / "data" / "Shapes").parent
            for name in names:
                add_checkpoint(work / "cache", name)
            encoders = [arg for name in names for arg in ("-e", name)]
            done = _cli(work / "cache", work, "ingest", "--data-root", str(data), *encoders)
            runs[names] = Run(work / "cache", work, data, done)
        return runs[names]

    yield run
    for finished in runs.values():
        shutil.rmtree(finished.cache, ignore_errors=True)


@pytest.fixture
def cache_root(tmp_path: Path) -> Iterator[Path]:
    """An empty cache folder, removed afterwards (the weights files are hundreds of MB)."""
    root = tmp_path / "cache"
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _cli(cache: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--storage", str(cwd / "storage"), "--reports", str(cwd / "reports")]
        + list(args),
        cwd=cwd,
        env=cache_env(cache),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _stored(storage: Path, collection: str) -> tuple[list[str], list[str], np.ndarray]:
    """(ids, image paths, vectors) of a collection, read from its shard with qdrant_edge directly."""
    import json

    import qdrant_edge as edge

    folder = storage / "collections" / collection
    shard = edge.EdgeShard.load(str(folder / "shard"))
    try:
        records, _ = shard.scroll(edge.ScrollRequest(limit=10_000, with_payload=True, with_vector=True))
    finally:
        shard.close()
    size = json.loads((folder / "collection.json").read_text())["dim"]
    assert size == len(records[0].vector)
    return (
        [str(r.id) for r in records],
        [r.payload["path"] for r in records],
        np.asarray([r.vector for r in records], dtype=np.float32),
    )


def _reference(cache: Path, name: str, image: Image.Image) -> np.ndarray:
    """The unit embedding of `image` from the cached files, by the libraries' own published definitions."""
    kind = CHECKPOINTS[name].kind
    with torch.inference_mode():
        if kind == "torchvision":
            out = _torchvision_reference(cache, name, image)
        elif kind == "timm":
            out = _timm_reference(cache, name, image)
        else:
            out = _transformers_reference(cache, name, image)
    vector = out.float().flatten().numpy()
    return vector / np.linalg.norm(vector)


def _transformers_reference(cache: Path, name: str, image: Image.Image) -> torch.Tensor:
    from transformers import AutoImageProcessor, AutoModel

    snapshot = snapshot_dir(cache, name)
    model = AutoModel.from_pretrained(snapshot).eval()
    pixels = AutoImageProcessor.from_pretrained(snapshot, backend="pil")(images=image, return_tensors="pt")
    if hasattr(model, "get_image_features"):  # two towers: the projected image embedding
        out = model.get_image_features(pixel_values=pixels["pixel_values"])
        return out if isinstance(out, torch.Tensor) else out.pooler_output
    return model(pixel_values=pixels["pixel_values"]).pooler_output  # DINOv2: the normed CLS token


def _timm_reference(cache: Path, name: str, image: Image.Image) -> torch.Tensor:
    import timm
    import timm.data
    from safetensors.torch import load_file

    config = fixture_json(name, "config.json")
    cfg = config["pretrained_cfg"]
    model = timm.create_model(config["architecture"], pretrained=False, num_classes=config["num_classes"])
    model.load_state_dict(load_file(snapshot_dir(cache, name) / "model.safetensors"))
    transform = timm.data.create_transform(
        input_size=tuple(cfg["input_size"]),
        interpolation=cfg["interpolation"],
        crop_pct=cfg["crop_pct"],
        crop_mode=cfg["crop_mode"],
        mean=tuple(cfg["mean"]),
        std=tuple(cfg["std"]),
    )
    return model.eval()(transform(image)[None])


def _torchvision_reference(cache: Path, name: str, image: Image.Image) -> torch.Tensor:
    from torchvision import transforms
    from torchvision.models import resnet18

    info = fixture_json(name, "weights.json")
    t = info["transforms"]
    model = resnet18(weights=None)
    model.load_state_dict(torch.load(cache / "torch" / "hub" / "checkpoints" / info["file_name"], weights_only=True))
    model.fc = torch.nn.Identity()
    transform = transforms.Compose(
        [
            transforms.Resize(t["resize_size"], interpolation=transforms.InterpolationMode(t["interpolation"])),
            transforms.CenterCrop(t["crop_size"]),
            transforms.ToTensor(),
            transforms.Normalize(t["mean"], t["std"]),
        ]
    )
    return model.eval()(transform(image)[None])


def _text_reference(cache: Path, name: str, text: str) -> np.ndarray:
    """The unit text embedding from the cached model and tokenizer, tokenised as each model card shows."""
    from transformers import AutoModel, AutoTokenizer

    snapshot = snapshot_dir(cache, name)
    model = AutoModel.from_pretrained(snapshot).eval()
    tokenizer = AutoTokenizer.from_pretrained(snapshot)
    if name == "siglip":  # trained on texts padded to 64 tokens, no attention mask
        tokens = tokenizer([text], padding="max_length", max_length=64, return_tensors="pt")
        inputs = {"input_ids": tokens["input_ids"]}
    else:
        tokens = tokenizer([text], padding=True, return_tensors="pt")
        inputs = {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
    with torch.inference_mode():
        out = model.get_text_features(**inputs)
    vector = (out if isinstance(out, torch.Tensor) else out.pooler_output).float().flatten().numpy()
    return vector / np.linalg.norm(vector)


def test_every_registered_pretrained_encoder_has_a_published_checkpoint():
    pretrained = {name for name, spec in SPECS.items() if spec.needs_weights}
    assert pretrained == set(CHECKPOINTS) == set(FAST + SLOW)
    for name, checkpoint in CHECKPOINTS.items():
        if checkpoint.kind == "torchvision":
            assert SPECS[name].checkpoint == fixture_json(name, "weights.json")["file_name"]
        else:
            assert SPECS[name].model_id == checkpoint.model_id


@pytest.mark.parametrize("name", [_slow(name) for name in FAST + SLOW])
def test_ingest_loads_the_cached_checkpoint(name, ingested):
    run = ingested(FAST if name in FAST else (name,))
    assert run.done.returncode == 0, run.done.stderr

    listed = (run.data / "Shapes" / "list_of_images.txt").read_text().splitlines()
    ids, paths, vectors = _stored(run.work / "storage", f"shapes_{name}")
    assert vectors.shape == (len(listed), published_dim(name))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with Image.open(run.data / "Shapes" / "images" / paths[0]) as image:
        reference = _reference(run.cache, name, image.convert("RGB"))
    assert float(vectors[0] @ reference) > COSINE

    if name in TEXT:
        text = "a red square"
        found = _cli(run.cache, run.work, "search", "-c", f"shapes_{name}", "--text", text, "--format", "json")
        assert found.returncode == 0, found.stderr
        hits = json.loads(found.stdout)["hits"]
        expected = dict(zip(ids, (vectors @ _text_reference(run.cache, name, text)).tolist(), strict=True))
        scores = [hit["score"] for hit in hits]
        assert len(hits) == min(10, len(listed)) and scores == sorted(scores, reverse=True)
        assert all(abs(hit["score"] - expected[hit["id"]]) < 1e-4 for hit in hits)
        missed = set(expected) - {hit["id"] for hit in hits}
        assert all(expected[point] <= scores[-1] + 1e-4 for point in missed)  # the best ones, ties aside


def _drop(key: str):
    def edit(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        del state[key]
        return state

    return edit


def _rename(key: str, new: str):
    def edit(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        state[new] = state.pop(key)
        return state

    return edit


def _reshape(key: str):
    def edit(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        state[key] = state[key].flatten()[:-1].clone()
        return state

    return edit


@pytest.mark.parametrize(
    "name, edit, key",
    [
        pytest.param("dinov2", _drop("embeddings.cls_token"), "embeddings.cls_token", id="dinov2-drop"),
        pytest.param(
            "dinov2",
            _rename("encoder.layer.0.norm1.weight", "encoder.layer.0.norm_1.weight"),
            "encoder.layer.0.norm1.weight",
            marks=pytest.mark.slow,
            id="dinov2-rename",
        ),
        pytest.param("resnet18", _drop("layer1.0.conv1.weight"), "layer1.0.conv1.weight", id="resnet18-drop"),
        pytest.param("resnet18", _reshape("layer1.0.bn1.weight"), "layer1.0.bn1.weight", id="resnet18-shape"),
        pytest.param(
            "dinov2",
            _reshape("embeddings.cls_token"),
            "embeddings.cls_token",
            marks=pytest.mark.slow,
            id="dinov2-shape",
        ),
        pytest.param("eva02", _drop("cls_token"), "cls_token", marks=pytest.mark.slow, id="eva02-drop"),
    ],
)
def test_a_checkpoint_with_a_missing_renamed_or_reshaped_tensor_stops_with_one_line_naming_it(
    name, edit, key, data_root, tmp_path, cache_root
):
    add_checkpoint(cache_root, name, edit=edit)
    done = _cli(cache_root, tmp_path, "ingest", "--data-root", str(data_root), "-e", name)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if key in line]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
