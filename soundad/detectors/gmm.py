"""Gaussian mixture detector: log-likelihood of each window (chapter 04)."""

from __future__ import annotations

from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from soundad.detectors.base import CONTAMINATION, QuantileOffsetMixin
from soundad.detectors.checks import validate_features
from soundad.errors import ParameterError
from soundad.params import RANDOM_STATE, Interval, Options, check_params

__all__ = ["GaussianMixtureDetector"]


class GaussianMixtureDetector(QuantileOffsetMixin, OutlierMixin, BaseEstimator):
    """Gaussian mixture model as a one-class detector.

    ``score_samples`` is the log-likelihood of each window under a Gaussian
    mixture fitted to the normal training windows (higher = more normal).

    Parameters
    ----------
    n_components : int >= 1, default=4
        Number of mixture components. The training set needs at least as
        many windows.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
        Covariance of each component. "diag" scales to high-dimensional
        features (1280-d) with few windows; "full" needs many more windows
        than dimensions (or a PCA first).
    reg_covar : float >= 0, default=1e-3
        Added to the covariance diagonals (features are standardised first,
        so this is relative to unit variance).
    max_iter : int >= 1, default=200
        EM iterations.
    n_init : int >= 1, default=1
        EM restarts; the best is kept.
    contamination : float in (0, 0.5], default=0.1
        Fraction of training windows flagged by ``predict``; sets ``offset_``.
    random_state : int or None, default=None
        Seed of the k-means initialisation.

    Attributes
    ----------
    gmm_ : sklearn.mixture.GaussianMixture
        The fitted mixture.
    n_iter_ : int
        EM iterations of the best run.
    offset_ : float
        ``contamination`` quantile of the training log-likelihoods.
    n_features_in_ : int

    See Also
    --------
    sklearn.mixture.GaussianMixture

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> det = GaussianMixtureDetector(n_components=2, random_state=0).fit(X)
    >>> bool(det.score_samples([[0, 0, 0]])[0] > det.score_samples([[9, 9, 9]])[0])
    True
    """

    parameter_rules = {
        "n_components": [Interval(int, 1, None, closed="left")],
        "covariance_type": [Options("full", "tied", "diag", "spherical")],
        "reg_covar": [Interval(float, 0, None, closed="left")],
        "max_iter": [Interval(int, 1, None, closed="left")],
        "n_init": [Interval(int, 1, None, closed="left")],
        "contamination": CONTAMINATION,
        "random_state": [RANDOM_STATE],
    }

    def __init__(
        self,
        *,
        n_components=4,
        covariance_type="diag",
        reg_covar=1e-3,
        max_iter=200,
        n_init=1,
        contamination=0.1,
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the mixture to normal training windows.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
            Features of normal windows.
        y : ignored

        Returns
        -------
        self
        """
        check_params(self)
        X = validate_features(self, X, reset=True)
        if X.shape[0] < self.n_components:
            raise ParameterError(
                f"GaussianMixtureDetector: n_components={self.n_components} needs at least "
                f"as many training windows, got n_samples={X.shape[0]}. Use fewer components or "
                "more training clips."
            )
        self.gmm_ = GaussianMixture(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            random_state=self.random_state,
        ).fit(X)
        self.n_iter_ = int(self.gmm_.n_iter_)
        self._set_offset(X)
        return self

    def score_samples(self, X):
        """Log-likelihood of each window (higher = more normal).

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        scores : np.ndarray [shape=(n_samples,)] of float
        """
        check_is_fitted(self, "gmm_")
        X = validate_features(self, X, reset=False)
        return self.gmm_.score_samples(X)

