"""The published study's figures: mAP of three encoders on three datasets, to set ours beside.

Keys are this project's names: datasets as `ingest` names them (Simple1K ->
simple1k, Paris_val -> paris, VOC_Pascal -> voc), encoders as registered.
"""

from __future__ import annotations

STUDY_MAP: dict[tuple[str, str], float] = {
    ("dinov2", "simple1k"): 0.9254,
    ("dinov2", "paris"): 0.3934,
    ("dinov2", "voc"): 0.4644,
    ("clip", "simple1k"): 0.7692,
    ("clip", "paris"): 0.3068,
    ("clip", "voc"): 0.4346,
    ("resnet18", "simple1k"): 0.6977,
    ("resnet18", "paris"): 0.2489,
    ("resnet18", "voc"): 0.3522,
}


def study_figure(encoder: str, dataset: str) -> float | None:
    """The study's mAP for this pair, or None when the study did not measure it."""
    return STUDY_MAP.get((encoder, dataset))
