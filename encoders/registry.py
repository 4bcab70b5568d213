"""The table of encoders by name: each family module registers its records with its builder.

Family modules live in `encoders.families` and are found by `discover`, so adding
an encoder is one new module there that calls `register`. Listings show encoders
by `order` (each family's place), then in the order they were registered.
Importing a family module must stay cheap: torch and the model libraries are
imported inside builders and methods, never at module level.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, replace

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, TorchEncoder, resolve_device
from encoders.precision import check_precision
from encoders.spec import EncoderSpec
from errors import RetrievalError, WeightsMissingError

SEED_ENCODERS = ("dinov2", "clip", "resnet18")
INITS = ("pretrained", "random", "random-tiny")

# (spec, settings with the device resolved) -> a built encoder
Builder = Callable[[EncoderSpec, BuildSettings], Encoder]


@dataclass(frozen=True)
class _Entry:
    spec: EncoderSpec
    build: Builder
    build_text: Builder | None
    order: int


@dataclass(frozen=True)
class _Prefix:
    make_spec: Callable[[str], EncoderSpec]
    build: Builder
    usage: str


SPECS: dict[str, EncoderSpec] = {}
_ENTRIES: dict[str, _Entry] = {}
_PREFIXES: dict[str, _Prefix] = {}


def register(spec: EncoderSpec, build: Builder, build_text: Builder | None = None, *, order: int = 100) -> None:
    """Add `spec` under its name, built by `build`; `build_text` loads only what text queries need.

    `order` places the encoder in listings (families use 10, 20, ...; equal orders keep registration order).
    """
    if spec.name in _ENTRIES or spec.name.startswith(tuple(_PREFIXES)):
        raise ValueError(f"encoder name '{spec.name}' is taken")
    _ENTRIES[spec.name] = _Entry(spec, build, build_text, order)
    _sync_specs()


def unregister(name: str) -> None:
    """Remove a registered encoder (the inverse of `register`)."""
    del _ENTRIES[name]
    _sync_specs()


def _sync_specs() -> None:
    """SPECS in place (others hold a reference to it), sorted by order; the sort is stable."""
    SPECS.clear()
    SPECS.update((e.spec.name, e.spec) for e in sorted(_ENTRIES.values(), key=lambda e: e.order))


def register_prefix(prefix: str, make_spec: Callable[[str], EncoderSpec], build: Builder, *, usage: str) -> None:
    """Names `prefix<rest>` are not listed; `make_spec(name)` makes their record when one is asked for.

    `usage` shows the form of such names in the error for an unknown name, e.g. 'hf:<model id>'.
    """
    _PREFIXES[prefix] = _Prefix(make_spec, build, usage)


def discover() -> None:
    """Import every module of `encoders.families` not yet imported, so that each registers its encoders."""
    from encoders import families

    for module in pkgutil.iter_modules(families.__path__):
        importlib.import_module(f"{families.__name__}.{module.name}")


def encoder_names() -> list[str]:
    return list(SPECS)


def canonical_name(name: str) -> str:
    """A registered encoder's name as registered, whatever its case ('CLIP' is 'clip'); other names as given."""
    if name in _ENTRIES:
        return name
    folded = {registered.lower(): registered for registered in _ENTRIES}
    return folded.get(name.lower(), name)


def parse_weights(values: tuple[str, ...] | list[str], names: list[str] | None = None) -> dict[str, str]:
    """`--weights NAME=PATH` values as {name: path}; with `names`, a NAME outside them is refused, not ignored."""
    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise RetrievalError(f"--weights '{value}' is not NAME=PATH")
        name = canonical_name(name)
        if names is not None and name not in names:
            raise RetrievalError(f"--weights '{name}' is not among the encoders of this run ({', '.join(names)})")
        pairs[name] = path
    return pairs


def resolve_encoder_names(names: tuple[str, ...] | list[str] = ()) -> list[str]:
    """What `--encoder` means: the seed three when none is named, every registered one for 'all' (any case)."""
    if any(name.lower() == "all" for name in names):
        return encoder_names()
    return [canonical_name(name) for name in names] or list(SEED_ENCODERS)


