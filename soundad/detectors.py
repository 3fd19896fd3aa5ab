"""One-class detectors on window features (chapter 04, ``notebooks/04_detectors``).

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
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, TransformerMixin
from sklearn.covariance import EmpiricalCovariance, LedoitWolf
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from soundad.errors import ParameterError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _sk_validate_data = None

__all__ = [
    "DETECTORS",
    "DEFAULT_PARAMS",
    "ClampedPCA",
    "FiniteCheck",
    "GaussianMixtureDetector",
    "KNNDetector",
    "MahalanobisDetector",
    "OneClassSVMDetector",
    "anomaly_scores",
    "check_finite",
    "clip_scores",
    "make_detector",
]

#: Names accepted by :func:`make_detector`.
DETECTORS = ("gmm", "ocsvm", "knn", "mahalanobis", "iforest")

#: Defaults :func:`make_detector` uses for each detector (override with ``**params``).
#: They are chosen to work from a few hundred windows of 1280-d features up to
#: tens of thousands of windows: diagonal covariances for the GMM, a shrunk
#: (Ledoit-Wolf) covariance for Mahalanobis, and at most 10 000 training
#: windows for the OC-SVM, whose fit time grows faster than quadratically.
DEFAULT_PARAMS = {
    "gmm": {"n_components": 4, "covariance_type": "diag", "reg_covar": 1e-3},
    "ocsvm": {"kernel": "rbf", "nu": 0.1, "gamma": "scale", "max_samples": 10_000},
    "knn": {"n_neighbors": 5},
    "mahalanobis": {"covariance": "ledoit_wolf"},
    "iforest": {"n_estimators": 200},
}


# --------------------------------------------------------------------------- #
# input checks
# --------------------------------------------------------------------------- #
def _list_head(indices: np.ndarray, limit: int = 5) -> str:
    head = ", ".join(str(int(i)) for i in indices[:limit])
    return head + (", ..." if len(indices) > limit else "")


def check_finite(X: np.ndarray, *, name: str = "X") -> None:
    """Raise :class:`~soundad.errors.ParameterError` unless every value of ``X`` is finite.

    Parameters
    ----------
    X : np.ndarray [shape=(n_samples, n_features)]
        Feature matrix, one row per window.
    name : str, default="X"
        How to call ``X`` in the message.

    Raises
    ------
    ParameterError
        If ``X`` holds NaN or inf; the message names the offending rows
        (windows) and columns (feature dimensions).
    """
    X = np.asarray(X)
    if X.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(X)
    if not bad.any():
        return
    kinds = []
    if np.isnan(X).any():
        kinds.append("NaN")
    if np.isinf(X).any():
        kinds.append("inf")
    if X.ndim == 2:
        rows = np.flatnonzero(bad.any(axis=1))
        cols = np.flatnonzero(bad.any(axis=0))
        where = (
            f"in {len(rows)} of {X.shape[0]} rows (windows {_list_head(rows)}) and "
            f"{len(cols)} of {X.shape[1]} columns (feature dimensions {_list_head(cols)})"
        )
    else:
        where = f"at {int(bad.sum())} of {X.size} positions"
    raise ParameterError(
        f"{name} contains {' and '.join(kinds)} {where}; expected finite features. "
        "Check the feature extraction (e.g. a silent clip or a division by zero)."
    )


def _validate(estimator, X, *, reset: bool, allow_nd: bool = False) -> np.ndarray:
    """Validate ``X`` (and set/check ``n_features_in_``), then check it is finite."""
    params = dict(reset=reset, dtype=[np.float64, np.float32], allow_nd=allow_nd)
    if _sk_validate_data is not None:
        X = _sk_validate_data(estimator, X, ensure_all_finite=False, **params)
    else:  # pragma: no cover - scikit-learn < 1.6
        X = estimator._validate_data(X, force_all_finite=False, **params)
    check_finite(X)
    return X


class FiniteCheck(TransformerMixin, BaseEstimator):
    """Pass features through unchanged, after checking that they are finite.

    The first step of every :func:`make_detector` pipeline, so that a NaN or
    inf in the features is reported with its rows and columns before any
    scaler or detector trips over it.
    """

    def fit(self, X, y=None):
        _validate(self, X, reset=True)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        return _validate(self, X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags


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

    _parameter_constraints = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
        "whiten": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=None, *, whiten=False, random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, X, y=None):
        self._validate_params()
        X = _validate(self, X, reset=True)
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
        X = _validate(self, X, reset=False)
        return self.pca_.transform(X)


# --------------------------------------------------------------------------- #
# detectors
# --------------------------------------------------------------------------- #
class _QuantileOffsetMixin:
    """``offset_`` from the training scores, ``decision_function`` and ``predict``.

    Like scikit-learn's outlier detectors: ``decision_function = score_samples
    - offset_`` is negative for outliers, ``predict`` is -1 for outliers and +1
    for inliers, and ``offset_`` is the ``contamination`` quantile of the
    training scores (so that this fraction of training windows is flagged).
    The offset only matters for ``predict``; AUC uses ``score_samples``.
    """

    def _set_offset(self, X):
        self.offset_ = float(np.percentile(self.score_samples(X), 100.0 * self.contamination))

    def decision_function(self, X):
        """Shifted scores, negative for outliers: ``score_samples(X) - offset_``.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        decision : np.ndarray [shape=(n_samples,)]
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers (normal), -1 for outliers.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        labels : np.ndarray [shape=(n_samples,)] of int
        """
        decision = self.decision_function(X)
        return np.where(decision >= 0, 1, -1)


_CONTAMINATION = [Interval(Real, 0, 0.5, closed="right")]


class GaussianMixtureDetector(_QuantileOffsetMixin, OutlierMixin, BaseEstimator):
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

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "contamination": _CONTAMINATION,
        "random_state": ["random_state"],
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
        self._validate_params()
        X = _validate(self, X, reset=True)
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
        X = _validate(self, X, reset=False)
        return self.gmm_.score_samples(X)


class OneClassSVMDetector(OutlierMixin, BaseEstimator):
    """One-class SVM fitted on at most ``max_samples`` training windows.

    A thin wrapper of :class:`sklearn.svm.OneClassSVM`. Its fit time grows
    faster than quadratically with the number of windows (about a minute for
    10 000 windows of 512 features on one core), so larger training sets are
    subsampled at random (seeded by ``random_state``). ``score_samples``,
    ``decision_function``, ``predict`` and ``offset_`` are the SVM's own.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
    nu : float in (0, 1], default=0.1
        Upper bound on the fraction of training windows outside the boundary.
    gamma : "scale", "auto" or float > 0, default="scale"
        RBF width; "scale" = 1 / (n_features * X.var()).
    max_samples : int >= 1 or None, default=10_000
        Most training windows used; ``None`` uses all.
    random_state : int or None, default=None
        Seed of the subsample.

    Attributes
    ----------
    svm_ : sklearn.svm.OneClassSVM
    offset_ : float
    n_train_used_ : int
        Number of training windows the SVM saw.
    n_features_in_ : int
    """

    _parameter_constraints = {
        "kernel": [StrOptions({"rbf", "linear", "poly", "sigmoid"})],
        "nu": [Interval(Real, 0, 1, closed="right")],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0, None, closed="neither")],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, kernel="rbf", nu=0.1, gamma="scale", max_samples=10_000, random_state=None):
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the SVM on (a seeded subsample of) the normal training windows.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = _validate(self, X, reset=True)
        if self.max_samples is not None and X.shape[0] > self.max_samples:
            rng = np.random.default_rng(self.random_state)
            keep = np.sort(rng.choice(X.shape[0], size=self.max_samples, replace=False))
            X = X[keep]
        self.n_train_used_ = int(X.shape[0])
        self.svm_ = OneClassSVM(kernel=self.kernel, nu=self.nu, gamma=self.gamma).fit(X)
        self.offset_ = float(self.svm_.offset_[0])
        return self

    def score_samples(self, X):
        """Signed distance-like SVM score (higher = more normal).

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        scores : np.ndarray [shape=(n_samples,)] of float
        """
        check_is_fitted(self, "svm_")
        X = _validate(self, X, reset=False)
        return self.svm_.score_samples(X)

    def decision_function(self, X):
        """``score_samples(X) - offset_``, negative outside the boundary."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 inside the boundary (normal), -1 outside."""
        return np.where(self.decision_function(X) >= 0, 1, -1)


