"""PCA that keeps at most what the training windows allow (chapter 04)."""

from __future__ import annotations

import warnings
from numbers import Integral

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from soundad.detectors.checks import validate_features
from soundad.params import BOOLEAN, RANDOM_STATE, Interval, check_params

__all__ = ["ClampedPCA"]


class ClampedPCA(TransformerMixin, BaseEstimator):
    """PCA whose number of components is clamped to what the training set allows.

    A PCA fitted on ``n_samples`` windows of ``n_features`` dimensions can
    keep at most ``min(n_samples, n_features)`` components. Asking for more
    (easy when one setting serves both a toy run and the full data) warns and
    keeps the maximum instead of failing.

    Parameters
    ----------
    n_components : int >= 1 or float in (0, 1), default=None
        Number of components (int) or fraction of variance to keep (float).
        ``None`` keeps all ``min(n_samples, n_features)`` components.
    whiten : bool, default=False
        Passed to :class:`sklearn.decomposition.PCA`.
    random_state : int or None, default=None
        Passed to :class:`sklearn.decomposition.PCA` (randomised solvers).

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The fitted PCA.
    n_components_ : int
        Number of components kept.
    n_features_in_ : int
        Number of input features seen in ``fit``.
    """

    parameter_rules = {
        "n_components": [
            Interval(int, 1, None, closed="left"),
            Interval(float, 0, 1, closed="neither"),
            None,
        ],
        "whiten": [BOOLEAN],
        "random_state": [RANDOM_STATE],
    }

    def __init__(self, n_components=None, *, whiten=False, random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, X, y=None):
        check_params(self)
        X = validate_features(self, X, reset=True)
        n_samples, n_features = X.shape
        limit = min(n_samples, n_features)
        n = self.n_components
        if isinstance(n, Integral) and n > limit:
            warnings.warn(
                f"pca={n} components asked for, but {n_samples} training windows of "
                f"{n_features} features allow at most {limit}; keeping {limit}.",
                UserWarning,
                stacklevel=2,
            )
            n = limit
        self.pca_ = PCA(n_components=n, whiten=self.whiten, random_state=self.random_state)
        self.pca_.fit(X)
        self.n_components_ = int(self.pca_.n_components_)
        return self

    def transform(self, X):
        check_is_fitted(self, "pca_")
        X = validate_features(self, X, reset=False)
        return self.pca_.transform(X)

