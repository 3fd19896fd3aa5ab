"""Sentences the book states about a result, worded from the numbers (chapters 01-03).

A chapter never writes by hand how a comparison came out: it glues one of
these sentences, so that the words follow the interval. The rule is the one
``Comparison.verdict`` applies: a difference counts only where its interval
excludes the value of "no effect" (0 for a difference, 0.5 for an AUC).
"""

from __future__ import annotations

import math

import pandas as pd

from soundad.errors import ParameterError

__all__ = ["auc_sentence", "check_interval", "difference_sentence", "interval", "interval_columns"]


def check_interval(value: float, lo: float, hi: float) -> None:
    """Raise ``ParameterError`` unless ``value``, ``lo`` and ``hi`` are finite numbers with ``lo <= hi``."""
    numbers = (value, lo, hi)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers):
        raise ParameterError(f"value, lo and hi must be finite numbers, got {numbers}")
    if not lo <= hi:
        raise ParameterError(f"interval [{lo}, {hi}]: lo must not exceed hi")


def interval(value: float, lo: float, hi: float, *, digits: int = 2, sign: bool = False) -> str:
    """``"0.72 [0.55, 0.88]"``; with ``sign=True`` every number carries its sign."""
    check_interval(value, lo, hi)
    spec = f"{'+' if sign else ''}.{digits}f"
    return f"{value:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def auc_sentence(subject: str, auc: float, lo: float, hi: float, *, n_clips: int,
                 level: float = 0.95, digits: int = 2) -> str:
    """One sentence on an AUC and its interval, judged against chance (0.5).

    Example: ``"The clip's loudness as an anomaly score: AUC 0.61 [0.42, 0.79]
    (95 % interval, 40 clips): within noise of chance (0.5)."``
    """
    check_interval(auc, lo, hi)
    if lo > 0.5:
        verdict = "better than chance (0.5)"
    elif hi < 0.5:
        verdict = "worse than chance (0.5): higher scores go with normal clips"
    else:
        verdict = "within noise of chance (0.5)"
    return (f"{subject}: AUC {interval(auc, lo, hi, digits=digits)} "
            f"({100 * level:.0f} % interval, {n_clips} clips): {verdict}.")


def difference_sentence(a_label: str, b_label: str, estimate: float, lo: float, hi: float, *,
                        n_clips: int, metric: str = "AUC", level: float = 0.95,
                        digits: int = 2) -> str:
    """One sentence on a paired difference ``a - b`` and its interval.

    Example: ``"ImageNet minus random weights: AUC +0.03 [-0.12, +0.18]
    (95 % interval, 30 test clips): the difference is within noise."``
    """
    check_interval(estimate, lo, hi)
    if lo > 0:
        verdict = f"the interval excludes 0, in favour of {a_label}"
    elif hi < 0:
        verdict = f"the interval excludes 0, in favour of {b_label}"
    else:
        verdict = "the difference is within noise"
    return (f"{a_label} minus {b_label}: {metric} "
            f"{interval(estimate, lo, hi, digits=digits, sign=True)} "
            f"({100 * level:.0f} % interval, {n_clips} test clips): {verdict}.")


def interval_columns(results: pd.DataFrame, *, level: float = 0.95, digits: int = 2) -> pd.DataFrame:
    """``results`` with the AUC and pAUC written with their intervals, for a table in the book.

    Parameters
    ----------
    results : pd.DataFrame
        What :func:`soundad.evaluate.evaluate_scores` returns: ``auc``,
        ``auc_lo``, ``auc_hi``, ``pauc``, ``pauc_lo``, ``pauc_hi``.
    level : float, default=0.95
        The intervals' level, as :func:`~soundad.evaluate.evaluate_scores` computed
        them; only names the columns.
    digits : int, default=2

    Returns
    -------
    pd.DataFrame
        A copy with the columns ``"AUC [95 %]"`` and ``"pAUC [95 %]"`` added, e.g.
        ``"0.72 [0.55, 0.88]"`` (:func:`soundad.evaluate.format_ci`).
    """
    from soundad.evaluate import format_ci

    missing = [c for m in ("auc", "pauc") for c in (m, f"{m}_lo", f"{m}_hi") if c not in results.columns]
    if missing:
        raise ParameterError(f"results lacks column(s) {', '.join(missing)}; expected evaluate_scores' table")
    table = results.copy()
    for metric, label in (("auc", "AUC"), ("pauc", "pAUC")):
        table[f"{label} [{100 * level:g} %]"] = [
            format_ci(value, lo, hi, digits=digits)
            for value, lo, hi in table[[metric, f"{metric}_lo", f"{metric}_hi"]].to_numpy()
        ]
    return table
