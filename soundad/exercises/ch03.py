"""Self-checking exercises of chapter 03 (ImageNet features).

The AUC exercise checks the reader's pair count against
:func:`soundad.evaluate.auc_pauc` on the scores the reader passes in, so it
works on whatever data the chapter ran on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.evaluate import auc_pauc
from soundad.exercises import register

__all__ = ["pair_fraction"]


def pair_fraction(scores: pd.DataFrame) -> float:
    """The AUC of a clip-score table: the fraction of (normal, abnormal) pairs
    in which the abnormal clip scores higher (ties count one half).

    Parameters
    ----------
    scores : pd.DataFrame
        One row per test clip with ``label`` ("normal"/"abnormal") and
        ``score`` (higher = more anomalous), e.g. from
        :func:`soundad.evaluate.clip_score_table`.
    """
    y_true = (scores["label"].to_numpy() == "abnormal").astype(int)
    auc, _ = auc_pauc(y_true, scores["score"].to_numpy(dtype=np.float64))
    return float(auc)


@register(
    "ch03-auc-pairs",
    hint="pass the table as scores=...; compare every abnormal score with every normal "
    "score (np.subtract.outer) and count a tie as one half",
)
def check_auc_pairs(answer, *, scores: pd.DataFrame, **context) -> bool:
    """The fraction of correctly ordered (normal, abnormal) pairs of ``scores``."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    return abs(value - pair_fraction(scores)) < 1e-6
