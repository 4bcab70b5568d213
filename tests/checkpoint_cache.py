"""A Hugging Face and torch hub cache laid out as on a user's machine, holding random weights.

Each checkpoint gets the small files its publisher ships (tests/fixtures/<org>--<name>/,
sources in tests/fixtures/README.md) and random tensors under the published parameter
names and shapes, saved under the published file names: `model.safetensors` in
`$HF_HOME/hub/models--<org>--<name>/snapshots/<commit>/` (with `refs/main` naming the
commit), torchvision's `resnet18-f37072fd.pth` in `$TORCH_HOME/hub/checkpoints/`.
The encoders then load them through their normal code, with nothing patched, so
the tests rehearse what a user's machine does with the real download.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = 1234


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint: where it lives, how its weights are made, which small files it ships."""

    model_id: str  # hub id; for torchvision the weights' file name
    kind: str  # "transformers", "timm" or "torchvision"
    files: tuple[str, ...]  # copied from the fixture folder into the snapshot

    @property
    def fixture(self) -> Path:
        return FIXTURES / self.model_id.replace("/", "--")

    @property
    def commit(self) -> str:
        """A stable stand-in for the hub commit of the snapshot folder."""
        return hashlib.sha1(self.model_id.encode()).hexdigest()


_HF_CONFIGS = ("config.json", "preprocessor_config.json")
_CLIP_TOKENIZER = ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")
_SIGLIP_TOKENIZER = ("tokenizer_config.json", "special_tokens_map.json")  # spiece.model is generated

# Registered encoder name -> its published checkpoint (ids as published, not read from the registry).
CHECKPOINTS: dict[str, Checkpoint] = {
    "dinov2": Checkpoint("facebook/dinov2-small", "transformers", _HF_CONFIGS),
    "dinov2-base": Checkpoint("facebook/dinov2-base", "transformers", _HF_CONFIGS),
    "dinov2-large": Checkpoint("facebook/dinov2-large", "transformers", _HF_CONFIGS),
    "dinov2-reg": Checkpoint("facebook/dinov2-with-registers-small", "transformers", _HF_CONFIGS),
    "dinov2-reg-base": Checkpoint("facebook/dinov2-with-registers-base", "transformers", _HF_CONFIGS),
    "dinov2-reg-large": Checkpoint("facebook/dinov2-with-registers-large", "transformers", _HF_CONFIGS),
    "clip": Checkpoint("openai/clip-vit-base-patch32", "transformers", _HF_CONFIGS + _CLIP_TOKENIZER),
    "siglip": Checkpoint("google/siglip-base-patch16-224", "transformers", _HF_CONFIGS + _SIGLIP_TOKENIZER),
    "eva02": Checkpoint("timm/eva02_base_patch16_clip_224.merged2b", "timm", ("config.json",)),
    "resnet18": Checkpoint("torchvision/resnet18", "torchvision", ()),
}

Edit = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def fixture_json(name: str, file: str) -> dict:
    """A published JSON file of the checkpoint behind encoder `name`."""
    return json.loads((CHECKPOINTS[name].fixture / file).read_text())


def published_dim(name: str) -> int:
    """The embedding size the published files give for encoder `name`."""
    kind = CHECKPOINTS[name].kind
    if kind == "torchvision":
        return fixture_json(name, "weights.json")["feature_dim"]
    config = fixture_json(name, "config.json")
    if kind == "timm":
        return config["num_classes"]
    if config["model_type"] == "clip":
        return config["projection_dim"]
    if config["model_type"] == "siglip":  # projection_size defaults to the text width
        return config["text_config"].get("projection_size", config["text_config"]["hidden_size"])
    return config["hidden_size"]


