"""Visual encoders: a registry of records, filled by one module per model family.

Every encoder returns L2-normalised float32 vectors. Importing this package is
cheap; torch and transformers load only when an encoder is built.
"""

from encoders.build_settings import BuildSettings
from encoders.interface import Encoder, l2_normalize
from encoders.registry import (
    INITS,
    SEED_ENCODERS,
    SPECS,
    build_available,
    build_encoder,
    build_text_encoder,
    canonical_name,
    discover,
    encoder_names,
    get_spec,
    parse_weights,
    register,
    resolve_encoder_names,
)
from encoders.spec import EncoderSpec, Preprocess
from encoders.weights import weights_present

discover()

__all__ = [
    "INITS",
    "SEED_ENCODERS",
    "SPECS",
    "BuildSettings",
    "Encoder",
    "EncoderSpec",
    "Preprocess",
    "build_available",
    "build_encoder",
    "build_text_encoder",
    "canonical_name",
    "encoder_names",
    "get_spec",
    "parse_weights",
    "register",
    "resolve_encoder_names",
    "l2_normalize",
    "weights_present",
]
