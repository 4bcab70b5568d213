"""Adding an encoder is one module: it declares its record and registers it with its builder.

A family module written here into a folder on `encoders.families`' path is found
by `discover`; then it is listed, built and ingested like the others. Each test
removes what it registered, so the registry is as before for the other tests.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from encoders import SPECS, EncoderSpec, build_encoder, build_text_encoder, register, registry
from ingest import IngestOptions, discover, ingest_dataset, read_dataset

MODULE = "encoders.families.meancolour"
FAMILY_MODULE = '''
"""The mean RGB colour of an image as a 3-d unit vector."""

import numpy as np

from encoders.interface import Encoder, l2_normalize
from encoders.registry import register
from encoders.spec import EncoderSpec


def mean_colour(image):
    return np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(axis=0)


class MeanColour(Encoder):
    def transform(self):
        return mean_colour

    def embed_images(self, batch):
        return l2_normalize(batch)


def build(spec, settings):
    return MeanColour(spec, "cpu", spec.dim)


register(
    EncoderSpec(
        name="meancolour",
        family="meancolour",
        model_id="mean RGB",
        dim=3,
        text=False,
        source="none",
        license="-",
        preprocess=None,
        test_init="pretrained",
    ),
    build,
)
'''


@pytest.fixture
def new_family(tmp_path, monkeypatch):
    """A folder with one new family module, on the path where `discover` looks."""
    from encoders import families

    (tmp_path / "meancolour.py").write_text(FAMILY_MODULE)
    monkeypatch.setattr(families, "__path__", [*families.__path__, str(tmp_path)])
    yield
    registry.unregister("meancolour")
    sys.modules.pop(MODULE, None)


def _spec(name: str, text: bool = False) -> EncoderSpec:
    return EncoderSpec(name, "test", "test", 3, text, "none", "-", None)


def test_a_new_family_module_is_discovered_listed_built_and_ingested(new_family, data_root, store):
    from click.testing import CliRunner

    from cli import cli

    before = list(SPECS)
    registry.discover()  # the modules found before are not registered twice
    assert list(SPECS) == [*before, "meancolour"]  # after the families, whose orders are lower
    listing = CliRunner(env={"COLUMNS": "300"}).invoke(cli, ["encoders"])
    assert listing.exit_code == 0 and "meancolour" in listing.output

    encoder = build_encoder("meancolour")
    vectors = encoder.embed_pil([Image.new("RGB", (8, 4), (255, 0, 0)), Image.new("RGB", (3, 5), (9, 9, 9))])
    assert np.allclose(vectors, [[1, 0, 0], [3**-0.5] * 3], atol=1e-6)

    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    report = ingest_dataset(dataset, encoder, store, options=IngestOptions(workers=0))
    assert report.written == 12 and store.info("shapes_meancolour").dim == 3


def test_register_takes_a_text_builder_and_refuses_a_taken_name():
    built = []

    def build(spec, settings):
        built.append(("full", spec.name, settings.device, settings.weights, settings.init))
        return SimpleNamespace(spec=spec)

    def build_text(spec, settings):
        built.append(("text", spec.name, settings.device, settings.weights, settings.init))
        return SimpleNamespace(spec=spec)

    register(_spec("two-towers", text=True), build, build_text, order=15)
    try:
        assert list(SPECS)[5:8] == ["dinov2-reg-large", "two-towers", "clip"]  # order 15: between DINOv2 and CLIP
        build_encoder("two-towers", "cpu", weights="w", init="random")
        build_text_encoder("two-towers", "cpu")
        assert built == [
            ("full", "two-towers", "cpu", "w", "random"),
            ("text", "two-towers", "cpu", None, "pretrained"),
        ]
        for taken in ("two-towers", "clip", "hf:some/model"):
            with pytest.raises(ValueError, match="is taken"):
                register(_spec(taken), build)
    finally:
        registry.unregister("two-towers")
    assert "two-towers" not in SPECS


@pytest.mark.parametrize("typed, meant", [("resnet", "resnet18"), ("clp", "clip"), ("ColorHst", "colorhist")])
def test_an_unknown_encoder_suggests_the_registered_name_meant(typed, meant):
    from encoders import get_spec
    from errors import RetrievalError

    with pytest.raises(RetrievalError, match=f"unknown encoder '{typed}'; did you mean '{meant}'\\? known encoders"):
        get_spec(typed)