def cache_env(root: Path) -> dict[str, str]:
    """This process's environment pointed at the cache under `root`, offline, with the repo importable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_HOME", "TORCH_HOME"}
    }
    env.update(HF_HOME=str(root / "hf"), TORCH_HOME=str(root / "torch"), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return env


def snapshot_dir(root: Path, name: str) -> Path:
    checkpoint = CHECKPOINTS[name]
    return root / "hf" / "hub" / f"models--{checkpoint.model_id.replace('/', '--')}" / "snapshots" / checkpoint.commit


def add_checkpoint(root: Path, name: str, edit: Edit | None = None) -> Path:
    """Write encoder `name`'s checkpoint into the cache under `root`; returns its weights file.

    `edit` may change the random state dict before it is saved (drop or rename a tensor).
    """
    checkpoint = CHECKPOINTS[name]
    if checkpoint.kind == "torchvision":
        info = fixture_json(name, "weights.json")
        target = root / "torch" / "hub" / "checkpoints" / info["file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(_edited(_random_like(published_state(name)), edit), target)
        return target
    snapshot = snapshot_dir(root, name)
    snapshot.mkdir(parents=True, exist_ok=True)
    refs = snapshot.parents[1] / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(checkpoint.commit)
    for file in checkpoint.files:
        shutil.copyfile(checkpoint.fixture / file, snapshot / file)
    if name == "siglip":
        (snapshot / "spiece.model").write_bytes(_sentencepiece_model())
    from safetensors.torch import save_file

    target = snapshot / "model.safetensors"
    save_file(_edited(_random_like(published_state(name)), edit), str(target), metadata={"format": "pt"})
    return target


def _edited(state: dict[str, torch.Tensor], edit: Edit | None) -> dict[str, torch.Tensor]:
    return edit(dict(state)) if edit else state


def published_state(name: str) -> dict[str, torch.Tensor]:
    """Encoder `name`'s state dict on the meta device (names, shapes and types, no values), as its
    published configuration describes it."""
    checkpoint = CHECKPOINTS[name]
    if checkpoint.kind == "torchvision":
        return _torchvision_state()
    return _transformers_state(checkpoint) if checkpoint.kind == "transformers" else _timm_state(checkpoint)


def _transformers_state(checkpoint: Checkpoint) -> dict[str, torch.Tensor]:
    """The tensors of the model the fixture's config.json describes."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(checkpoint.fixture / "config.json")
    with torch.device("meta"):
        model = AutoModel.from_config(config)
    return model.state_dict()


def _timm_state(checkpoint: Checkpoint) -> dict[str, torch.Tensor]:
    """The tensors of the timm architecture in the fixture's config.json."""
    import timm

    config = json.loads((checkpoint.fixture / "config.json").read_text())
    with torch.device("meta"):
        model = timm.create_model(config["architecture"], pretrained=False, num_classes=config["num_classes"])
    return model.state_dict()


def _torchvision_state() -> dict[str, torch.Tensor]:
    from torchvision.models import resnet18

    with torch.device("meta"):
        model = resnet18(weights=None)
    return model.state_dict()


def _random_like(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Seeded random values of each tensor's shape: fan-in scaled matrices, near-1 scales, near-0 shifts.

    Batch-norm statistics stay neutral (mean 0, variance 1) so activations neither vanish nor explode.
    A local generator keeps the global random state untouched.
    """
    generator = torch.Generator().manual_seed(SEED)
    out = {}
    for key, meta in state.items():
        if not meta.dtype.is_floating_point:
            out[key] = torch.zeros(meta.shape, dtype=meta.dtype)
        elif key.endswith("running_var"):
            out[key] = torch.ones(meta.shape)
        elif key.endswith("running_mean"):
            out[key] = torch.zeros(meta.shape)
        elif meta.dim() >= 2:
            fan_in = math.prod(meta.shape[1:])
            out[key] = torch.randn(meta.shape, generator=generator) / math.sqrt(fan_in)
        else:
            centre = 1.0 if key.endswith("weight") else 0.0
            out[key] = centre + 0.02 * torch.randn(meta.shape, generator=generator)
    return out


def _sentencepiece_model() -> bytes:
    """A small character-level sentencepiece model with SigLIP's special ids (pad 0, </s> 1, <unk> 2).

    The published spiece.model (about 800 kB, binary) is not in the fixtures; this one has
    the same file name and format, so the tokenizer loads it the same way.
    """
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([string.ascii_letters + string.digits + string.punctuation + " "]),
        model_writer=model,
        model_type="char",
        vocab_size=100,
        hard_vocab_limit=False,
        character_coverage=1.0,
        pad_id=0,
        pad_piece="<pad>",
        eos_id=1,
        eos_piece="</s>",
        unk_id=2,
        unk_piece="<unk>",
        bos_id=-1,
        minloglevel=2,
    )
    return model.getvalue()
