"""Which weights made a vector: the identity a collection records and a query must match.

- pretrained from the Hugging Face cache: the snapshot commit the cache resolved
  (`snapshots/<commit>/`), so a re-download of another revision is told apart;
- pretrained from torch's hub cache or a `--weights` file: the file's sha256;
- a `--weights` folder: the sha256 of every file's relative path and sha256;
- random initialisation: the variant (`random`, `random-tiny`) and the seed;
- no weights at all (the colour histogram): `none`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from encoders.seeding import RANDOM_INIT_SEED
from encoders.spec import EncoderSpec
from encoders.weights import torch_hub_dir
from media.files import file_sha256
from store.provenance import WeightsIdentity


def weights_identity(spec: EncoderSpec, weights: str | None, init: str) -> WeightsIdentity:
    """The identity of the weights `build_encoder(spec.name, weights=weights, init=init)` loads.

    Call it after the build: a model downloaded by the build is then in the cache.
    """
    if not spec.needs_weights:
        return WeightsIdentity("none")
    if init != "pretrained":
        return WeightsIdentity(init, seed=RANDOM_INIT_SEED)
    if weights:
        path = Path(weights)
        if path.is_dir():
            return WeightsIdentity("folder-sha256", folder_sha256(path))
        return WeightsIdentity("file-sha256", file_sha256(path))
    if spec.source == "torchvision":
        return WeightsIdentity("file-sha256", file_sha256(torch_hub_dir() / "checkpoints" / spec.checkpoint))
    commit = hf_snapshot(spec.model_id)
    return WeightsIdentity("hf-snapshot", commit) if commit else WeightsIdentity("unknown")


def hf_snapshot(model_id: str) -> str | None:
    """The commit of the cached snapshot of `model_id`, from the folder its files resolve to."""
    from huggingface_hub import try_to_load_from_cache

    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        cached = try_to_load_from_cache(model_id, name)
        if isinstance(cached, str):
            return Path(cached).parent.name
    return None


def folder_sha256(folder: Path) -> str:
    """One hash over every file's path (relative, sorted) and content hash."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(folder).as_posix()}\0{file_sha256(file)}\n".encode())
    return digest.hexdigest()
