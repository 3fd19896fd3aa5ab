"""How many test clips does an AUC need? Interval width against n (chapters 04 and 06).

An AUC measured on a few dozen test clips is uncertain. This module answers two
questions a reader of a small experiment should ask, from the experiment's own
scores:

* :func:`auc_interval_widths` -- how wide the bootstrap interval of the AUC
  would be with ``n`` test clips drawn like the ones at hand (normal and
  abnormal clips resampled separately, in the proportion observed);
* :func:`clips_needed` -- how many test clips would shrink an interval's
  half-width to a target, using that the width falls as ``1 / sqrt(n)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from soundad.errors import ParameterError
from soundad.params import check_int

__all__ = ["auc_interval_widths", "clips_needed"]

_LABELS = {"normal": 0, "abnormal": 1, 0: 0, 1: 1, False: 0, True: 1}


def _labels(y_true) -> np.ndarray:
    values = list(np.asarray(y_true, dtype=object).reshape(-1))
    unknown = sorted({str(v) for v in values if v not in _LABELS})
    if unknown:
        raise ParameterError(
            f"y_true holds {', '.join(unknown[:3])}; expected 'normal'/'abnormal' or 0/1"
        )
    return np.array([_LABELS[v] for v in values], dtype=int)


def _auc_rows(abnormal: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """AUC of each row pair: P(abnormal > normal) + P(tie) / 2.

    abnormal : [shape=(n_boot, n_abnormal)], normal : [shape=(n_boot, n_normal)].
    """
    out = np.empty(abnormal.shape[0])
    for i, (a, b) in enumerate(zip(abnormal, normal)):
        diff = a[:, None] - b[None, :]
        out[i] = np.mean(diff > 0) + 0.5 * np.mean(diff == 0)
    return out


def auc_interval_widths(
    y_true,
    scores,
    *,
    sizes,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Bootstrap interval of the AUC for hypothetical test sets of ``sizes`` clips.

    For each size ``n`` the normal and the abnormal clips are drawn with
    replacement from the observed scores, each class keeping its observed share
    of the ``n`` clips (at least one clip each); the interval is the percentile
    interval of the ``n_boot`` AUCs. At the observed size this is the ordinary
    stratified bootstrap interval.

    Parameters
    ----------
    y_true : array-like [shape=(n_clips,)]
        ``"abnormal"``/1 or ``"normal"``/0 per test clip.
    scores : array-like [shape=(n_clips,)]
        Anomaly scores, higher = more anomalous.
    sizes : iterable of int >= 2
        Test-set sizes (clips) to evaluate.
    n_boot : int >= 10, default=500
        Bootstrap draws per size.
    level : float in (0, 1), default=0.95
        Coverage of the interval.
    seed : int, default=0
        Seed of the draws; the same seed gives the same table.

    Returns
    -------
    widths : pd.DataFrame
        One row per size: ``n_test``, ``n_normal``, ``n_abnormal``, ``auc_lo``,
        ``auc_hi`` and ``width`` (``auc_hi - auc_lo``, in AUC units).
    """
    y = _labels(y_true)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ParameterError(f"y_true has {y.size} labels but scores has {s.size} values")
    if not np.isfinite(s).all():
        raise ParameterError("scores contain NaN/inf; expected finite anomaly scores")
    abnormal, normal = s[y == 1], s[y == 0]
    if abnormal.size == 0 or normal.size == 0:
        raise ParameterError("need both normal and abnormal clips to bootstrap an AUC")
    check_int("n_boot", n_boot, low=10)
    if not 0 < level < 1:
        raise ParameterError(f"level={level!r}; expected a value in (0, 1)")
    sizes = [int(n) for n in sizes]
    if not sizes or min(sizes) < 2:
        raise ParameterError(f"sizes={sizes!r}; expected test-set sizes of at least 2 clips")
    share = abnormal.size / s.size
    rng = np.random.default_rng(seed)
    tail = 100 * (1 - level) / 2
    rows = []
    for n in sizes:
        n_abnormal = min(max(int(round(n * share)), 1), n - 1)
        n_normal = n - n_abnormal
        draws_a = rng.choice(abnormal, size=(n_boot, n_abnormal), replace=True)
        draws_n = rng.choice(normal, size=(n_boot, n_normal), replace=True)
        aucs = _auc_rows(draws_a, draws_n)
        lo, hi = np.percentile(aucs, [tail, 100 - tail])
        rows.append({"n_test": n, "n_normal": n_normal, "n_abnormal": n_abnormal,
                     "auc_lo": float(lo), "auc_hi": float(hi), "width": float(hi - lo)})
    return pd.DataFrame(rows)


def clips_needed(half_width: float, n_test: int, *, target: float) -> int:
    """Test clips needed to shrink an interval's half-width to ``target``.

    Interval widths of an AUC fall roughly as ``1 / sqrt(n)``, so
    ``n_needed = n_test * (half_width / target) ** 2``, rounded up.

    Parameters
    ----------
    half_width : float > 0
        Half the width of the interval measured on ``n_test`` clips.
    n_test : int >= 1
        Test clips behind that interval.
    target : float > 0
        Wanted half-width, e.g. a difference that should be told from zero.

    Returns
    -------
    n : int
        At least ``n_test`` clips when the target is narrower than now,
        fewer when it is wider.
    """
    if not (half_width > 0 and math.isfinite(half_width)):
        raise ParameterError(f"half_width={half_width!r}; expected a finite value > 0")
    if not (target > 0 and math.isfinite(target)):
        raise ParameterError(f"target={target!r}; expected a finite value > 0")
    if int(n_test) < 1:
        raise ParameterError(f"n_test={n_test!r}; expected at least 1 clip")
    return int(math.ceil(int(n_test) * (half_width / target) ** 2))
