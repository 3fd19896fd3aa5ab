"""Self-checking exercise of chapter 07 (DCASE and domain shift).

The official DCASE 2022/2023 score is checked against
:func:`soundad.dcase_scores.official_score` on the per-section table the
reader passes in, so it works on synthetic and on real DCASE data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.dcase_scores import official_score
from soundad.exercises import register

__all__ = ["check_official_score"]


@register(
    "ch07-official",
    hint="pass the per-section rows of one method as table=...; the official score is "
    "the harmonic mean (not the arithmetic mean) of every section's AUC(source), "
    "AUC(target) and pAUC (column pauc_official)",
)
def check_official_score(answer, *, table: pd.DataFrame, **context) -> bool:
    """The harmonic mean of ``table``'s auc_source, auc_target and pauc_official."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    expected = official_score(table)
    return bool(np.isfinite(expected)) and abs(value - expected) < 1e-6
