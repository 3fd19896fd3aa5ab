"""Self-checking exercises of chapter 04 (one-class detectors).

Each check computes the right answer from soundad and the reader's own run;
it never stores the answer.
"""

from __future__ import annotations

import numpy as np

from soundad.evaluate import auc_pauc
from soundad.exercises import register

__all__ = ["auc_by_pairs"]


@register(
    "ch04-auc-pairs",
    hint="count the (abnormal, normal) pairs in which the abnormal clip scores higher; "
    "a tie counts one half; divide by the number of pairs",
)
def auc_by_pairs(answer, *, scores, **context) -> bool:
    """Right when ``answer`` is the AUC of ``scores`` (one method's clip scores).

    ``scores`` is a table with ``label`` and ``score`` columns, e.g. one
    detector's rows of chapter 04's ``scores``. Agreement to 5e-4 counts
    (an answer rounded to three decimals passes).
    """
    right, _ = auc_pauc(scores["label"], scores["score"])
    return bool(np.isfinite(float(answer)) and abs(float(answer) - right) <= 5e-4)
