"""From detector scores to anomaly scores, and from windows to clips (chapter 04).

:func:`score_clips` is the whole path of one detector in chapters 03-05: fit on
the normal training windows, score the test windows, pool them per clip.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.detectors.checks import check_finite
from soundad.detectors.registry import make_detector
from soundad.errors import ParameterError

__all__ = ["anomaly_scores", "clip_scores", "score_clips"]


def anomaly_scores(detector, X) -> np.ndarray:
    """Anomaly score of each window: higher = more anomalous.

    This is **the one place where the sign flips**: detectors keep
    scikit-learn's ``score_samples`` (higher = more normal) and everything
    downstream of this function (clip scores, AUC, plots) uses
    ``-score_samples``.

    Parameters
    ----------
    detector : fitted estimator with ``score_samples``
        A :func:`make_detector` pipeline or an autoencoder detector.
    X : array-like [shape=(n_windows, ...)]
        Features (or mel windows, for the conv autoencoder).

    Returns
    -------
    scores : np.ndarray [shape=(n_windows,)] of float64
    """
    return -np.asarray(detector.score_samples(X), dtype=np.float64)


def clip_scores(window_scores, clip_ids, *, how: str = "mean") -> pd.Series:
    """Pool window anomaly scores into one score per clip.

    Parameters
    ----------
    window_scores : array-like [shape=(n_windows,)]
        Anomaly scores (higher = more anomalous), e.g. from :func:`anomaly_scores`.
    clip_ids : array-like [shape=(n_windows,)] of str
        The clip each window comes from.
    how : {"mean", "max"}, default="mean"
        "mean" is the rule of Müller et al. (2021); "max" reacts to a short
        anomalous event in an otherwise normal clip.

    Returns
    -------
    scores : pd.Series [shape=(n_clips,)]
        Indexed by clip id (sorted), named ``"score"``.
    """
    if how not in ("mean", "max"):
        raise ParameterError(f"how={how!r}; expected 'mean' or 'max'")
    scores = np.asarray(window_scores, dtype=np.float64).reshape(-1)
    ids = np.asarray(clip_ids).reshape(-1)
    if scores.shape != ids.shape:
        raise ParameterError(
            f"window_scores has {scores.size} values but clip_ids has {ids.size}; "
            "expected one clip id per window"
        )
    if scores.size == 0:
        raise ParameterError("window_scores is empty; expected at least one window")
    check_finite(scores[:, None], name="window_scores")
    series = pd.Series(scores, index=pd.Index(ids, name="clip_id"))
    pooled = series.groupby(level=0, sort=True).agg(how)
    pooled.name = "score"
    return pooled



def score_clips(name: str, features, clips: pd.DataFrame, *, seed: int = 0, how: str = "mean",
                **params) -> pd.Series:
    """Fit one detector on the normal training windows and score every test clip.

    Parameters
    ----------
    name : str
        A detector of :data:`DETECTORS`, e.g. ``"gmm"``.
    features : WindowFeatures
        Window features with a ``split(clips)`` method
        (:class:`soundad.extract.WindowFeatures`).
    clips : pd.DataFrame
        Has ``clip_id``, ``split`` and ``label`` for every clip of ``features``.
    seed : int, default=0
        ``random_state`` of the detector (and its PCA).
    how : {"mean", "max"}, default="mean"
        How :func:`clip_scores` pools a clip's windows.
    **params
        Detector parameters for :func:`make_detector` (e.g. ``n_components=4``, ``pca=0.95``).

    Returns
    -------
    scores : pd.Series
        Anomaly score per test clip (higher = more anomalous), indexed by clip id,
        what :func:`soundad.evaluate.clip_score_table` reads.
    """
    train, test = features.split(clips)
    detector = make_detector(name, seed=seed, **params).fit(train.features)
    return clip_scores(anomaly_scores(detector, test.features), test.clip_ids, how=how)
