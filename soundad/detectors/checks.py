"""Input checks shared by every detector (chapter 04): finite features, fitted shapes.

:func:`check_finite` names the rows (windows) and columns (feature dimensions)
of any NaN or inf; :func:`validate_features` is what every detector's ``fit``
and ``score_samples`` call on ``X``; :class:`FiniteCheck` is the first step of
every :func:`soundad.detectors.make_detector` pipeline.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from soundad.errors import ParameterError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _sk_validate_data = None

__all__ = ["FiniteCheck", "check_finite", "validate_features"]


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


def validate_features(estimator, X, *, reset: bool, allow_nd: bool = False) -> np.ndarray:
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
        validate_features(self, X, reset=True)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        return validate_features(self, X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags


