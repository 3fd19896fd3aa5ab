"""AUC, pAUC and result tables (chapters 04-06, ``notebooks/04_one_class_detectors``, ``06_reproduction``).

Conventions
-----------
* Labels: ``"abnormal"`` (or 1) is the **positive** class, ``"normal"`` (or 0)
  the negative class.
* Scores: anomaly scores, **higher = more anomalous** (see
  :func:`soundad.detectors.anomaly_scores`).
* pAUC: the DCASE 2020 Task 2 definition, the area under the ROC curve
  between FPR 0 and ``max_fpr`` divided by ``max_fpr`` (so a perfect detector
  has pAUC 1 and a random one ``max_fpr / 2``).

  This is *not* what ``sklearn.metrics.roc_auc_score(..., max_fpr=p)``
  returns: scikit-learn applies the McClish correction, which rescales the
  partial area so that a random detector gets 0.5 and a perfect one 1::

      sklearn = 0.5 * (1 + (p * pauc - p**2 / 2) / (p - p**2 / 2))

  (the official DCASE 2020 baseline code called scikit-learn, so its
  published pAUC numbers are McClish-corrected; :func:`mcclish_pauc` converts.)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import auc as _area_under_curve
from sklearn.metrics import roc_auc_score, roc_curve

from soundad.data.groups import GROUP_COLUMNS, sort_by_snr
from soundad.errors import DataError, ParameterError
from soundad.params import check_int, check_number

__all__ = [
    "NON_KEY_COLUMNS",
    "REPEAT_COLUMN",
    "Comparison",
    "auc_pauc",
    "binary_labels",
    "bootstrap_ci",
    "clip_score_table",
    "compare",
    "delong_ci",
    "evaluate_scores",
    "format_ci",
    "mean_metric_ci",
    "mcclish_pauc",
    "method_columns",
    "parameter_sweep",
    "render_markdown",
    "summarise",
]

#: Columns of a scores table that are never method keys.
NON_KEY_COLUMNS = frozenset(
    {"clip_id", "path", "label", "score", "split", "y_true", "n_windows", "channel"}
)

#: Bookkeeping columns of ``soundad reproduce``'s results.csv: they describe a run, not a method.
RUN_COLUMNS = frozenset({"status", "seed", "data"})

#: Column numbering the repeated splits of ``run_grid(..., repeats=K)`` (0..K-1): neither a
#: method nor a machine key; tables are evaluated per repeat and summarised over repeats.
REPEAT_COLUMN = "repeat"

#: Interval columns :func:`evaluate_scores` adds.
INTERVAL_COLUMNS = ("auc_lo", "auc_hi", "pauc_lo", "pauc_hi")

_LABELS = {"normal": 0, "abnormal": 1, 0: 0, 1: 1, False: 0, True: 1}


def binary_labels(y_true, *, name: str = "y_true") -> np.ndarray:
    """Labels as 0/1 ints [shape=(n,)]: 1 = ``"abnormal"``/1/True, 0 = ``"normal"``/0/False."""
    values = pd.Series(np.asarray(y_true).reshape(-1))
    mapped = values.map(lambda v: _LABELS.get(v.item() if hasattr(v, "item") else v, -1))
    bad = values[mapped.to_numpy() < 0]
    if len(bad):
        examples = ", ".join(repr(v) for v in pd.unique(bad)[:5])
        raise ParameterError(
            f"{name} holds {examples}; expected 'normal'/'abnormal' or 0/1 (1 = abnormal)"
        )
    return mapped.to_numpy(dtype=np.int64)




def auc_pauc(y_true, scores, *, max_fpr: float = 0.1, group: str | None = None) -> tuple[float, float]:
    """ROC-AUC and DCASE pAUC of anomaly scores.

    Parameters
    ----------
    y_true : array-like [shape=(n_clips,)]
        1 or ``"abnormal"`` for anomalous clips, 0 or ``"normal"`` for normal ones.
    scores : array-like [shape=(n_clips,)]
        Anomaly scores, higher = more anomalous.
    max_fpr : float in (0, 1], default=0.1
        Upper end of the false-positive-rate range of the partial AUC.
    group : str or None, default=None
        Name of the group being evaluated, used in error messages.

    Returns
    -------
    auc : float
        Area under the whole ROC curve, in [0, 1] (0.5 = chance).
    pauc : float
        Area under the ROC curve for FPR in [0, ``max_fpr``], divided by
        ``max_fpr`` (DCASE definition, no McClish correction), in [0, 1];
        chance level is ``max_fpr / 2``.

    Raises
    ------
    DataError
        If the clips are not both normal and abnormal (AUC is undefined).
    ParameterError
        Bad ``max_fpr``, unknown labels, mismatched lengths or non-finite scores.

    Examples
    --------
    >>> auc_pauc([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.35, 0.5], max_fpr=0.25)
    (0.875, 0.5)
    """
    check_number("max_fpr", max_fpr, low=0, high=1, closed="right")
    y = binary_labels(y_true)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    where = f" in group {group}" if group else ""
    if y.shape != s.shape:
        raise ParameterError(f"y_true has {y.size} labels but scores has {s.size} values{where}")
    if not np.isfinite(s).all():
        raise ParameterError(
            f"scores{where} contain {int((~np.isfinite(s)).sum())} NaN/inf values; expected finite"
        )
    n_abnormal = int(y.sum())
    n_normal = int(y.size - n_abnormal)
    if n_abnormal == 0 or n_normal == 0:
        raise DataError(
            f"test set{where} has {n_normal} normal and {n_abnormal} abnormal clips; "
            "AUC needs both classes"
        )
    auc = float(roc_auc_score(y, s))
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    # ROC curve up to max_fpr, closed by linear interpolation at max_fpr
    stop = np.searchsorted(fpr, max_fpr, side="right")
    x = np.append(fpr[:stop], max_fpr)
    yv = np.append(tpr[:stop], np.interp(max_fpr, fpr, tpr))
    pauc = float(_area_under_curve(x, yv) / max_fpr)
    return auc, pauc


def mcclish_pauc(pauc: float, *, max_fpr: float = 0.1) -> float:
    """Convert a DCASE pAUC into scikit-learn's McClish-corrected partial AUC.

    Parameters
    ----------
    pauc : float
        Partial AUC as returned by :func:`auc_pauc` (area / ``max_fpr``).
    max_fpr : float in (0, 1], default=0.1

    Returns
    -------
    float
        ``roc_auc_score(y, s, max_fpr=max_fpr)`` for the same data.
    """
    p = max_fpr
    area = pauc * p
    min_area, max_area = p * p / 2, p
    return 0.5 * (1 + (area - min_area) / (max_area - min_area))


def method_columns(scores: pd.DataFrame) -> list[str]:
    """Columns of a scores/results table that name the method (backbone, detector, ...).

    Every column that is neither a machine key (:data:`GROUP_COLUMNS`), nor a
    per-clip column (:data:`NON_KEY_COLUMNS`), nor a metric.
    """
    metrics = {"auc", "pauc", *INTERVAL_COLUMNS, "auc_sd", "pauc_sd", REPEAT_COLUMN}
    return [
        c for c in scores.columns
        if c not in GROUP_COLUMNS and c not in NON_KEY_COLUMNS and c not in metrics and c not in RUN_COLUMNS
        and not c.startswith("n_")  # counts: n_test, n_train, n_train_windows, ...
    ]


def clip_score_table(per_clip: pd.Series, clips: pd.DataFrame, **method) -> pd.DataFrame:
    """The scores table :func:`evaluate_scores` reads, for one method's clip scores.

    Parameters
    ----------
    per_clip : pd.Series
        Anomaly score per clip, indexed by clip id (what
        :func:`soundad.detectors.clip_scores` returns).
    clips : pd.DataFrame
        A clips table with ``clip_id``, ``snr``, ``machine``, ``model_id`` and
        ``label`` (e.g. from :func:`soundad.data.read_layout`) holding every
        scored clip.
    **method
        Method columns to add, e.g. ``backbone="resnet18", detector="gmm"``.

    Returns
    -------
    scores : pd.DataFrame
        One row per scored clip, in ``per_clip``'s order: ``clip_id``, the
        group columns, ``label``, ``score`` and the method columns.

    Raises
    ------
    DataError
        A scored clip that ``clips`` lacks (the first few are named).
    """
    info = clips.set_index("clip_id")
    missing = [c for c in per_clip.index if c not in info.index]
    if missing:
        raise DataError(f"{len(missing)} scored clip(s) are not in the clips table (e.g. {', '.join(missing[:3])})")
    table = info.loc[per_clip.index, [*GROUP_COLUMNS, "label"]].rename_axis("clip_id").reset_index()
    table["score"] = per_clip.to_numpy(dtype=np.float64)
    for column, value in method.items():
        table[column] = value
    return table


def evaluate_scores(scores: pd.DataFrame, *, max_fpr: float = 0.1, n_boot: int = 1000, level: float = 0.95,
                    seed: int = 0) -> pd.DataFrame:
    """AUC and pAUC per method and machine from a table of clip scores, with intervals.

    Parameters
    ----------
    scores : pd.DataFrame
        One row per test clip (and method) with columns ``clip_id``, ``snr``,
        ``machine``, ``model_id``, ``label`` ("normal"/"abnormal" or 0/1) and
        ``score`` (anomaly score, higher = more anomalous). Every other column
        except ``path`` and ``split`` (e.g. ``backbone``, ``weights``,
        ``layer``, ``detector``) is a method key and is carried into the output.
        A ``repeat`` column (``run_grid(..., repeats=K)``) is kept as a key
        after the method keys.
    max_fpr : float in (0, 1], default=0.1
        pAUC range, see :func:`auc_pauc`.
    n_boot : int >= 0, default=1000
        Bootstrap resamples per row for the intervals (:func:`bootstrap_ci`);
        0 gives NaN bounds.
    level : float in (0, 1), default=0.95
        Coverage of the intervals.
    seed : int, default=0
        Seed of the resampling (the same for every row): same seed, same bounds.

    Returns
    -------
    results : pd.DataFrame
        One row per (method keys..., [repeat,] snr, machine, model_id), with
        columns ``auc``, ``auc_lo``, ``auc_hi``, ``pauc``, ``pauc_lo``,
        ``pauc_hi``, ``n_test``, ``n_normal_test``, ``n_abnormal_test``;
        sorted by the keys (SNR numerically).

    Raises
    ------
    DataError
        Missing columns, NaN scores, a clip scored twice by the same method,
        or a group without both normal and abnormal clips (the group is named).
    """
    n_boot = check_int("n_boot", n_boot, low=0)
    level = check_number("level", level, low=0, high=1, closed="neither")
    table, keys = _checked_scores(scores)
    rows = [
        {**dict(zip(keys, group_values)),
         **_group_metrics(group, name=", ".join(f"{k}={v}" for k, v in zip(keys, group_values)),
                          max_fpr=max_fpr, n_boot=n_boot, level=level, seed=seed)}
        for group_values, group in table.groupby(keys, sort=False, dropna=False)
    ]
    return sort_by_snr(pd.DataFrame(rows), keys)


def _checked_scores(scores: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A copy of a scores table with numeric scores and ``y_true``, and its group keys; or a DataError."""
    if not isinstance(scores, pd.DataFrame):
        raise ParameterError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    required = ["clip_id", *GROUP_COLUMNS, "label", "score"]
    missing = [c for c in required if c not in scores.columns]
    if missing:
        raise DataError(
            f"scores table lacks column(s) {', '.join(missing)}; expected at least {', '.join(required)}"
        )
    if scores.empty:
        raise DataError("scores table is empty; expected one row per test clip")
    keys = [*method_columns(scores), *([REPEAT_COLUMN] if REPEAT_COLUMN in scores.columns else []), *GROUP_COLUMNS]
    table = scores.copy()
    table["score"] = pd.to_numeric(table["score"], errors="coerce")
    bad = table.index[~np.isfinite(table["score"].to_numpy(dtype=np.float64))]
    if len(bad):
        clips = ", ".join(map(str, table.loc[bad[:5], "clip_id"]))
        raise DataError(f"{len(bad)} clip(s) have a missing or non-finite score (e.g. {clips})")
    nulls = [k for k in keys if table[k].isna().any()]
    if nulls:
        raise DataError(f"column(s) {', '.join(nulls)} have missing values; expected a value on every row")
    dup = table.duplicated([*keys, "clip_id"])
    if dup.any():
        clips = ", ".join(map(str, table.loc[dup, "clip_id"].head(5)))
        raise DataError(f"{int(dup.sum())} clip(s) appear twice for the same method (e.g. {clips})")
    table["y_true"] = binary_labels(table["label"], name="column 'label'")
    return table, keys


