"""The DCASE Task 2 scores: per section and domain, and the official harmonic mean (beyond the paper).

Per machine type and section (``model_id``: ``id_XX`` in 2020, ``section_XX``
from 2021 on), on the section's test clips:

- ``auc``: ROC-AUC over all test clips of the section;
- ``pauc``: partial AUC for FPR in [0, 0.1] divided by 0.1, soundad's
  definition (:func:`soundad.evaluate.auc_pauc`, the DCASE 2020 task text);
- ``pauc_official``: the same partial area McClish-corrected, which is what
  the official evaluators compute (they call
  ``sklearn.metrics.roc_auc_score(y, s, max_fpr=0.1)``);
  :func:`soundad.evaluate.mcclish_pauc` converts one into the other;
- ``auc_source``, ``auc_target`` (2021-2025 layouts): the AUC of one domain,
  on the normal clips **of that domain** against **all** anomalous clips of
  the section, as in the DCASE 2022 and 2023 evaluators
  (``y_true_all[(y_domain == d) | (y_true_all != 0)]``).

The official score of DCASE 2022 and 2023 Task 2 is the harmonic mean, over
every machine type and section, of the list of all AUC(source), all
AUC(target) and all pAUC values, each floored at machine epsilon before the
harmonic mean (checked against ``dcase2023_task2_evaluator.py`` of
github.com/nttcslab/dcase2023_task2_evaluator: ``all_perf = AUC (source) +
AUC (target) + pAUC``, ``scipy.stats.hmean(numpy.maximum(all_perf, eps))``;
the 2022 evaluator computes it the same way). soundad applies this 2022-2023
definition to every 2021-2025 layout; the 2021, 2024 and 2025 evaluators were
not checked here. DCASE 2020 ranked systems on arithmetic means of AUC and
pAUC over IDs and machines; :func:`dcase_summary` reports those too.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from soundad.data.groups import GROUP_COLUMNS
from soundad.errors import DataError, ParameterError
from soundad.evaluate import REPEAT_COLUMN, auc_pauc, binary_labels, mcclish_pauc, method_columns

__all__ = ["DCASE_MAX_FPR", "dcase_scores", "dcase_summary", "harmonic_mean", "official_score", "official_scores",
           "write_dcase_tables"]

#: The pAUC range of every DCASE Task 2 edition.
DCASE_MAX_FPR = 0.1


def harmonic_mean(values) -> float:
    """Harmonic mean as the DCASE evaluators take it: each value floored at machine epsilon.

    Parameters
    ----------
    values : array-like of float in [0, 1]

    Returns
    -------
    float
        ``n / sum(1 / max(v, eps))``; NaN for an empty input.
    """
    v = np.maximum(np.asarray(values, dtype=np.float64).reshape(-1), sys.float_info.epsilon)
    return float(len(v) / np.sum(1.0 / v)) if len(v) else float("nan")


def _with_domain(scores: pd.DataFrame, clips: pd.DataFrame | None) -> pd.DataFrame:
    if "domain" in scores.columns or clips is None or "domain" not in clips.columns:
        return scores
    domain = clips.set_index("clip_id")["domain"]
    missing = sorted(set(scores["clip_id"]) - set(domain.index))
    if missing:
        raise DataError(f"{len(missing)} scored clip(s) are not in the clips table (e.g. {', '.join(missing[:3])})")
    return scores.assign(domain=scores["clip_id"].map(domain).to_numpy())


def _domain_auc(y: np.ndarray, s: np.ndarray, domain: np.ndarray, which: str, name: str) -> float:
    keep = (domain == which) | (y == 1)
    if not (y[keep] == 0).any():
        return float("nan")  # no normal test clip of this domain
    return auc_pauc(y[keep], s[keep], max_fpr=DCASE_MAX_FPR, group=f"{name}, domain={which}")[0]


def dcase_scores(scores: pd.DataFrame, clips: pd.DataFrame | None = None) -> pd.DataFrame:
    """AUC, pAUC and per-domain AUC per method and section, as DCASE Task 2 reports them.

    Parameters
    ----------
    scores : pd.DataFrame
        One row per test clip (and method): ``clip_id``, ``snr``, ``machine``,
        ``model_id``, ``label``, ``score`` (higher = more anomalous), any
        method columns and optionally ``repeat`` and ``domain`` (e.g.
        ``soundad reproduce``'s scores.csv, or
        :func:`soundad.evaluate.clip_score_table` plus ``domain``).
    clips : pd.DataFrame or None, default=None
        A clips table with ``clip_id`` and ``domain``
        (:func:`soundad.data.read_layout` of a 2021-2025 folder), used when
        ``scores`` has no ``domain`` column.

    Returns
    -------
    table : pd.DataFrame
        One row per (method keys..., [repeat,] snr, machine, model_id) with
        ``auc``, ``pauc``, ``pauc_official`` and, when domains are known,
        ``auc_source`` and ``auc_target`` (NaN when a domain has no normal
        test clip), plus ``n_test``. See the module docstring for the
        definitions.

    Raises
    ------
    DataError
        Missing columns, a scored clip absent from ``clips``, or a section
        whose test clips are not both normal and abnormal.
    """
    if not isinstance(scores, pd.DataFrame):
        raise ParameterError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    required = ["clip_id", *GROUP_COLUMNS, "label", "score"]
    missing = [c for c in required if c not in scores.columns]
    if missing:
        raise DataError(f"scores table lacks column(s) {', '.join(missing)}; expected at least {', '.join(required)}")
    table = _with_domain(scores, clips)
    has_domain = "domain" in table.columns
    methods = [c for c in method_columns(table) if c not in ("domain", "attributes") and not c.startswith("attr_")]
    keys = [*methods, *([REPEAT_COLUMN] if REPEAT_COLUMN in table.columns else []), *GROUP_COLUMNS]
    rows = []
    for values, group in table.groupby(keys, sort=True, dropna=False):
        name = ", ".join(f"{k}={v}" for k, v in zip(keys, values))
        y = binary_labels(group["label"], name="column 'label'")
        s = group["score"].to_numpy(dtype=np.float64)
        auc, pauc = auc_pauc(y, s, max_fpr=DCASE_MAX_FPR, group=name)
        row = {**dict(zip(keys, values)), "auc": auc, "pauc": pauc,
               "pauc_official": mcclish_pauc(pauc, max_fpr=DCASE_MAX_FPR)}
        if has_domain:
            domain = group["domain"].to_numpy()
            row.update(auc_source=_domain_auc(y, s, domain, "source", name),
                       auc_target=_domain_auc(y, s, domain, "target", name))
        row["n_test"] = int(len(group))
        rows.append(row)
    return pd.DataFrame(rows)


def official_score(table: pd.DataFrame) -> float:
    """The DCASE 2022/2023 official score of one method's per-section table.

    Parameters
    ----------
    table : pd.DataFrame
        Rows of :func:`dcase_scores` for one method (and repeat), with
        ``auc_source``, ``auc_target`` and ``pauc_official``.

    Returns
    -------
    float
        Harmonic mean of all sections' AUC(source), AUC(target) and
        pAUC (McClish-corrected, as the evaluators compute it); NaN when the
        table has no domain columns (DCASE 2020 data).
    """
    if not {"auc_source", "auc_target"} <= set(table.columns):
        return float("nan")
    values = pd.concat([table["auc_source"], table["auc_target"], table["pauc_official"]]).dropna()
    return harmonic_mean(values)


def official_scores(table: pd.DataFrame, *, by=("backbone", "weights")) -> pd.Series:
    """:func:`official_score` of each method of a :func:`dcase_scores` table.

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`dcase_scores`.
    by : sequence of str, default=("backbone", "weights")
        The method columns that name one method.

    Returns
    -------
    pd.Series
        Named ``"official score"``, indexed by ``by`` in the table's order of
        methods; NaN for DCASE 2020 data.
    """
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise DataError(f"table lacks method column(s) {', '.join(missing)}")
    # the value columns selected by hand: apply(include_groups=False) needs pandas >= 2.2
    values = [c for c in table.columns if c not in by]
    return table.groupby(list(by), sort=False)[values].apply(official_score).rename("official score")


def _hmean_of(table: pd.DataFrame, column: str) -> float:
    return harmonic_mean(table[column].dropna()) if column in table.columns else float("nan")


def dcase_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per machine type and over all machines: the DCASE means of a :func:`dcase_scores` table.

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`dcase_scores`.

    Returns
    -------
    summary : pd.DataFrame
        One row per (method keys..., [repeat,] snr, machine) and one with
        ``machine == "all"``: ``auc_mean``, ``pauc_mean``,
        ``pauc_official_mean`` (arithmetic means over sections, DCASE 2020's
        way), ``auc_source_hmean``, ``auc_target_hmean`` (harmonic means over
        sections of the per-domain AUCs, the evaluators' "harmonic mean
        (source/target)"), ``official_score`` (harmonic mean, see
        :func:`official_score`) and ``n_sections``. The domain columns and
        the official score are NaN for 2020 data.
    """
    metrics = {"auc", "pauc", "pauc_official", "auc_source", "auc_target", "n_test", "machine", "model_id"}
    keys = [c for c in table.columns if c not in metrics]
    rows = []
    for values, group in table.groupby(keys, sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        parts = [(m, g) for m, g in group.groupby("machine", sort=True)] + [("all", group)]
        for machine, part in parts:
            rows.append({
                **dict(zip(keys, values)), "machine": machine,
                "auc_mean": float(part["auc"].mean()), "pauc_mean": float(part["pauc"].mean()),
                "pauc_official_mean": float(part["pauc_official"].mean()),
                "auc_source_hmean": _hmean_of(part, "auc_source"), "auc_target_hmean": _hmean_of(part, "auc_target"),
                "official_score": official_score(part), "n_sections": int(len(part)),
            })
    return pd.DataFrame(rows)


def write_dcase_tables(scores: pd.DataFrame, clips: pd.DataFrame, out) -> pd.DataFrame | None:
    """Write ``dcase_scores.csv`` and ``dcase_summary.csv`` under ``out`` when ``clips`` is DCASE data.

    Parameters
    ----------
    scores : pd.DataFrame
        Per-clip scores table (``soundad reproduce``'s scores.csv).
    clips : pd.DataFrame
        The clips table the run read (:func:`soundad.data.read_layout`).
    out : str or path-like
        Output directory of the run.

    Returns
    -------
    summary : pd.DataFrame or None
        :func:`dcase_summary` of the run, or None (nothing written) when the
        clips are not in a DCASE layout.
    """
    from pathlib import Path

    from soundad._io import atomic_path
    from soundad.data.dcase import DCASE_SNR

    if not set(clips["snr"].astype(str)) <= set(DCASE_SNR.values()):
        return None
    table = dcase_scores(scores, clips)
    summary = dcase_summary(table)
    for frame, name in ((table, "dcase_scores.csv"), (summary, "dcase_summary.csv")):
        with atomic_path(Path(out) / name) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.17g")
    return summary
