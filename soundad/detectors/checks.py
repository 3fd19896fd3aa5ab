"""Input checks shared by every detector (chapter 04): finite features, fitted shapes.

:func:`check_finite` names the rows (windows) and columns (feature dimensions)
of any NaN or inf; :func:`validate_features` is what every detector's ``fit``
and ``score_samples`` call on ``X``; :class:`FiniteCheck` is the first step of
every :func:`soundad.detectors.make_detector` pipeline.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soundad.errors import ParameterError

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
    """Check ``X`` for a detector's ``fit`` (``reset=True``) or scoring (``reset=False``).

    scikit-learn's public ``validate_data`` converts ``X`` to a float array
    and sets (``reset=True``) or checks ``n_features_in_`` (and feature names);
    then :func:`check_finite` names any NaN or inf.

    Parameters
    ----------
    estimator : scikit-learn estimator
        The estimator whose ``n_features_in_`` is set or checked.
    X : array-like [shape=(n_samples, n_features)]
    reset : bool
        True in ``fit``, False afterwards.
    allow_nd : bool, default=False
        Accept arrays with more than two dimensions.

    Returns
    -------
    X : np.ndarray of float64 or float32
    """
    X = validate_data(
        estimator, X, reset=reset, dtype=[np.float64, np.float32], allow_nd=allow_nd, ensure_all_finite=False
    )
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


