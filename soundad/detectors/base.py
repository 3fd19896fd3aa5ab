"""What the quantile-offset detectors share: ``offset_``, ``decision_function``, ``predict`` (chapter 04)."""

from __future__ import annotations

import numpy as np

from soundad.params import Interval

__all__ = ["CONTAMINATION", "QuantileOffsetMixin"]


class QuantileOffsetMixin:
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


#: Allowed values of ``contamination``: a float in (0, 0.5].
CONTAMINATION = [Interval(float, 0, 0.5, closed="right")]

