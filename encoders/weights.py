"""Loading real weights the normal way, and one clear line when they are absent.

Transformers and timm models come from the Hugging Face cache (`HF_HOME`),
torchvision models from torch's hub cache (`TORCH_HOME`). A local folder or file given with
`--weights NAME=PATH` replaces the cache. With `HF_HUB_OFFLINE=1`, or when the
download host does not answer, nothing is downloaded and a missing model fails
at once instead of waiting on the network.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from encoders.spec import EncoderSpec
from errors import WeightsMissingError


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _reachable(host: str) -> bool:
    """Whether a TCP connection to host:443 opens within 3 s (nothing is sent); asked anew at each load."""
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


def can_download(url: str) -> bool:
    """False offline or when the host does not answer, so a missing model fails at once
    instead of after the download libraries' retries."""
    return not offline() and _reachable(urlsplit(url).hostname or "")


def _hub() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


# What --weights takes for a Hugging Face model, a folder or timm's one file: (argument, how to get it).
_LOCAL_WEIGHTS = {
    "folder": (
        "DIR with a local model folder",
        "a folder saved by save_pretrained or downloaded with `huggingface-cli download {model_id} --local-dir DIR`",
    ),
    "file": (
        "FILE with its model.safetensors",
        "its model.safetensors (`huggingface-cli download {model_id} model.safetensors`)",
    ),
}


def _hf_missing(spec: EncoderSpec, weights: str | None, local: str = "folder") -> WeightsMissingError:
    argument, how = _LOCAL_WEIGHTS[local]
    if weights:
        return WeightsMissingError(
            f"{spec.name}: no loadable {spec.model_id} model in '{weights}'; pass {how.format(model_id=spec.model_id)}"
        )
    from huggingface_hub import constants

    return WeightsMissingError(
        f"{spec.name}: weights for {spec.model_id} are not in the Hugging Face cache "
        f"({constants.HF_HUB_CACHE}) and cannot be downloaded here; run "
        f"`huggingface-cli download {spec.model_id}` where there is internet and copy the cache "
        f"here (point HF_HOME at it), or pass --weights {spec.name}={argument}"
    )


def load_hf_pretrained(spec: EncoderSpec, loader: Any, weights: str | None, **kwargs: Any) -> Any:
    """`loader.from_pretrained` from the cache, then the hub, else WeightsMissingError.

    `kwargs` go to `from_pretrained` unchanged (e.g. `backend="pil"`).
    """
    source = weights or spec.model_id
    try:
        return loader.from_pretrained(source, local_files_only=True, **kwargs)
    except (OSError, ValueError) as cached_error:
        if weights or not can_download(_hub()):
            raise _hf_missing(spec, weights) from cached_error
    try:
        return loader.from_pretrained(source, **kwargs)
    except Exception as download_error:  # network, HTTP and file errors all mean the same here
        raise _hf_missing(spec, weights) from download_error


@contextlib.contextmanager
def quiet_loading_report() -> Iterator[None]:
    """Leave out transformers' report of unused or missing weights while loading, then restore its logger.

    For loads that expect them: one tower of a two-tower checkpoint, or a pooler
    that is absent and therefore not used. Only the logger that writes the report
    (`transformers.modeling_utils`) is raised to errors, and only for the block.
    """
    logger = logging.getLogger("transformers.modeling_utils")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def load_timm_pretrained(spec: EncoderSpec, model_name: str, weights: str | None) -> Any:
    """A timm model with its weights from a file, the Hugging Face cache or the hub.

    timm keeps its checkpoints as `model.safetensors` in the Hugging Face repo
    `spec.model_id`, so the cache and the offline rule are the same as above.
    """
    import timm
    from huggingface_hub import try_to_load_from_cache

    if weights and not Path(weights).is_file():
        raise WeightsMissingError(f"{spec.name}: weights file '{weights}' does not exist")
    cached = try_to_load_from_cache(spec.model_id, "model.safetensors")
    file = weights or (cached if isinstance(cached, str) else None)
    if file is None and not can_download(_hub()):
        raise _hf_missing(spec, None, local="file")
    overlay = {"file": file} if file else None
    try:
        return timm.create_model(model_name, pretrained=True, pretrained_cfg_overlay=overlay)
    except Exception as error:  # network, HTTP and file errors all mean the same here
        raise _hf_missing(spec, weights, local="file") from error


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
    if not cached.is_file() and not can_download(url):
        raise missing
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # torch.hub prints "Downloading: ..."
            return weights_enum.get_state_dict(progress=False, check_hash=False)
    except Exception as error:  # urllib and file errors alike
        raise missing from error


def weights_present(spec: EncoderSpec) -> bool:
    """Whether the weights are in the local cache (no network, no loading, no torch import)."""
    if not spec.needs_weights:
        return True
    if spec.source == "huggingface":
        from huggingface_hub import try_to_load_from_cache

        return any(
            isinstance(try_to_load_from_cache(spec.model_id, f), str)
            for f in ("model.safetensors", "pytorch_model.bin")
        )
    return (torch_hub_dir() / "checkpoints" / spec.checkpoint).is_file()


def torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch: $TORCH_HOME/hub, else the XDG cache."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(home) / "hub"
