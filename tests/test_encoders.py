"""The encoders past the seed three: registry facts, ingest with random weights, text, hf: ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from encoders import SPECS, build_encoder, get_spec
from errors import RetrievalError
from ingest import IngestOptions, discover, ingest_dataset, read_dataset
from store import collection_name, point_id

# Every encoder added after the seed three, and the weights it is tested with:
# full-size random where that is fast on two cores, the tiny architecture elsewhere.
NEW_ENCODERS = {
    "dinov2-base": "random-tiny",
    "dinov2-large": "random-tiny",
    "dinov2-reg": "random",
    "dinov2-reg-base": "random-tiny",
    "dinov2-reg-large": "random-tiny",
    "siglip": "random-tiny",
    "eva02": "random-tiny",
}


def _ingest_shapes(data_root: Path, store, encoder):
    dataset = read_dataset(discover(data_root)["shapes"], "shapes")
    return dataset, ingest_dataset(dataset, encoder, store, IngestOptions(batch_size=5, workers=0))


def _assert_stored(store, dataset, encoder, collection: str) -> np.ndarray:
    """Unit vectors of the encoder's size, the design's payload and ids; returns the vectors."""
    points = store.points(collection, with_vectors=True)
    assert points.vectors.shape == (len(dataset.items), encoder.dim)
    assert np.allclose(np.linalg.norm(points.vectors, axis=1), 1.0, atol=1e-5)
    for i, (pid, payload) in enumerate(zip(points.ids, points.payloads, strict=True)):
        item = dataset.items[i]
        assert payload == {
            "label": item.label,
            "path": item.path,
            "dataset": "shapes",
            "encoder": encoder.name,
            "index": i,
        }
        assert pid == point_id("shapes", item.path)
    return points.vectors


def test_registry_lists_at_least_ten_encoders_with_their_facts():
    assert len(SPECS) >= 10 and set(NEW_ENCODERS) <= set(SPECS)
    for spec in SPECS.values():
        assert spec.dim > 0 and spec.license and spec.source in {"huggingface", "torchvision", "none"}
        assert spec.preprocess is not None or spec.source == "none"


def test_encoders_command_shows_every_registered_encoder():
    from click.testing import CliRunner

    from cli import cli

    result = CliRunner(env={"COLUMNS": "300"}).invoke(cli, ["encoders"])
    assert result.exit_code == 0, result.output
    for spec in SPECS.values():
        assert spec.name in result.output and spec.model_id in result.output


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.family != "colorhist"])
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


@pytest.mark.parametrize("name", list(NEW_ENCODERS))
def test_ingest_with_each_new_encoder_stores_unit_vectors_and_payloads(data_root, store, name):
    init = NEW_ENCODERS[name]
    encoder = build_encoder(name, "cpu", init=init)
    if init == "random":
        assert encoder.dim == SPECS[name].dim
    dataset, report = _ingest_shapes(data_root, store, encoder)
    assert report.written == len(dataset.items) == 12 and not report.skipped
    _assert_stored(store, dataset, encoder, collection_name("shapes", name))


def test_siglip_answers_a_text_query_through_the_store(data_root, store):
    encoder = build_encoder("siglip", "cpu", init="random-tiny")
    dataset, _ = _ingest_shapes(data_root, store, encoder)
    images = _assert_stored(store, dataset, encoder, "shapes_siglip")
    texts = encoder.embed_texts(["a red photo", "green grass under a blue sky, seen from far away"])
    assert texts.shape == (2, encoder.dim) and texts.dtype == np.float32
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    hits = store.query("shapes_siglip", texts[0], limit=len(dataset.items))
    expected = np.sort(images @ texts[0])[::-1]
    assert np.allclose([hit.score for hit in hits], expected, atol=1e-5)
    assert {hit.payload["path"] for hit in hits} == {item.path for item in dataset.items}


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
