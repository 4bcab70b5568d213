"""Every registered encoder: registry facts, ingest with random weights, text, hf: ids.

The encoders under test come from the registry, each ingested with its spec's
`test_init` (full size where that takes a second or two, else the tiny architecture).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from encoders import SPECS, build_encoder, get_spec
from errors import RetrievalError
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import collection_name, point_id
from tests.conftest import expected_payload

ROOT = Path(__file__).resolve().parents[1]
TEXT_ENCODERS = [name for name, spec in SPECS.items() if spec.text]
FIRST_OF_EACH_FAMILY = list(
    {spec.family: name for name, spec in reversed(SPECS.items()) if spec.needs_weights}.values()
)


def _ingest_shapes(data_root: Path, store, encoder):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    return dataset, ingest_dataset(dataset, encoder, store, options=IngestOptions(batch_size=5, workers=0))


def _assert_stored(store, dataset, encoder, collection: str) -> np.ndarray:
    """Unit vectors of the encoder's size, the design's payload and ids; returns the vectors."""
    points = store.points(collection, with_vectors=True)
    assert points.vectors.shape == (len(dataset.items), encoder.dim)
    assert np.allclose(np.linalg.norm(points.vectors, axis=1), 1.0, atol=1e-5)
    for i, (pid, payload) in enumerate(zip(points.ids, points.payloads, strict=True)):
        item = dataset.items[i]
        assert payload.to_dict() == expected_payload(dataset, i, encoder.name)
        assert pid == point_id("shapes", item.path)
    return points.vectors


def test_registry_lists_the_encoders_in_the_study_order_with_their_facts():
    assert list(SPECS) == [
        "dinov2",
        "dinov2-base",
        "dinov2-large",
        "dinov2-reg",
        "dinov2-reg-base",
        "dinov2-reg-large",
        "clip",
        "siglip",
        "eva02",
        "resnet18",
        "colorhist",
    ]
    for spec in SPECS.values():
        assert spec.dim > 0 and spec.license and spec.source in {"huggingface", "torchvision", "none"}
        assert spec.preprocess is not None or spec.source == "none"


def test_listing_encoders_imports_no_model_library():
    script = (
        "import sys, encoders\n"
        "assert len(encoders.SPECS) >= 10\n"
        "print(sorted({'torch', 'torchvision', 'transformers', 'timm'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_encoders_command_shows_every_registered_encoder():
    from click.testing import CliRunner

    from cli import cli

    result = CliRunner(env={"COLUMNS": "300"}).invoke(cli, ["encoders"])
    assert result.exit_code == 0, result.output
    for spec in SPECS.values():
        assert spec.name in result.output and spec.model_id in result.output


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.needs_weights])
def test_full_size_architecture_gives_the_registered_vector_size(name):
    """Built on the meta device: shapes are checked without allocating or computing weights."""
    spec = SPECS[name]
    with torch.device("meta"):
        encoder = build_encoder(name, "meta", init="random")
        images = encoder._forward(torch.empty(2, 3, spec.preprocess.crop, spec.preprocess.crop))
        assert encoder.dim == spec.dim == images.shape[1]
        if name == "siglip":
            text = encoder.text_tower(input_ids=torch.zeros(2, 64, dtype=torch.long)).pooler_output
            assert text.shape[1] == spec.dim


@pytest.mark.parametrize("name", FIRST_OF_EACH_FAMILY)
def test_random_weights_are_the_same_at_every_build_and_leave_the_callers_random_numbers_alone(name):
    image = _red_image()
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    first = build_encoder(name, "cpu", init="random-tiny").embed_pil([image])
    assert torch.equal(torch.rand(3), expected_draw)
    assert np.array_equal(build_encoder(name, "cpu", init="random-tiny").embed_pil([image]), first)


@pytest.mark.parametrize("name", TEXT_ENCODERS)
def test_each_text_encoder_answers_a_text_query_through_the_store(data_root, store, name):
    encoder = build_encoder(name, "cpu", init=SPECS[name].test_init)
    dataset, _ = _ingest_shapes(data_root, store, encoder)
    collection = collection_name("shapes", name)
    images = _assert_stored(store, dataset, encoder, collection)
    texts = encoder.embed_texts(["a red photo", "green grass under a blue sky, seen from far away"])
    assert texts.shape == (2, encoder.dim) and texts.dtype == np.float32
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    hits = store.query(collection, texts[0], limit=len(dataset.items))
    expected = np.sort(images @ texts[0])[::-1]
    assert np.allclose([hit.score for hit in hits], expected, atol=1e-5)
    assert {hit.path for hit in hits} == {item.path for item in dataset.items}


def test_siglip_text_is_padded_to_64_tokens_so_a_batch_does_not_change_it():
    encoder = build_encoder("siglip", "cpu", init="random-tiny")
    alone = encoder.embed_texts(["a red photo"])
    batched = encoder.embed_texts(["a red photo", "a much longer description of a photo " * 3])
    assert np.allclose(alone[0], batched[0], atol=1e-6)
    assert encoder.tokenizer(["a"], padding="max_length", max_length=64)["input_ids"][0][-1] == 1


def test_hf_ids_make_a_record_on_the_spot_and_unknown_names_fail():
    spec = get_spec("hf:facebook/dinov2-small")
    assert (spec.family, spec.model_id, spec.source, spec.text) == (
        "hf_auto",
        "facebook/dinov2-small",
        "huggingface",
        False,
    )
    assert collection_name("paris", spec.name) == "paris_hf-facebook-dinov2-small"
    for name in ("hf:", "nope"):
        with pytest.raises(RetrievalError, match="hf:<model id>"):
            get_spec(name)
    with pytest.raises(RetrievalError, match="published weights"):
        build_encoder("hf:facebook/dinov2-small", "cpu", init="random")


def _save_tiny(folder: Path, model, processor) -> str:
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


def test_hf_model_by_id_ingests_with_its_own_processor_and_pooled_output(data_root, store, tmp_path):
    from transformers import BitImageProcessorPil, Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    model = Dinov2Model(
        Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2, image_size=56)
    )
    processor = BitImageProcessorPil(size={"shortest_edge": 64}, crop_size={"height": 56, "width": 56})
    folder = _save_tiny(tmp_path / "tiny-dinov2", model, processor)
    encoder = build_encoder("hf:test/Tiny_DINOv2", "cpu", weights=folder)
    assert (encoder.dim, encoder.use_pooler) == (32, True)
    assert encoder.transform()(_first_image(data_root)).shape == (3, 56, 56)
    dataset, report = _ingest_shapes(data_root, store, encoder)
    assert report.written == 12
    _assert_stored(store, dataset, encoder, "shapes_hf-test-tiny-dinov2")


def test_hf_model_without_pooler_weights_uses_the_cls_token(data_root, tmp_path):
    from transformers import ViTConfig, ViTImageProcessorPil, ViTModel

    torch.manual_seed(0)
    model = ViTModel(
        ViTConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=32,
            patch_size=8,
        ),
        add_pooling_layer=False,
    )
    folder = _save_tiny(tmp_path / "tiny-vit", model, ViTImageProcessorPil(size={"height": 32, "width": 32}))
    encoder = build_encoder("hf:test/tiny-vit", "cpu", weights=folder)
    assert not encoder.use_pooler
    image = _first_image(data_root)
    with torch.inference_mode():
        cls = model.eval()(pixel_values=torch.from_numpy(encoder.transform()(image)[None])).last_hidden_state[:, 0]
    assert np.allclose(encoder.embed_pil([image])[0], torch.nn.functional.normalize(cls)[0].numpy(), atol=1e-5)


def _red_image():
    from PIL import Image

    return Image.new("RGB", (64, 48), (200, 40, 40))


def _first_image(data_root: Path):
    from PIL import Image

    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    with Image.open(dataset.image_root / dataset.items[0].path) as image:
        return image.convert("RGB")


def test_siglip_loads_saved_weights_and_its_text_tower_alone_gives_the_same_text_vectors(tmp_path):
    from encoders import build_text_encoder
    from encoders.families.siglip import generated_tokenizer

    saved = build_encoder("siglip", "cpu", init="random-tiny")
    folder = _save_tiny(tmp_path / "siglip", saved.model, generated_tokenizer())
    full = build_encoder("siglip", "cpu", weights=folder)
    text = build_text_encoder("siglip", "cpu", weights=folder)
    assert type(text.model).__name__ == "SiglipTextModel"
    texts = ["a red photo", "two green fields"]
    assert np.allclose(full.embed_texts(texts), saved.embed_texts(texts), atol=1e-6)
    assert np.allclose(text.embed_texts(texts), saved.embed_texts(texts), atol=1e-6)


def test_torchvision_checkpoint_facts_match_torchvision(monkeypatch, tmp_path):
    import torch
    from torchvision.models import get_weight

    from encoders import SPECS
    from encoders.weights import torch_hub_dir

    for spec in (s for s in SPECS.values() if s.source == "torchvision"):
        assert spec.checkpoint == Path(get_weight(spec.model_id).url).name
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert torch_hub_dir() == Path(torch.hub.get_dir())


def test_resnet18_loads_a_weights_file_without_drawing_random_numbers(tmp_path):
    random = build_encoder("resnet18", "cpu", init="random")
    state = {key: value for key, value in random.model.state_dict().items() if not key.startswith("fc.")}
    state |= {"fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}  # the classifier a checkpoint has
    torch.save(state, tmp_path / "resnet18.pth")
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    loaded = build_encoder("resnet18", "cpu", weights=str(tmp_path / "resnet18.pth"))
    assert torch.equal(torch.rand(3), expected_draw)
    assert np.array_equal(loaded.embed_pil([_red_image()]), random.embed_pil([_red_image()]))
