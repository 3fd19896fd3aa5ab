"""AUC and pAUC of many weightings of the same clips at once, and stratified bootstrap counts.

A bootstrap resample of a test set is a vector of clip weights (how often
each clip was drawn). :func:`weighted_auc_pauc` computes the ROC curve of
every weighting at once with numpy, so 1000 resamples of hundreds of groups
stay cheap; :func:`stratified_weights` draws the weights with normal and
abnormal clips resampled separately. Used by :mod:`soundad.uncertainty` and
:func:`soundad.evaluate.evaluate_scores`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_weights", "weighted_auc_pauc"]


def weighted_auc_pauc(y, scores, weights, *, max_fpr: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """AUC and DCASE pAUC of many weightings of the same clips at once.

    Parameters
    ----------
    y : array-like [shape=(n_clips,)]
        1 for abnormal, 0 for normal.
    scores : array-like [shape=(n_clips,)]
        Anomaly scores, higher = more anomalous.
    weights : array-like [shape=(n_weightings, n_clips)]
        Non-negative clip weights (bootstrap counts); all ones gives the
        plain AUC/pAUC of :func:`soundad.evaluate.auc_pauc`.
    max_fpr : float in (0, 1], default=0.1

    Returns
    -------
    auc, pauc : np.ndarray [shape=(n_weightings,)]
        NaN where a weighting leaves no weight on one class.
    """
    y = np.asarray(y, dtype=bool).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[:, order]
    # one ROC point per distinct score, as roc_curve(drop_intermediate=False)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    tp = np.cumsum(w * y, axis=1)[:, last]
    fp = np.cumsum(w * ~y, axis=1)[:, last]
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = tp / tp[:, -1:]
        fpr = fp / fp[:, -1:]
    zeros = np.zeros((w.shape[0], 1))
    tpr = np.hstack([zeros, tpr])
    fpr = np.hstack([zeros, fpr])
    x0, x1, y0, y1 = fpr[:, :-1], fpr[:, 1:], tpr[:, :-1], tpr[:, 1:]
    auc = np.sum((x1 - x0) * (y0 + y1) / 2, axis=1)
    xe = np.minimum(x1, max_fpr)
    inside = x0 < max_fpr
    with np.errstate(invalid="ignore", divide="ignore"):
        ye = np.where(x1 > x0, y0 + (y1 - y0) * (xe - x0) / np.where(x1 > x0, x1 - x0, 1.0), y1)
    pauc = np.sum(np.where(inside, (xe - x0) * (y0 + ye) / 2, 0.0), axis=1) / max_fpr
    bad = ~(np.isfinite(tpr[:, -1]) & np.isfinite(fpr[:, -1]))
    auc[bad] = np.nan
    pauc[bad] = np.nan
    return auc, pauc


def stratified_weights(y: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap counts [shape=(n_boot, n_clips)], each class resampled to its own size."""
    weights = np.zeros((n_boot, y.size))
    for cls in (0, 1):
        where = np.flatnonzero(y == cls)
        if where.size:
            weights[:, where] = rng.multinomial(where.size, np.full(where.size, 1.0 / where.size), size=n_boot)
    return weights