def get_spec(name: str) -> EncoderSpec:
    """The record of a registered encoder or of a registered prefix's name, else an error listing the names."""
    return _lookup(name)[0]


def build_encoder(
    name: str, device: str = "auto", *, weights: str | None = None, init: str = "pretrained", precision: str = "fp32"
) -> Encoder:
    """Load an encoder by name; `init` other than 'pretrained' gives random weights (tests); `precision`
    fp32 or bf16 (encoders/precision.py), refused before anything loads where the device cannot run it."""
    settings = BuildSettings(device, weights, init, precision)
    spec, build, _ = _checked(name, init)
    return _identified(build(spec, _resolved(spec, settings)), settings)


def build_text_encoder(
    name: str, device: str = "auto", *, weights: str | None = None, init: str = "pretrained", precision: str = "fp32"
) -> Encoder:
    """Load only what `embed_texts` needs (faster than `build_encoder` for text queries)."""
    settings = BuildSettings(device, weights, init, precision)
    spec, build, build_text = _checked(name, init)
    if not spec.text:
        raise RetrievalError(f"encoder '{name}' has no text tower")
    encoder = (build_text or build)(spec, _resolved(spec, settings))  # not every family has a text loader
    return _identified(encoder, settings)


def _resolved(spec: EncoderSpec, settings: BuildSettings) -> BuildSettings:
    """`settings` on the device a model runs on, its precision checked there; the CPU, with nothing imported,
    where no model runs (so a colour-histogram query never imports torch to ask for a GPU)."""
    if not spec.has_model:
        return replace(settings, device="cpu")
    device = resolve_device(settings.device)
    check_precision(settings.precision, device)
    return replace(settings, device=device)


def build_available(
    names: list[str],
    device: str = "auto",
    *,
    weights: dict[str, str] | None = None,
    init: str = "pretrained",
    precision: str = "fp32",
) -> tuple[list[Encoder], list[tuple[str, str]]]:
    """Every encoder of `names` that can be built, and (name, reason) for each skipped for want of weights.

    The one policy of `ingest` and `demo`: do what can run, say what could not. Any other error stops,
    an unknown name before anything loads.
    """
    for name in names:
        get_spec(name)
    built, skipped = [], []
    for name in names:
        try:
            built.append(build_encoder(name, device, weights=(weights or {}).get(name), init=init, precision=precision))
        except WeightsMissingError as error:
            skipped.append((name, str(error)))
    return built, skipped


def _identified(encoder: Encoder, settings: BuildSettings) -> Encoder:
    """The encoder with the identity of the weights it was built from (see encoders/identity.py) and its
    precision: bf16 only where a torch model runs (the colour histogram is numpy float32 whatever is asked)."""
    from encoders.identity import weights_identity

    encoder.weights = weights_identity(encoder.spec, settings.weights, settings.init)
    encoder.precision = settings.precision if isinstance(encoder, TorchEncoder) else "fp32"
    return encoder


def _checked(name: str, init: str) -> tuple[EncoderSpec, Builder, Builder | None]:
    if init not in INITS:
        raise RetrievalError(f"unknown init '{init}'; choose one of {', '.join(INITS)}")
    return _lookup(name)


def _lookup(name: str) -> tuple[EncoderSpec, Builder, Builder | None]:
    """(record, builder, text-only builder) of a registered name (any case) or of a prefixed one."""
    name = canonical_name(name)
    if name in _ENTRIES:
        entry = _ENTRIES[name]
        return entry.spec, entry.build, entry.build_text
    for prefix, dynamic in _PREFIXES.items():
        if name.startswith(prefix) and name != prefix:
            return dynamic.make_spec(name), dynamic.build, None
    usages = "".join(f", or {dynamic.usage}" for dynamic in _PREFIXES.values())
    starting = [known for known in SPECS if known.lower().startswith(name.lower())]
    close = starting or difflib.get_close_matches(name.lower(), [known.lower() for known in SPECS], n=1)
    hint = f"did you mean '{canonical_name(close[0])}'? " if close else ""
    raise RetrievalError(f"unknown encoder '{name}'; {hint}known encoders: {', '.join(SPECS)}{usages}")
