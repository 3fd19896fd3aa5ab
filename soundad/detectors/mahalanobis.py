"""Mahalanobis distance to one (shrunk) Gaussian of the normal windows (chapter 04)."""

from __future__ import annotations

from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.covariance import EmpiricalCovariance, LedoitWolf
from sklearn.utils.validation import check_is_fitted

from soundad.detectors.base import CONTAMINATION, QuantileOffsetMixin
from soundad.detectors.checks import validate_features
from soundad.errors import ParameterError
from soundad.params import Options, check_params

__all__ = ["MahalanobisDetector"]


class MahalanobisDetector(QuantileOffsetMixin, OutlierMixin, BaseEstimator):
    """Distance to one Gaussian fitted to the normal windows.

    ``score_samples`` is minus the squared Mahalanobis distance to the mean
    (higher = more normal). The covariance is shrunk towards a scaled identity
    (Ledoit-Wolf) by default, so that it stays invertible when there are more
    feature dimensions than training windows.

    Parameters
    ----------
    covariance : {"ledoit_wolf", "empirical"}, default="ledoit_wolf"
        Covariance estimator. "empirical" needs many more windows than
        dimensions.
    contamination : float in (0, 0.5], default=0.1
        Fraction of training windows flagged by ``predict``; sets ``offset_``.

    Attributes
    ----------
    covariance_estimator_ : sklearn.covariance.EmpiricalCovariance
        The fitted estimator (``LedoitWolf`` is a subclass).
    offset_ : float
    n_features_in_ : int
    """

    parameter_rules = {
        "covariance": [Options("ledoit_wolf", "empirical")],
        "contamination": CONTAMINATION,
    }

    def __init__(self, *, covariance="ledoit_wolf", contamination=0.1):
        self.covariance = covariance
        self.contamination = contamination

    def fit(self, X, y=None):
        """Estimate the mean and (shrunk) covariance of the normal windows.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
        y : ignored

        Returns
        -------
        self
        """
        check_params(self)
        X = validate_features(self, X, reset=True)
        if X.shape[0] < 2:
            raise ParameterError(
                f"MahalanobisDetector needs at least 2 training windows, got n_samples={X.shape[0]}."
            )
        if self.covariance == "ledoit_wolf":
            estimator = LedoitWolf()
        else:
            estimator = EmpiricalCovariance()
        self.covariance_estimator_ = estimator.fit(X)
        self._set_offset(X)
        return self

    def score_samples(self, X):
        """Minus the squared Mahalanobis distance of each window.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        scores : np.ndarray [shape=(n_samples,)] of float
        """
        check_is_fitted(self, "covariance_estimator_")
        X = validate_features(self, X, reset=False)
        return -self.covariance_estimator_.mahalanobis(X)

