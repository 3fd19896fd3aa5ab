"""Intervals for AUC and pAUC, and paired comparisons of methods (chapters 04 and 06).

Everything here is a *seeded, stratified bootstrap over test clips*: normal
and abnormal clips are resampled separately (with replacement, each class
keeps its size), so every resample has both classes and the same class
balance as the test set. A resample is a vector of clip weights (how often
each clip was drawn); the ROC curves of all resamples are computed at once
(:mod:`soundad.weighted_roc`, whose two functions are re-exported here),
which makes 1000 resamples of hundreds of groups cheap.

- :func:`bootstrap_ci`: percentile interval of one AUC or pAUC;
- :func:`delong_ci`: DeLong's normal-approximation interval of one AUC;
- :func:`format_ci`: ``"0.72 [0.55, 0.88]"``;
- :func:`mean_metric_ci`: mean AUC/pAUC over groups and repeats per method,
  with an interval (used by the summaries): :func:`unit_bootstrap` (or
  :func:`unit_bootstraps`, both metrics) then :func:`aggregate_metric_ci`;
- :func:`compare`: paired comparison of two methods on the same test clips,
  returning a :class:`Comparison`.

How groups, repeats and clips enter :func:`compare` and :func:`mean_metric_ci`
-------------------------------------------------------------------------------
The groups (snr, machine, model_id) are strata: each is kept in every
resample and the estimate is the plain mean over the groups present. Within
a group the *clips* are resampled (stratified by label) once per resample,
and the same clip weights are used for every method and every repeat: the
repeats of ``run_grid`` split the same clips differently, so they are not
independent evidence and must not be treated as such. A clip that is in the
training part of a repeat simply does not appear in that repeat's test set.
The metric of a method is computed per (group, repeat) on the weighted test
clips and averaged over groups and repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from soundad.data.groups import GROUP_COLUMNS
from soundad.errors import DataError, ParameterError
from soundad.params import Options, check_int, check_number, check_value
from soundad.weighted_roc import stratified_weights, weighted_auc_pauc

__all__ = [
    "Comparison",
    "aggregate_metric_ci",
    "bootstrap_ci",
    "compare",
    "delong_ci",
    "format_ci",
    "mean_metric_ci",
    "paired_difference",
    "stratified_weights",
    "unit_bootstrap",
    "unit_bootstraps",
    "weighted_auc_pauc",
]

#: Columns of a scores table that describe one run's repeat (not a method).
REPEAT_COLUMN = "repeat"
_METRICS = ("auc", "pauc")


def _check_common(*, n_boot: int | None = None, level: float | None = None, metric: str | None = None,
                  max_fpr: float | None = None) -> None:
    """Check the arguments given (None: not an argument of the caller)."""
    if n_boot is not None:
        check_int("n_boot", n_boot, low=0)
    if level is not None:
        check_number("level", level, low=0, high=1, closed="neither")
    if metric is not None:
        check_value("metric", metric, Options(*_METRICS))
    if max_fpr is not None:
        check_number("max_fpr", max_fpr, low=0, high=1, closed="right")


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_ci(y_true, scores, *, metric: str = "auc", max_fpr: float = 0.1, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC or pAUC of one set of clip scores.

    Parameters
    ----------
    y_true : array-like [shape=(n_clips,)]
        1 or ``"abnormal"`` for anomalous clips, 0 or ``"normal"`` otherwise.
    scores : array-like [shape=(n_clips,)]
        Anomaly scores, higher = more anomalous.
    metric : {"auc", "pauc"}, default="auc"
    max_fpr : float in (0, 1], default=0.1
        pAUC range (DCASE definition, see :mod:`soundad.evaluate`).
    n_boot : int >= 0, default=1000
        Resamples; 0 gives ``(nan, nan)``.
    level : float in (0, 1), default=0.95
        Coverage of the interval.
    seed : int, default=0
        Seed of the resampling: the same seed gives the same interval.

    Returns
    -------
    lo, hi : float
        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
        metric over resamples in which normal and abnormal clips were drawn
        separately, each class keeping its size.

    Examples
    --------
    >>> lo, hi = bootstrap_ci([0, 0, 0, 1, 1, 1], [0.1, 0.4, 0.2, 0.3, 0.8, 0.9], n_boot=200)
    >>> 0 <= lo <= hi <= 1
    True
    """
    from soundad.evaluate import auc_pauc, binary_labels

    _check_common(n_boot=n_boot, level=level, metric=metric, max_fpr=max_fpr)
    auc_pauc(y_true, scores, max_fpr=max_fpr)  # validates labels, lengths, both classes
    if n_boot == 0:
        return float("nan"), float("nan")
    y = binary_labels(y_true)
    weights = stratified_weights(y, n_boot, np.random.default_rng(seed))
    auc, pauc = weighted_auc_pauc(y, scores, weights, max_fpr=max_fpr)
    return _interval(auc if metric == "auc" else pauc, level)


