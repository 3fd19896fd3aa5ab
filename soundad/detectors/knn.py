"""k-nearest-neighbour distance detector (chapter 04)."""

from __future__ import annotations

from numbers import Integral

from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from soundad.detectors.base import CONTAMINATION, QuantileOffsetMixin
from soundad.detectors.checks import validate_features
from soundad.errors import ParameterError
from soundad.params import InstanceOf, Interval, check_params

__all__ = ["KNNDetector"]


class KNNDetector(QuantileOffsetMixin, OutlierMixin, BaseEstimator):
    """k-nearest-neighbour distance detector.

    ``score_samples`` is minus the mean Euclidean distance from each window to
    its ``n_neighbors`` nearest *training* windows (higher = more normal).
    Note: a training window scored again finds itself at distance 0 among its
    neighbours, so training scores look a little more normal than new ones.

    Parameters
    ----------
    n_neighbors : int >= 1, default=5
        Must be smaller than the number of training windows.
    metric : str, default="euclidean"
        Any metric :class:`sklearn.neighbors.NearestNeighbors` accepts.
    contamination : float in (0, 0.5], default=0.1
        Fraction of training windows flagged by ``predict``; sets ``offset_``.
    n_jobs : int or None, default=None
        Parallel jobs for the neighbour search.

    Attributes
    ----------
    nn_ : sklearn.neighbors.NearestNeighbors
    offset_ : float
    n_features_in_ : int
    """

    parameter_rules = {
        "n_neighbors": [Interval(int, 1, None, closed="left")],
        "metric": [InstanceOf((str,), "a metric name (str)")],
        "contamination": CONTAMINATION,
        "n_jobs": [InstanceOf((Integral,), "an integer"), None],
    }

    def __init__(self, *, n_neighbors=5, metric="euclidean", contamination=0.1, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.contamination = contamination
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Store the normal training windows in a neighbour index.

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
        if self.n_neighbors >= X.shape[0]:
            raise ParameterError(
                f"KNNDetector: n_neighbors={self.n_neighbors} must be smaller than the "
                f"number of training windows (n_samples={X.shape[0]})."
            )
        self.nn_ = NearestNeighbors(
            n_neighbors=self.n_neighbors, metric=self.metric, n_jobs=self.n_jobs
        ).fit(X)
        self._set_offset(X)
        return self

    def score_samples(self, X):
        """Minus the mean distance to the ``n_neighbors`` nearest training windows.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        scores : np.ndarray [shape=(n_samples,)] of float
        """
        check_is_fitted(self, "nn_")
        X = validate_features(self, X, reset=False)
        distances, _ = self.nn_.kneighbors(X)
        return -distances.mean(axis=1)