class KNNDetector(_QuantileOffsetMixin, OutlierMixin, BaseEstimator):
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

    _parameter_constraints = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": [str],
        "contamination": _CONTAMINATION,
        "n_jobs": [Integral, None],
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
        self._validate_params()
        X = _validate(self, X, reset=True)
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
        X = _validate(self, X, reset=False)
        distances, _ = self.nn_.kneighbors(X)
        return -distances.mean(axis=1)


class MahalanobisDetector(_QuantileOffsetMixin, OutlierMixin, BaseEstimator):
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

    _parameter_constraints = {
        "covariance": [StrOptions({"ledoit_wolf", "empirical"})],
        "contamination": _CONTAMINATION,
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
        self._validate_params()
        X = _validate(self, X, reset=True)
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
        X = _validate(self, X, reset=False)
        return -self.covariance_estimator_.mahalanobis(X)


# --------------------------------------------------------------------------- #
# factory and scores
# --------------------------------------------------------------------------- #
def _build_estimator(name: str, seed, params: dict):
    if name == "gmm":
        return GaussianMixtureDetector(random_state=seed, **params)
    if name == "ocsvm":
        return OneClassSVMDetector(random_state=seed, **params)
    if name == "knn":
        return KNNDetector(**params)
    if name == "mahalanobis":
        return MahalanobisDetector(**params)
    return IsolationForest(random_state=seed, **params)


def make_detector(name: str, *, pca=None, seed=0, **params) -> Pipeline:
    """Build a one-class detector pipeline: check_finite -> scale -> [pca] -> detector.

    Parameters
    ----------
    name : {"gmm", "ocsvm", "knn", "mahalanobis", "iforest"}
        Which detector; see :data:`DETECTORS`.
    pca : int >= 1, float in (0, 1) or None, default=None
        Optional PCA after standardising: number of components (clamped,
        with a warning, to ``min(n_windows, n_features)`` of the training set)
        or fraction of variance to keep. ``None`` skips the PCA.
    seed : int or None, default=0
        Seed of every random step (GMM initialisation, OC-SVM subsample,
        isolation forest, randomised PCA).
    **params
        Detector parameters overriding :data:`DEFAULT_PARAMS`, e.g.
        ``n_components=8`` for "gmm" or ``nu=0.05`` for "ocsvm".

    Returns
    -------
    detector : sklearn.pipeline.Pipeline
        Unfitted. Steps: ``"check_finite"``, ``"scale"``, (``"pca"``),
        ``"detector"``. ``detector.score_samples`` is higher for more normal
        windows; use :func:`anomaly_scores` for the opposite.

    Raises
    ------
    ParameterError
        Unknown ``name``, or a parameter the detector does not take.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(300, 16))
    >>> det = make_detector("mahalanobis").fit(X)
    >>> anomaly_scores(det, X[:3]).shape
    (3,)
    """
    if name not in DETECTORS:
        raise ParameterError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
    merged = {**DEFAULT_PARAMS[name], **params}
    if name == "iforest":
        allowed = set(IsolationForest().get_params())
    else:
        allowed = set(_build_estimator(name, seed, {}).get_params())
    unknown = sorted(set(merged) - allowed - {"random_state"})
    if unknown:
        raise ParameterError(
            f"detector {name!r} takes no parameter(s) {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(allowed - {'random_state'}))}"
        )
    if "random_state" in merged:
        seed = merged.pop("random_state")
    steps = [("check_finite", FiniteCheck()), ("scale", StandardScaler())]
    if pca is not None:
        steps.append(("pca", ClampedPCA(pca, random_state=seed)))
    steps.append(("detector", _build_estimator(name, seed, merged)))
    return Pipeline(steps)


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