def _group_metrics(group: pd.DataFrame, *, name: str, max_fpr: float, n_boot: int, level: float,
                   seed: int) -> dict:
    """AUC, pAUC, their bootstrap bounds and the test counts of one group's rows (``y_true``, ``score``)."""
    from soundad.weighted_roc import stratified_weights, weighted_auc_pauc

    auc, pauc = auc_pauc(group["y_true"], group["score"], max_fpr=max_fpr, group=name)
    bounds = [np.nan] * 4
    if n_boot:
        y = group["y_true"].to_numpy()
        weights = stratified_weights(y, n_boot, np.random.default_rng(seed))
        boot = weighted_auc_pauc(y, group["score"].to_numpy(), weights, max_fpr=max_fpr)
        quantiles = [(1 - level) / 2, (1 + level) / 2]
        bounds = [*np.quantile(boot[0], quantiles), *np.quantile(boot[1], quantiles)]
    n_abnormal = int(group["y_true"].sum())
    return {
        "auc": auc, "auc_lo": float(bounds[0]), "auc_hi": float(bounds[1]),
        "pauc": pauc, "pauc_lo": float(bounds[2]), "pauc_hi": float(bounds[3]),
        "n_test": int(len(group)), "n_normal_test": int(len(group) - n_abnormal), "n_abnormal_test": n_abnormal,
    }


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean AUC and pAUC per method x machine, per method x SNR, and overall.

    Parameters
    ----------
    results : pd.DataFrame
        Output of :func:`evaluate_scores` (one row per method, SNR, machine, model id),
        or ``soundad reproduce``'s ``results.csv`` (its run columns, counts, intervals
        and ``status`` are not method keys; rows without an AUC are left out).
        A ``repeat`` column marks repeated splits (``run_grid(..., repeats=K)``).

    Returns
    -------
    summary : pd.DataFrame
        Tidy: columns method keys..., ``snr``, ``machine``, ``auc``, ``pauc``,
        ``n_groups`` (number of (snr, machine, model_id) rows averaged per repeat),
        ``auc_sd``, ``pauc_sd`` (standard deviation, ddof=1, over the repeats
        of the per-repeat means; NaN with one repeat) and ``n_repeats``.
        ``auc``/``pauc`` are the mean over repeats of the per-repeat means.
        Rows averaged over all SNRs have ``snr == "all"``; rows averaged over
        all machines have ``machine == "all"``; one row per method has both.
        Select with e.g. ``summary[summary.snr == "all"]`` (the method x
        machine table).
    """
    required = ["snr", "machine", "auc", "pauc"]
    missing = [c for c in required if c not in results.columns]
    if missing:
        raise DataError(f"results table lacks column(s) {', '.join(missing)}; expected {', '.join(required)}")
    if results.empty:
        raise DataError("results table is empty")
    results = results[results["auc"].notna()]  # groups that could not be evaluated have no AUC
    if REPEAT_COLUMN not in results.columns:
        results = results.assign(**{REPEAT_COLUMN: 0})
    methods = method_columns(results)
    parts = []
    for by, fill in ((["machine"], {"snr": "all"}), (["snr"], {"machine": "all"}), ([], {"snr": "all", "machine": "all"})):
        keys = [*methods, *by]
        per_repeat = results.groupby([*keys, REPEAT_COLUMN], sort=False, dropna=False)
        means = per_repeat[["auc", "pauc"]].mean()
        means["n_groups"] = per_repeat.size()
        means = means.reset_index()
        if keys:
            grouped = means.groupby(keys, sort=False, dropna=False)
        else:
            grouped = means.groupby(lambda _: 0)
        part = grouped[["auc", "pauc"]].mean()
        part["n_groups"] = grouped["n_groups"].max()
        part["auc_sd"] = grouped["auc"].std(ddof=1)
        part["pauc_sd"] = grouped["pauc"].std(ddof=1)
        part["n_repeats"] = grouped.size()
        part = part.reset_index() if keys else part.reset_index(drop=True)
        for column, value in fill.items():
            part[column] = value
        parts.append(part)
    columns = [*methods, "snr", "machine", "auc", "pauc", "n_groups", "auc_sd", "pauc_sd", "n_repeats"]
    return pd.concat(parts, ignore_index=True)[columns]


def render_markdown(table: pd.DataFrame, *, digits: int = 3, index: bool = False) -> str:
    """Render a table as GitHub-flavoured markdown (no ``tabulate`` needed).

    Parameters
    ----------
    table : pd.DataFrame
    digits : int >= 0, default=3
        Decimals shown for floats.
    index : bool, default=False
        Include the index as the first column(s).

    Returns
    -------
    str
        Markdown text ending with a newline; numbers are right-aligned.
    """
    check_int("digits", digits, low=0)
    frame = table.reset_index() if index else table
    columns = [str(c) for c in frame.columns]

    def cell(value) -> str:
        if isinstance(value, (float, np.floating)):
            return "" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    body = [[cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---:" if num else ":---" for num in numeric) + "|",
        *("| " + " | ".join(row) + " |" for row in body),
    ]
    return "\n".join(lines) + "\n"


def parameter_sweep(features, clips: pd.DataFrame, grid: Mapping[str, tuple[str, Sequence]], *, seed: int = 0,
                    n_boot: int = 1000, level: float = 0.95) -> pd.DataFrame:
    """The AUC, with its interval, of each detector at each value of one of its hyper-parameters (chapter 04).

    Parameters
    ----------
    features : WindowFeatures
        Window features of the clips of one group.
    clips : pd.DataFrame
        Their clips table, split (:func:`soundad.data.choose_split`).
    grid : mapping
        Detector name -> ``(parameter, values)``, e.g. ``{"gmm": ("n_components", [1, 2, 4])}``.
    seed, n_boot, level
        As in :func:`soundad.detectors.score_clips` and :func:`evaluate_scores`.

    Returns
    -------
    pd.DataFrame
        One row per (detector, value): ``detector``, ``parameter``, ``value``,
        ``auc``, ``auc_lo``, ``auc_hi``, ``n_test``.

    Raises
    ------
    ParameterError
        ``clips`` holding more than one (snr, machine, model_id) group.
    """
    from soundad.detectors import score_clips

    n_groups = len(clips[list(GROUP_COLUMNS)].drop_duplicates())
    if n_groups != 1:  # before any detector is fitted on windows pooled across groups
        raise ParameterError(f"parameter_sweep scores one group at a time; the clips hold {n_groups}")
    rows = []
    for name, (parameter, values) in grid.items():
        for value in values:
            per_clip = score_clips(name, features, clips, seed=seed, **{parameter: value})
            row = evaluate_scores(clip_score_table(per_clip, clips), n_boot=n_boot, level=level,
                                  seed=seed).iloc[0]
            rows.append({"detector": name, "parameter": parameter, "value": value,
                         **{key: row[key] for key in ("auc", "auc_lo", "auc_hi", "n_test")}})
    return pd.DataFrame(rows)


from soundad.uncertainty import (  # noqa: E402  (re-exported: soundad.evaluate is the public home)
    Comparison,
    bootstrap_ci,
    compare,
    delong_ci,
    format_ci,
    mean_metric_ci,
)
