"""Published Revisited Oxford/Paris figures, kept as data with their source, set beside ours.

Source: Oquab et al., "DINOv2: Learning Robust Visual Features without
Supervision" (2023), Table 9 (instance-level recognition), ViT-S/14:
mAP in percent for the Medium and Hard setups. The paper's figures come from
its own image resolution and pooling; ours embed each image with the
collection's encoder and preprocessing, so they are a reference, not a target.
"""

from __future__ import annotations

SOURCE = "DINOv2 paper (Oquab et al. 2023), Table 9, ViT-S/14"
MODEL = "dinov2"  # the registry's DINOv2 ViT-S/14
PUBLISHED: dict[str, dict[str, float]] = {  # dataset -> setup -> mAP (percent)
    "roxford5k": {"medium": 68.8, "hard": 43.2},
    "rparis6k": {"medium": 84.6, "hard": 68.5},
}


def reference(dataset: str, encoder: str) -> dict | None:
    """{'map': {setup: percent}, 'source', 'same_encoder'} for a revisited dataset, else None."""
    figures = PUBLISHED.get(dataset)
    if figures is None:
        return None
    return {"map": dict(figures), "source": SOURCE, "same_encoder": encoder == MODEL}
