"""Each registry record says what its checkpoint's published files say.

The expected values are read from tests/fixtures/ (the checkpoints' own
preprocessor_config.json and config.json, timm's pretrained configuration,
torchvision's documented weights transform), never from the code under test:
resize rule and size, crop, interpolation, mean, std, the 1/255 rescale, and
the vector size and architecture.
"""

from __future__ import annotations

import math

import pytest

from encoders import SPECS
from tests.checkpoint_cache import CHECKPOINTS, fixture_json, published_dim

HF = [name for name, checkpoint in CHECKPOINTS.items() if checkpoint.kind == "transformers"]
RESAMPLE = {2: "bilinear", 3: "bicubic"}  # PIL's resample codes as the processors store them
RESCALE = 1 / 255


def _side(value: int | dict, key: str) -> int:
    """A size field: a bare number in old processor files, else {height, width} or {shortest_edge}."""
    if isinstance(value, int):
        return value
    if key == "square":
        assert value["height"] == value["width"], value
        return value["height"]
    return value[key]


def _close(a, b) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", HF)
def test_transformers_preprocessing_matches_preprocessor_config(name):
    published = fixture_json(name, "preprocessor_config.json")
    p = SPECS[name].preprocess
    assert published["do_resize"] and published["do_normalize"]
    assert published.get("do_rescale", True) and math.isclose(published.get("rescale_factor", RESCALE), RESCALE)
    assert p.interpolation == RESAMPLE[published["resample"]]
    assert _close(p.mean, published["image_mean"]) and _close(p.std, published["image_std"])
    size = published["size"]
    if isinstance(size, dict) and "height" in size:  # a plain resize to a square, nothing cut off
        assert not published.get("do_center_crop", False)
        assert p.squash and p.resize == p.crop == _side(size, "square")
    else:  # shorter side to `size`, then a centre crop
        assert published["do_center_crop"] and not p.squash
        assert p.resize == _side(size, "shortest_edge")
        assert p.crop == _side(published["crop_size"], "square")


def test_eva02_preprocessing_matches_timm_pretrained_cfg():
    cfg = fixture_json("eva02", "config.json")["pretrained_cfg"]
    p = SPECS["eva02"].preprocess
    crop = cfg["input_size"][-1]
    assert cfg["crop_mode"] == "center" and not p.squash
    assert p.crop == crop and p.resize == math.floor(crop / cfg["crop_pct"]) == 248  # timm's scale_size rule
    assert p.interpolation == cfg["interpolation"]
    assert _close(p.mean, cfg["mean"]) and _close(p.std, cfg["std"])


def test_resnet18_preprocessing_matches_torchvision_weights_transform():
    t = fixture_json("resnet18", "weights.json")["transforms"]
    p = SPECS["resnet18"].preprocess
    assert (p.resize, p.crop, p.interpolation, p.squash) == (
        t["resize_size"],
        t["crop_size"],
        t["interpolation"],
        False,
    )
    assert _close(p.mean, t["mean"]) and _close(p.std, t["std"])


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_vector_size_matches_the_published_model(name):
    assert SPECS[name].dim == published_dim(name)


@pytest.mark.parametrize("name", [name for name in HF if CHECKPOINTS[name].model_id.startswith("facebook/dinov2")])
def test_dinov2_random_architecture_is_the_published_one(name):
    """`--init random` builds the published shape: width, depth, heads, patch, registers."""
    published = fixture_json(name, "config.json")
    arch = SPECS[name].architecture
    for key in ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "mlp_ratio", "patch_size"):
        assert arch[key] == published[key], key
    assert arch.get("num_register_tokens", 0) == published.get("num_register_tokens", 0)


@pytest.mark.parametrize("name", ["clip", "siglip"])
def test_two_tower_random_architecture_is_the_published_one(name):
    published = fixture_json(name, "config.json")
    arch = SPECS[name].architecture
    for tower in ("vision_config", "text_config"):
        for key, value in arch[tower].items():
            if key in published[tower]:
                assert value == published[tower][key], (tower, key)
    assert arch.get("projection_dim", published.get("projection_dim")) == published.get("projection_dim")
