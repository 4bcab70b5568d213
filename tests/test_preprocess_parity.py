"""Our preprocessing gives the same tensors as each checkpoint's reference on real photos.

The references are built from the published configuration values, written
here as data: transformers' image processors (the PIL backend, which the
checkpoints' processors were before transformers 5 added a torchvision one),
torchvision's ResNet18 weights transform and timm's EVA-02 transform.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from encoders import SPECS
from encoders.preprocess import ResizeCropNormalize

# preprocessor_config.json of each checkpoint on the Hugging Face hub (type tags left out).
BIT_DINOV2 = {  # facebook/dinov2-{small,base,large} and dinov2-with-registers-{small,base,large}
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 256},
}
CLIP_B32 = {  # openai/clip-vit-base-patch32
    "crop_size": 224,
    "do_center_crop": True,
    "do_normalize": True,
    "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "size": 224,
}
SIGLIP_B16 = {  # google/siglip-base-patch16-224
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"height": 224, "width": 224},
}
HF_REFERENCES = {
    **{name: ("BitImageProcessorPil", BIT_DINOV2) for name, spec in SPECS.items() if spec.family == "dinov2"},
    "clip": ("CLIPImageProcessorPil", CLIP_B32),
    "siglip": ("SiglipImageProcessorPil", SIGLIP_B16),
}
# timm's pretrained configuration of eva02_base_patch16_clip_224.merged2b.
EVA02_TIMM = {
    "input_size": (3, 224, 224),
    "interpolation": "bicubic",
    "crop_pct": 0.9,
    "crop_mode": "center",
    "mean": (0.48145466, 0.4578275, 0.40821073),
    "std": (0.26862954, 0.26130258, 0.27577711),
}
TOLERANCE = 1e-4


@pytest.fixture
def photos(corel: Path) -> list[Image.Image]:
    """One Corel photo of each of four classes, each whole and cut to sizes with odd crop margins."""
    firsts: dict[str, str] = {}
    for line in (corel / "list_of_images.txt").read_text().splitlines():
        path, label = line.split("\t")
        firsts.setdefault(label, path)
    images = []
    for path in list(firsts.values())[:4]:
        with Image.open(corel / "images" / path) as image:
            photo = image.convert("RGB")
        width, height = photo.size
        images += [photo, photo.crop((0, 0, width - 13, height - 8)), photo.crop((0, 0, width - 3, height - 4))]
    return images


def _max_difference(ours, reference, photos: list[Image.Image]) -> float:
    """Largest difference between our float32 arrays and the reference's tensors or arrays."""
    differences = []
    for photo in photos:
        mine, theirs = ours(photo), np.asarray(reference(photo))
        assert isinstance(mine, np.ndarray) and mine.dtype == np.float32 and mine.shape == theirs.shape
        differences.append(float(np.abs(mine - theirs).max()))
    return max(differences)


@pytest.mark.parametrize("name", list(HF_REFERENCES))
def test_transformers_encoders_match_their_published_image_processor(photos, name):
    import transformers

    class_name, config = HF_REFERENCES[name]
    processor = getattr(transformers, class_name)(**config)

    def reference(photo: Image.Image) -> np.ndarray:
        return processor(images=photo, return_tensors="np")["pixel_values"][0]

    assert _max_difference(ResizeCropNormalize(SPECS[name].preprocess), reference, photos) < TOLERANCE


def test_resnet18_spec_matches_torchvision_weights_transform(photos):
    from torchvision.models import get_weight

    reference = get_weight(SPECS["resnet18"].model_id).transforms()
    assert _max_difference(ResizeCropNormalize(SPECS["resnet18"].preprocess), reference, photos) < TOLERANCE


def test_eva02_spec_matches_timm_pretrained_transform(photos):
    import timm.data
    from timm.models import get_pretrained_cfg

    spec = SPECS["eva02"]
    published = get_pretrained_cfg(spec.architecture["model_name"])
    assert published.hf_hub_id == spec.model_id
    assert {key: getattr(published, key) for key in EVA02_TIMM} == EVA02_TIMM
    reference = timm.data.create_transform(**EVA02_TIMM)
    assert _max_difference(ResizeCropNormalize(spec.preprocess), reference, photos) < TOLERANCE
