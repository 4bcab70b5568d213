"""The study's published mAP, kept as data in one place, and ours set beside it.

Source: the study's table (docs/design.md): DINOv2 ViT-S/14, CLIP ViT-B/32 and
ResNet18 on Simple1K, Paris and VOC_Pascal, full-ranking mAP with cosine
similarity. Only our plain full-ranking mAP is set beside it: mAP@k and
re-ranked figures measure something else.
"""

from __future__ import annotations

SOURCE = "the study's table (docs/design.md)"
PUBLISHED: dict[tuple[str, str], float] = {  # (encoder, dataset) -> mAP
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
    return PUBLISHED.get((encoder, dataset))


def beside_study(encoder: str, dataset: str, mean_ap: float | None, *, k: int | None, reranked: bool) -> dict | None:
    """{'map', 'difference' (ours - the study's), 'source'} where the study published this pair and ours compares."""
    published = study_figure(encoder, dataset)
    if published is None or k is not None or reranked:
        return None
    difference = None if mean_ap is None else round(mean_ap - published, 6)
    return {"map": published, "difference": difference, "source": SOURCE}


def study_text(summary: dict) -> str:
    """'study 0.9254, -0.0012' for a metrics.json record the study has a figure for, else ''."""
    study = summary.get("study")
    if not study:
        return ""
    difference = "n/a" if study["difference"] is None else f"{study['difference']:+.4f}"
    return f"study {study['map']:.4f}, {difference}"