def delong_ci(y_true, scores, *, level: float = 0.95) -> tuple[float, float, float]:
    """AUC with DeLong's variance and its normal-approximation interval.

    Parameters
    ----------
    y_true, scores : array-like [shape=(n_clips,)]
        As in :func:`bootstrap_ci`.
    level : float in (0, 1), default=0.95

    Returns
    -------
    auc, lo, hi : float
        ``lo``/``hi`` are ``auc -/+ z * sqrt(var)`` clipped to [0, 1], with
        DeLong et al. (1988)'s variance from the structural components.
    """
    from scipy.stats import norm

    from soundad.evaluate import auc_pauc, binary_labels

    _check_common(level=level)
    auc, _ = auc_pauc(y_true, scores)
    y = binary_labels(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    pos, neg = s[y], s[~y]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = (v10.var(ddof=1) / pos.size if pos.size > 1 else 0.0) + (v01.var(ddof=1) / neg.size if neg.size > 1 else 0.0)
    half = norm.ppf((1 + level) / 2) * np.sqrt(var)
    return float(auc), float(max(0.0, auc - half)), float(min(1.0, auc + half))


def format_ci(value, lo, hi, *, digits: int = 2) -> str:
    """``"0.72 [0.55, 0.88]"``: a value and its interval; ``"0.72"`` when the bounds are NaN.

    Parameters
    ----------
    value, lo, hi : float
    digits : int >= 0, default=2
        Decimals.
    """
    check_int("digits", digits, low=0)
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return text
    return f"{text} [{lo:.{digits}f}, {hi:.{digits}f}]"


# --------------------------------------------------------------------------- many methods


def _prepare(scores: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    from soundad.evaluate import binary_labels, method_columns

    if not isinstance(scores, pd.DataFrame):
        raise ParameterError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    required = ["clip_id", *GROUP_COLUMNS, "label", "score"]
    missing = [c for c in required if c not in scores.columns]
    if missing:
        raise DataError(f"scores table lacks column(s) {', '.join(missing)}; expected the scores.csv of run_grid")
    table = scores.copy()
    if REPEAT_COLUMN not in table.columns:
        table[REPEAT_COLUMN] = 0
    table["y_true"] = binary_labels(table["label"], name="column 'label'")
    table["score"] = pd.to_numeric(table["score"], errors="coerce")
    if not np.isfinite(table["score"].to_numpy(dtype=np.float64)).all():
        raise DataError("scores table has missing or non-finite scores")
    methods = [c for c in method_columns(table) if c != REPEAT_COLUMN]
    for column in methods:
        table[column] = table[column].astype(str)
    return table, methods


def _check_by(by: Sequence[str]) -> None:
    bad = [b for b in by if b not in GROUP_COLUMNS]
    if bad:
        raise ParameterError(f"by={list(by)!r}; expected some of {', '.join(GROUP_COLUMNS)}")


def unit_bootstraps(scores: pd.DataFrame, *, max_fpr: float = 0.1, n_boot: int = 1000, seed: int = 0,
                    metrics: Sequence[str] = _METRICS) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """:func:`unit_bootstrap` of several metrics in one pass: ``{"auc": (units, boot), "pauc": (units, boot)}``.

    All come from the same clip resamples, and each equals what
    :func:`unit_bootstrap` returns for that metric with the same arguments.
    ``metrics``: the ones kept (the resampled values of the others are not held
    in memory).
    """
    _check_common(n_boot=n_boot, max_fpr=max_fpr)
    for metric in metrics:
        _check_common(metric=metric)
    keep = [_METRICS.index(m) for m in metrics]
    table, methods = _prepare(scores)
    rows, boots = [], []
    for g_index, (group_key, group) in enumerate(table.groupby(list(GROUP_COLUMNS), sort=True)):
        clips = group.drop_duplicates("clip_id").sort_values("clip_id")
        clip_index = pd.Series(np.arange(len(clips)), index=clips["clip_id"].to_numpy())
        rng = np.random.default_rng([int(seed), g_index])
        weights = stratified_weights(clips["y_true"].to_numpy(), n_boot, rng)
        for unit_key, unit in group.groupby([*methods, REPEAT_COLUMN], sort=True):
            if unit["clip_id"].duplicated().any():
                raise DataError(f"clip(s) scored twice by the same method and repeat in group {group_key}")
            idx = clip_index[unit["clip_id"].to_numpy()].to_numpy()
            y, s = unit["y_true"].to_numpy(), unit["score"].to_numpy()
            if y.min() == y.max():
                continue  # a test set with one class has no AUC
            point = weighted_auc_pauc(y, s, np.ones((1, y.size)), max_fpr=max_fpr)
            rows.append({**dict(zip([*methods, REPEAT_COLUMN], unit_key)), **dict(zip(GROUP_COLUMNS, group_key)),
                         "auc": float(point[0][0]), "pauc": float(point[1][0])})
            both = weighted_auc_pauc(y, s, weights[:, idx], max_fpr=max_fpr) if n_boot else (np.empty(0),) * 2
            boots.append([both[i] for i in keep])
    if not rows:
        raise DataError("no (method, group, repeat) of the scores table has both normal and abnormal test clips")
    units = pd.DataFrame(rows)
    return {metric: (units.drop(columns=[m for m in _METRICS if m != metric]).rename(columns={metric: "value"}),
                     np.vstack([b[k] for b in boots])) for k, metric in enumerate(metrics)}


def unit_bootstrap(scores: pd.DataFrame, *, metric: str = "auc", max_fpr: float = 0.1, n_boot: int = 1000,
                   seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Metric of every (method, group, repeat) on the data and on shared clip resamples.

    Parameters
    ----------
    scores : pd.DataFrame
        Scores table (``scores.csv`` of :func:`soundad.reproduce.run_grid`).
    metric, max_fpr, n_boot, seed
        As in :func:`bootstrap_ci`.

    Returns
    -------
    units : pd.DataFrame
        One row per (method columns..., snr, machine, model_id, repeat) with
        ``value``, the metric on the test clips.
    boot : np.ndarray [shape=(len(units), n_boot)]
        The metric on each resample; row ``i`` belongs to ``units.iloc[i]``.
        Resample ``b`` uses the same clip weights for every method and
        repeat of a group (see the module docstring).
    """
    _check_common(n_boot=n_boot, metric=metric, max_fpr=max_fpr)
    return unit_bootstraps(scores, max_fpr=max_fpr, n_boot=n_boot, seed=seed, metrics=(metric,))[metric]


def aggregate_metric_ci(units: pd.DataFrame, boot: np.ndarray, *, by: Sequence[str] = (), metric: str = "auc",
                        level: float = 0.95) -> pd.DataFrame:
    """Mean of a :func:`unit_bootstrap` result per method (and ``by``), with its percentile interval.

    ``units``, ``boot`` are :func:`unit_bootstrap`'s result for ``metric``
    (no resamples: NaN bounds); the table is :func:`mean_metric_ci`'s.
    """
    _check_by(by)
    _check_common(level=level, metric=metric)
    methods = [c for c in units.columns if c not in (*GROUP_COLUMNS, REPEAT_COLUMN, "value")]
    rows = []
    for key, part in units.groupby([*methods, *by], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        lo, hi = _interval(np.nanmean(boot[part.index], axis=0), level) if boot.shape[1] else (np.nan, np.nan)
        rows.append({**dict(zip([*methods, *by], key)), metric: float(part["value"].mean()),
                     f"{metric}_lo": lo, f"{metric}_hi": hi,
                     "n_groups": int(part[list(GROUP_COLUMNS)].drop_duplicates().shape[0]),
                     "n_repeats": int(part[REPEAT_COLUMN].nunique())})
    return pd.DataFrame(rows)


def mean_metric_ci(scores: pd.DataFrame, *, by: Sequence[str] = (), metric: str = "auc", max_fpr: float = 0.1,
                   n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Mean AUC or pAUC per method (and ``by``) over groups and repeats, with a bootstrap interval.

    Parameters
    ----------
    scores : pd.DataFrame
        Scores table (``scores.csv`` of :func:`soundad.reproduce.run_grid`).
    by : sequence of {"snr", "machine", "model_id"}, default=()
        Extra columns to break the mean down by.
    metric, max_fpr, n_boot, level, seed
        As in :func:`bootstrap_ci`.

    Returns
    -------
    table : pd.DataFrame
        Method columns..., ``by``..., ``<metric>`` (mean over groups and
        repeats), ``<metric>_lo``, ``<metric>_hi``, ``n_groups``, ``n_repeats``.

    Notes
    -----
    This is :func:`unit_bootstrap` then :func:`aggregate_metric_ci`; to break
    one bootstrap down several ways, call those two.
    """
    _check_by(by)
    _check_common(n_boot=n_boot, level=level, metric=metric, max_fpr=max_fpr)
    units, boot = unit_bootstrap(scores, metric=metric, max_fpr=max_fpr, n_boot=n_boot, seed=seed)
    return aggregate_metric_ci(units, boot, by=by, metric=metric, level=level)


# --------------------------------------------------------------------------- paired comparison


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two methods on the same test clips (:func:`compare`).

    Attributes
    ----------
    a_label, b_label : str
        The two sides, e.g. ``"weights=imagenet"``.
    metric : {"auc", "pauc"}
    estimate : float
        Mean over groups and repeats of metric(a) - metric(b).
    lo, hi : float
        Bootstrap percentile interval of ``estimate`` at ``level``.
    level : float
    n_groups, n_repeats, n_clips : int
        Groups and repeats compared; distinct test clips involved.
    """

    a_label: str
    b_label: str
    metric: str
    estimate: float
    lo: float
    hi: float
    level: float
    n_groups: int
    n_repeats: int
    n_clips: int

    def verdict(self, expect: str = "greater") -> str:
        """``"supported"`` if the interval excludes 0 in the expected direction,
        ``"contradicted"`` if it excludes 0 in the other, else ``"inconclusive"``.

        Parameters
        ----------
        expect : {"greater", "less"}, default="greater"
            The claim: a's metric is greater (or less) than b's.
        """
        if expect not in ("greater", "less"):
            raise ParameterError(f"expect={expect!r}; expected 'greater' or 'less'")
        sign = 1 if expect == "greater" else -1
        lo, hi = sorted((sign * self.lo, sign * self.hi))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return "inconclusive"
        if lo > 0:
            return "supported"
        if hi < 0:
            return "contradicted"
        return "inconclusive"

    def describe(self) -> str:
        """One sentence with the estimate and its interval."""
        name = "AUC" if self.metric == "auc" else "pAUC"
        return (f"{self.a_label} minus {self.b_label}: mean {name} difference {self.estimate:+.3f} "
                f"[{self.lo:+.3f}, {self.hi:+.3f}] ({self.level:.0%} interval; {self.n_groups} group(s), "
                f"{self.n_repeats} repeat(s), {self.n_clips} test clips)")


def _label(side: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in side.items())


def _select(units: pd.DataFrame, side: Mapping[str, str], name: str) -> pd.Series:
    if not isinstance(side, Mapping) or not side:
        raise ParameterError(f"{name} must be a non-empty mapping of method columns, e.g. {{'weights': 'imagenet'}}")
    mask = pd.Series(True, index=units.index)
    for column, value in side.items():
        if column not in units.columns or column in (*GROUP_COLUMNS, REPEAT_COLUMN, "value"):
            raise ParameterError(f"{name} names {column!r}, which is not a method column of the scores table")
        values = [str(v) for v in value] if isinstance(value, (list, tuple, set, frozenset)) else [str(value)]
        mask &= units[column].isin(values)
    return mask


def paired_difference(units: pd.DataFrame, boot: np.ndarray, a: Mapping, b: Mapping,
                      where: pd.Series | None = None) -> tuple[float, np.ndarray, pd.DataFrame]:
    """Mean over (group, repeat) of mean(a) - mean(b); the same on every resample.

    Returns the estimate, its resampled values [shape=(n_boot,)] and the
    (group, repeat) units both sides were found in. Used by :func:`compare`
    and :mod:`soundad.claims`.
    """
    keys = [*GROUP_COLUMNS, REPEAT_COLUMN]
    scope = units if where is None else units[where]
    ma, mb = _select(scope, a, "a"), _select(scope, b, "b")
    if (ma & mb).any():
        raise ParameterError(f"a={dict(a)} and b={dict(b)} select the same rows; they must differ")
    side_a = {k: p.index.to_numpy() for k, p in scope[ma].groupby(keys, sort=True)}
    side_b = {k: p.index.to_numpy() for k, p in scope[mb].groupby(keys, sort=True)}
    common = [k for k in side_a if k in side_b]
    if len(common) == 0:
        return float("nan"), np.full(boot.shape[1], np.nan), pd.DataFrame(columns=keys)
    est, diffs = [], []
    for key in common:
        ia, ib = side_a[key], side_b[key]
        est.append(units.loc[ia, "value"].mean() - units.loc[ib, "value"].mean())
        diffs.append(boot[ia].mean(axis=0) - boot[ib].mean(axis=0))
    return float(np.mean(est)), np.nanmean(np.vstack(diffs), axis=0), pd.DataFrame(common, columns=keys)


def compare(scores: pd.DataFrame, a: Mapping[str, str], b: Mapping[str, str], *, metric: str = "auc",
            n_boot: int = 1000, level: float = 0.95, seed: int = 0, max_fpr: float = 0.1,
            drawn: tuple[pd.DataFrame, np.ndarray] | None = None) -> Comparison:
    """Paired bootstrap comparison of two methods on the same test clips.

    Parameters
    ----------
    scores : pd.DataFrame
        Scores table: ``scores.csv`` of :func:`soundad.reproduce.run_grid`
        (one row per method, repeat and test clip), or any table with
        ``clip_id, snr, machine, model_id, label, score`` and method columns.
    a, b : mapping of str to str (or to a list of str)
        Method-column values selecting each side, e.g. ``{"weights":
        "imagenet"}`` vs ``{"weights": "random"}``. Method columns not named
        are not matched: within each (group, repeat) every method a selects
        is averaged, and so is every method b selects (with the same
        detectors on both sides this is the mean of the per-detector
        differences).
    metric : {"auc", "pauc"}, default="auc"
    n_boot : int >= 0, default=1000
        Resamples (0: NaN interval).
    level : float in (0, 1), default=0.95
    seed : int, default=0
    max_fpr : float in (0, 1], default=0.1
        pAUC range.
    drawn : (units, boot) or None, default=None
        :func:`unit_bootstrap` of ``scores`` with the same ``metric``,
        ``max_fpr``, ``n_boot`` and ``seed``, drawn once by a caller that
        compares several pairs on one table; None draws it here.

    Returns
    -------
    Comparison
        ``estimate`` is the mean over the (group, repeat) units both sides
        were run on of metric(a) - metric(b); the interval comes from
        resampling clips within each group, stratified by label, with the
        same resample for both sides and for every repeat (see the module
        docstring).

    Raises
    ------
    DataError
        If no group and repeat holds both sides (the message names a and b).
    """
    _check_common(n_boot=n_boot, level=level, metric=metric, max_fpr=max_fpr)
    if drawn is None:
        drawn = unit_bootstrap(scores, metric=metric, max_fpr=max_fpr, n_boot=n_boot, seed=seed)
    units, boot = drawn
    estimate, diffs, common = paired_difference(units, boot, a, b)
    if common.empty:
        raise DataError(f"no group and repeat of the scores table holds both {_label(a)} and {_label(b)}")
    lo, hi = _interval(diffs, level) if n_boot else (float("nan"), float("nan"))
    clips = scores.merge(common.drop(columns=REPEAT_COLUMN).drop_duplicates(), on=list(GROUP_COLUMNS))
    return Comparison(
        a_label=_label(a), b_label=_label(b), metric=metric, estimate=estimate, lo=lo, hi=hi, level=level,
        n_groups=int(common[list(GROUP_COLUMNS)].drop_duplicates().shape[0]),
        n_repeats=int(common[REPEAT_COLUMN].nunique()),
        n_clips=int(clips[[*GROUP_COLUMNS, "clip_id"]].drop_duplicates().shape[0]),
    )
