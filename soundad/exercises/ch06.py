"""Self-checking exercises of chapter 06 (the reproduction).

Each check computes the right answer from the reader's own scores table with
soundad; it never stores the answer.
"""

from __future__ import annotations

import numpy as np

from soundad.data.groups import GROUP_COLUMNS
from soundad.evaluate import auc_pauc
from soundad.exercises import register

__all__ = ["imagenet_gap", "mean_gap"]


def mean_gap(scores, *, backbone: str, detector: str) -> float:
    """Mean AUC(ImageNet weights) - AUC(random weights) over groups and repeats.

    ``scores`` is the ``scores.csv`` table of :func:`soundad.reproduce.run_grid`
    (one row per test clip and method, with a ``repeat`` column when the grid
    was repeated). Only pairs where both weights were scored count.
    """
    rows = scores[(scores["backbone"] == backbone) & (scores["detector"] == detector)]
    keys = [*GROUP_COLUMNS, *(["repeat"] if "repeat" in rows.columns else [])]
    gaps = []
    for _, part in rows.groupby(keys):
        auc = {w: auc_pauc(p["label"], p["score"])[0] for w, p in part.groupby("weights")}
        if {"imagenet", "random"} <= set(auc):
            gaps.append(auc["imagenet"] - auc["random"])
    if not gaps:
        raise ValueError(
            f"no group scored {backbone} + {detector} with both imagenet and random weights"
        )
    return float(np.mean(gaps))


@register(
    "ch06-imagenet-gap",
    hint="per repeat (and group), AUC with ImageNet weights minus AUC with random "
    "weights for the same backbone and detector; then average those differences",
)
def imagenet_gap(answer, *, scores, backbone, detector="gmm", **context) -> bool:
    """Right when ``answer`` is :func:`mean_gap` of ``scores`` to 5e-4."""
    right = mean_gap(scores, backbone=backbone, detector=detector)
    try:
        return bool(abs(float(answer) - right) <= 5e-4)
    except (TypeError, ValueError):
        return False
