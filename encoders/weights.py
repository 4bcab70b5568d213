"""Loading real weights the normal way, and one clear line when they are absent.

Transformers models come from the Hugging Face cache (`HF_HOME`), torchvision
models from torch's hub cache (`TORCH_HOME`). A local folder or file given with
`--weights NAME=PATH` replaces the cache. With `HF_HUB_OFFLINE=1` nothing is
downloaded, so a missing model fails at once instead of waiting on the network.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

from encoders.spec import EncoderSpec
from errors import WeightsMissingError


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _hf_missing(spec: EncoderSpec, weights: str | None) -> WeightsMissingError:
    if weights:
        return WeightsMissingError(
            f"{spec.name}: no loadable {spec.model_id} model in '{weights}'; "
            f"pass a folder saved by save_pretrained or downloaded with "
            f"`huggingface-cli download {spec.model_id} --local-dir DIR`"
        )
    from huggingface_hub import constants

    return WeightsMissingError(
        f"{spec.name}: weights for {spec.model_id} are not in the Hugging Face cache "
        f"({constants.HF_HUB_CACHE}) and cannot be downloaded here; run "
        f"`huggingface-cli download {spec.model_id}` where there is internet and copy the cache "
        f"here (point HF_HOME at it), or pass --weights {spec.name}=DIR with a local model folder"
    )


def load_hf_pretrained(spec: EncoderSpec, loader: Any, weights: str | None) -> Any:
    """`loader.from_pretrained` from the cache, then the hub, else WeightsMissingError."""
    source = weights or spec.model_id
    try:
        return loader.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as cached_error:
        if weights or offline():
            raise _hf_missing(spec, weights) from cached_error
    try:
        return loader.from_pretrained(source)
    except Exception as download_error:  # network, HTTP and file errors all mean the same here
        raise _hf_missing(spec, weights) from download_error


def load_torchvision_state(spec: EncoderSpec, weights_enum: Any, weights: str | None) -> dict:
    """The state dict of a torchvision weights enum, from a file, the cache or the web."""
    import torch

    if weights:
        if not Path(weights).is_file():
            raise WeightsMissingError(f"{spec.name}: weights file '{weights}' does not exist")
        return torch.load(weights, map_location="cpu", weights_only=True)
    url = weights_enum.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    missing = WeightsMissingError(
        f"{spec.name}: torchvision weights {spec.model_id} are not in the torch cache ({cached}) "
        f"and cannot be downloaded here; fetch {url} into that folder where there is internet "
        f"(or set TORCH_HOME), or pass --weights {spec.name}=FILE.pth"
    )
    if not cached.is_file() and offline():
        raise missing
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # torch.hub prints "Downloading: ..."
            return weights_enum.get_state_dict(progress=False, check_hash=False)
    except Exception as error:  # urllib and file errors alike
        raise missing from error
