"""The detector registry: names, default parameters and :func:`make_detector` (chapter 04)."""

from __future__ import annotations

from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from soundad.detectors.checks import FiniteCheck
from soundad.detectors.gmm import GaussianMixtureDetector
from soundad.detectors.knn import KNNDetector
from soundad.detectors.mahalanobis import MahalanobisDetector
from soundad.detectors.ocsvm import OneClassSVMDetector
from soundad.detectors.pca import ClampedPCA
from soundad.errors import ParameterError

__all__ = ["DEFAULT_PARAMS", "DETECTORS", "make_detector"]

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

