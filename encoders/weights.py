"""Loading real weights the normal way, strictly, and one clear line when they are absent or do not fit.

Loading is strict: a checkpoint must fill every parameter of the model and hold
nothing the model does not use (bar a two-tower checkpoint's other tower, for a
text-only load); otherwise it stops with one line naming the keys. Transformers and timm models come from the Hugging Face cache (`HF_HOME`),
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
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from encoders.spec import EncoderSpec
from errors import WeightsMismatchError, WeightsMissingError

SHOWN_KEYS = 5  # keys a mismatch names before "and N more"


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
        "a folder saved by save_pretrained or downloaded with `hf download {model_id} --local-dir DIR`",
    ),
    "file": ("FILE with its model.safetensors", "its model.safetensors (`hf download {model_id} model.safetensors`)"),
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
        f"`hf download {spec.model_id}` where there is internet and copy the cache "
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


def load_hf_model(spec: EncoderSpec, loader: Any, weights: str | None, *, unused: tuple[str, ...] = ()) -> Any:
    """A transformers model from `load_hf_pretrained`, with every parameter loaded from the checkpoint.

    A missing tensor, one of another shape, or an unexpected one (unless its key starts
    with one of `unused`: the other tower of a two-tower checkpoint) is a
    WeightsMismatchError naming the keys; transformers would log it and initialise at random.
    """
    with quiet_loading_report():
        model, info = load_hf_pretrained(spec, loader, weights, output_loading_info=True, ignore_mismatched_sizes=True)
    unexpected = [key for key in info["unexpected_keys"] if not key.startswith(unused)]
    wrong_shape = [key for key, *_shapes in info["mismatched_keys"]]
    problems = _key_problems(info["missing_keys"], unexpected, wrong_shape) + [
        " ".join(str(message).split()) for message in info["error_msgs"]
    ]
    if problems:
        raise _mismatch(spec, weights, type(model).__name__, problems=problems)
    return model


def _key_problems(missing: Any, unexpected: Any, wrong_shape: Any) -> list[str]:
    """'missing a, b and 3 more' and the like, for the kinds of keys that are not empty."""
    problems = []
    for kind, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
        keys = sorted(keys)
        if keys:
            more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
            problems.append(f"{kind} {', '.join(keys[:SHOWN_KEYS])}{more}")
    return problems


def _mismatch(
    spec: EncoderSpec, weights: str | None, model: str, *, problems: list[str], cached: str = ""
) -> WeightsMismatchError:
    """One line: which weights do not fit which model, the keys, and what to do.

    `cached` names the cached file where it is not the Hugging Face snapshot of `spec.model_id`.
    """
    if weights:
        source, action = f"'{weights}'", f"pass the files of {spec.model_id} instead"
    else:
        source = cached or spec.model_id
        action = "the cached files may be incomplete or another revision; download them again"
    return WeightsMismatchError(f"{spec.name}: {source} does not match {model}: {'; '.join(problems)}; {action}")


def _state_dict_mismatch(
    spec: EncoderSpec, weights: str | None, model: str, *, error: RuntimeError, cached: str = ""
) -> WeightsMismatchError:
    """torch's strict `load_state_dict` error (several lines) as one WeightsMismatchError naming the keys."""
    missing, unexpected, wrong_shape = [], [], []
    for line in str(error).splitlines():
        line = line.strip()
        if line.startswith("Missing key(s)"):
            missing += re.findall(r'"([^"]+)"', line)
        elif line.startswith("Unexpected key(s)"):
            unexpected += re.findall(r'"([^"]+)"', line)
        elif found := re.match(r"size mismatch for (\S+):", line):
            wrong_shape.append(found.group(1))
    problems = _key_problems(missing, unexpected, wrong_shape) or [" ".join(str(error).split())]
    return _mismatch(spec, weights, model, problems=problems, cached=cached)


@contextlib.contextmanager
def quiet_loading_report() -> Iterator[None]:
    """Leave out transformers' report of unused or missing weights while loading, then restore its logger.

    For loads that check the keys themselves (`load_hf_model`) or expect some
    missing: a pooler that is absent and therefore not used. Only the logger that
    writes the report (`transformers.modeling_utils`) is raised to errors, and only
    for the block; so is the tensor-parallel one, which transformers 5 asks to list
    every layer (as "not sharded") whenever the first is raised.
    """
    loggers = [logging.getLogger(f"transformers.{name}") for name in ("modeling_utils", "distributed.tensor_parallel")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
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
    except RuntimeError as error:  # timm loads strictly: the file's tensors do not fit the model
        if file is None:
            raise _hf_missing(spec, weights, local="file") from error
        raise _state_dict_mismatch(spec, weights, model_name, error=error) from error
    except Exception as error:  # network, HTTP and file errors all mean the same here
        raise _hf_missing(spec, weights, local="file") from error


def load_torchvision_pretrained(spec: EncoderSpec, model: Any, weights_enum: Any, *, weights: str | None) -> Any:
    """`model` (made on the meta device) with the weights of `weights_enum` assigned, strictly."""
    state = load_torchvision_state(spec, weights_enum, weights)
    try:
        model.load_state_dict(state, assign=True)
    except RuntimeError as error:
        cached = str(torch_hub_dir() / "checkpoints" / os.path.basename(weights_enum.url))
        raise _state_dict_mismatch(spec, weights, type(model).__name__, error=error, cached=cached) from error
    return model


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
