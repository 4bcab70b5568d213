"""`encoders --check`: for each encoder, whether its weights are cached, which they are, and what a first run fetches.

Reads the Hugging Face and torch hub caches only: nothing is downloaded and no
model is built. Where a model is not cached, the size of its download comes from
`PUBLISHED`, else it is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from encoders.identity import weights_identity
from encoders.registry import SPECS
from encoders.spec import EncoderSpec
from encoders.weights import torch_hub_dir, weights_present
from store.provenance import WeightsIdentity

_HF_MODEL = ("config.json", "model.safetensors")

# Model id -> (files a first run fetches, bytes of its weights file, about).
# The bytes are those of the float32 tensors (the checkpoints' type) of the architecture
# in each checkpoint's published configuration (the files in tests/fixtures/, whose
# sources tests/fixtures/README.md names; tests/test_encoder_check.py recomputes them);
# the hub's own file listings could not be reached where this table was written.
# Tokenizer and configuration files add under 4 MB.
PUBLISHED: dict[str, tuple[tuple[str, ...], int]] = {
    "facebook/dinov2-small": (_HF_MODEL, 88_226_304),
    "facebook/dinov2-base": (_HF_MODEL, 346_321_920),
    "facebook/dinov2-large": (_HF_MODEL, 1_217_474_560),
    "facebook/dinov2-with-registers-small": (_HF_MODEL, 88_232_448),
    "facebook/dinov2-with-registers-base": (_HF_MODEL, 346_334_208),
    "facebook/dinov2-with-registers-large": (_HF_MODEL, 1_217_490_944),
    "openai/clip-vit-base-patch32": (
        _HF_MODEL + ("tokenizer_config.json", "vocab.json", "merges.txt", "tokenizer.json", "special_tokens_map.json"),
        605_109_252,
    ),
    "google/siglip-base-patch16-224": (
        _HF_MODEL + ("tokenizer_config.json", "spiece.model", "special_tokens_map.json"),
        812_623_880,
    ),
    "timm/eva02_base_patch16_clip_224.merged2b": (("model.safetensors",), 345_052_160),
    "ResNet18_Weights.IMAGENET1K_V1": (("resnet18-f37072fd.pth",), 46_796_608),
}


@dataclass(frozen=True)
class Download:
    """What a first run fetches for one model: from where, which files, about how many bytes.

    `size_from` says where the size comes from: "cache" (these files, cached here),
    "published config" (`PUBLISHED`) or "unknown" (`size` is None). `needed` is
    False where the cache already holds the weights.
    """

    model: str
    files: tuple[str, ...]
    size: int | None
    size_from: str
    needed: bool

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "files": list(self.files),
            "bytes": self.size,
            "size_from": self.size_from,
            "needed": self.needed,
        }


@dataclass(frozen=True)
class WeightsCheck:
    """One encoder's weights: cached or not, their identity and size on disk, and what a first run fetches.

    `download` is None for an encoder without weights (the colour histogram).
    """

    name: str
    source: str
    cached: bool
    identity: WeightsIdentity | None
    on_disk: int | None
    download: Download | None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "cached": self.cached,
            "identity": self.identity.to_dict() if self.identity else None,
            "bytes_on_disk": self.on_disk,
            "download": self.download.to_json() if self.download else None,
        }


def check_weights(names: list[str] | None = None) -> list[WeightsCheck]:
    """The check of each registered encoder (or of `names`), in registry order."""
    return [check_encoder(SPECS[name]) for name in (names or list(SPECS))]


def check_encoder(spec: EncoderSpec) -> WeightsCheck:
    """Whether `spec`'s weights are in the local cache, which they are, and what a first run downloads."""
    if not spec.needs_weights:
        return WeightsCheck(spec.name, spec.source, True, None, None, None)
    files, size = PUBLISHED.get(spec.model_id, (_HF_MODEL, None))
    cached_files = _cached_files(spec)
    cached = weights_present(spec)
    on_disk = sum(path.stat().st_size for path in cached_files.values()) if cached else None
    if cached:
        files = tuple(name for name in files if name in cached_files) or tuple(cached_files)
        size, size_from = sum(cached_files[name].stat().st_size for name in files), "cache"
    else:
        size_from = "unknown" if size is None else "published config"
    identity = weights_identity(spec, None, "pretrained") if cached else None
    download = Download(_download_source(spec), files, size, size_from, not cached)
    return WeightsCheck(spec.name, spec.source, cached, identity, on_disk, download)


def _cached_files(spec: EncoderSpec) -> dict[str, Path]:
    """The files of `spec`'s model in the cache, by name (a snapshot's files, or torch's one file)."""
    if spec.source == "torchvision":
        path = torch_hub_dir() / "checkpoints" / spec.checkpoint
        return {path.name: path} if path.is_file() else {}
    from huggingface_hub import try_to_load_from_cache

    for name in ("model.safetensors", "pytorch_model.bin", "config.json"):
        found = try_to_load_from_cache(spec.model_id, name)
        if isinstance(found, str):
            snapshot = Path(found).parent
            return {path.name: path for path in sorted(snapshot.iterdir()) if path.is_file()}
    return {}


def _download_source(spec: EncoderSpec) -> str:
    """The hub model id, or for torchvision the URL of the weights file."""
    if spec.source != "torchvision":
        return spec.model_id
    from torchvision.models import get_weight

    return get_weight(spec.model_id).url
