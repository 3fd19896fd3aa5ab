"""One-class detectors on window features (chapter 04, ``notebooks/04_one_class_detectors``).

A detector is fitted on the features of *normal* training windows only and
then asked, for every test window, how normal it looks. Every detector here is
a scikit-learn estimator and keeps scikit-learn's meaning of ``score_samples``:
**higher = more normal** (a log-likelihood, minus a distance, ...).
Downstream code (clip scores, AUC, plots) wants the opposite, an *anomaly
score* where higher = more anomalous. :func:`anomaly_scores` is the one place
in soundad where that sign flips.

The pieces
----------
=================  =========================================================
``"gmm"``          :class:`GaussianMixtureDetector` (log-likelihood under a
                   Gaussian mixture)
``"ocsvm"``        :class:`OneClassSVMDetector` (scikit-learn's
                   ``OneClassSVM``, fitted on at most ``max_samples`` windows)
``"knn"``          :class:`KNNDetector` (minus the mean distance to the
                   ``n_neighbors`` nearest training windows)
``"mahalanobis"``  :class:`MahalanobisDetector` (minus the squared
                   Mahalanobis distance to one shrunk Gaussian)
``"iforest"``      scikit-learn's ``IsolationForest``
=================  =========================================================

:func:`make_detector` wraps any of them into a
:class:`~sklearn.pipeline.Pipeline` ``check_finite -> scale -> [pca] ->
detector``; :func:`clip_scores` pools window scores into one score per clip
(the mean, as in Müller et al. 2021).

Modules
-------
==================================  ==============================================
:mod:`~soundad.detectors.registry`  :data:`DETECTORS`, :data:`DEFAULT_PARAMS`,
                                    :func:`make_detector`
:mod:`~soundad.detectors.scores`    :func:`anomaly_scores` (the sign flip),
                                    :func:`clip_scores`, :func:`score_clips`
                                    (fit, score, pool: one detector's path)
:mod:`~soundad.detectors.checks`    :func:`check_finite`, :func:`validate_features`,
                                    :class:`FiniteCheck`
:mod:`~soundad.detectors.pca`       :class:`ClampedPCA`
:mod:`~soundad.detectors.base`      :class:`QuantileOffsetMixin`,
                                    :data:`CONTAMINATION`
one module per detector             ``gmm``, ``ocsvm``, ``knn``, ``mahalanobis``
==================================  ==============================================

Everything is importable from :mod:`soundad.detectors` itself.
"""

from __future__ import annotations

from soundad.detectors.base import CONTAMINATION, QuantileOffsetMixin
from soundad.detectors.checks import FiniteCheck, check_finite, validate_features
from soundad.detectors.gmm import GaussianMixtureDetector
from soundad.detectors.knn import KNNDetector
from soundad.detectors.mahalanobis import MahalanobisDetector
from soundad.detectors.ocsvm import OneClassSVMDetector
from soundad.detectors.pca import ClampedPCA
from soundad.detectors.registry import DEFAULT_PARAMS, DETECTORS, make_detector
from soundad.detectors.scores import anomaly_scores, clip_scores, score_clips

__all__ = [
    "CONTAMINATION",
    "DETECTORS",
    "DEFAULT_PARAMS",
    "ClampedPCA",
    "FiniteCheck",
    "GaussianMixtureDetector",
    "KNNDetector",
    "MahalanobisDetector",
    "OneClassSVMDetector",
    "QuantileOffsetMixin",
    "anomaly_scores",
    "check_finite",
    "clip_scores",
    "make_detector",
    "score_clips",
    "validate_features",
]
