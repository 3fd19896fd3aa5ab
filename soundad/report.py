"""Summary and figures of a :func:`soundad.reproduce.run_grid` run (``summary.md``, ``figures/``).

Every AUC and pAUC shown comes with its bootstrap interval
(:func:`soundad.evaluate.mean_metric_ci`), written ``0.72 [0.55, 0.88]``. The
clip resamples are drawn once per run (:func:`soundad.uncertainty.unit_bootstraps`)
and averaged each way a table or figure needs (overall, per machine, per SNR,
per SNR and machine).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from soundad._io import atomic_path, atomic_write_text
from soundad.data.groups import GROUP_COLUMNS

__all__ = ["auc_by_snr", "beside_dcase2020", "beside_published", "draw_figures", "interval_table", "spread_over_splits", "write_summary"]


def interval_table(results: pd.DataFrame, scores: pd.DataFrame | None, *, by: Sequence[str] = (),
                   n_boot: int = 1000, level: float = 0.95, seed: int = 0,
                   bootstraps: Mapping[str, tuple] | None = None) -> pd.DataFrame:
    """Mean AUC and pAUC per method (and ``by``) with intervals and the spread over repeats.

    Parameters
    ----------
    results : pd.DataFrame
        results.csv of :func:`soundad.reproduce.run_grid`.
    scores : pd.DataFrame or None
        Its scores.csv. The intervals are then bootstrapped over the test
        clips (:func:`soundad.evaluate.mean_metric_ci`); without it they are
        the rows' own ``auc_lo``... where each mean is a single row, else NaN.
    by : sequence of {"snr", "machine"}, default=()
    n_boot, level, seed
        As in :func:`soundad.evaluate.bootstrap_ci`.
    bootstraps : mapping or None, default=None
        ``unit_bootstraps(scores, n_boot=n_boot, seed=seed)``
        (:func:`soundad.uncertainty.unit_bootstraps`) when the caller already
        has it; None: drawn here.

    Returns
    -------
    pd.DataFrame
        ``method``, ``by``..., ``auc``, ``auc_lo``, ``auc_hi``, ``pauc``,
        ``pauc_lo``, ``pauc_hi``, ``auc_sd`` (over repeats), ``n_groups``,
        ``n_repeats``.
    """
    from soundad.evaluate import summarise
    from soundad.uncertainty import aggregate_metric_ci, unit_bootstraps

    ok = results[results["auc"].notna()]
    columns = ["method", "snr", "machine", "auc", "pauc", *(["repeat"] if "repeat" in ok.columns else [])]
    summary = summarise(ok[columns])
    for column in ("snr", "machine"):
        keep = summary[column] != "all" if column in by else summary[column] == "all"
        summary = summary[keep]
    summary = summary[["method", *by, "auc", "pauc", "auc_sd", "n_groups", "n_repeats"]]
    if scores is not None and n_boot:
        keys = ["method", *by]
        if bootstraps is None:
            bootstraps = unit_bootstraps(scores, n_boot=n_boot, seed=seed)
        for metric in ("auc", "pauc"):
            ci = aggregate_metric_ci(*bootstraps[metric], by=list(by), metric=metric, level=level)
            summary = summary.merge(ci[[*keys, f"{metric}_lo", f"{metric}_hi"]], on=keys, how="left")
    else:
        single = ok.groupby(["method", *by]).filter(lambda g: len(g) == 1)
        keep = ["method", *by, "auc_lo", "auc_hi", "pauc_lo", "pauc_hi"]
        present = [c for c in keep if c in single.columns]
        summary = summary.merge(single[present], on=["method", *by], how="left")
        for column in keep[len(by) + 1:]:
            if column not in summary.columns:
                summary[column] = math.nan
    order = ["method", *by, "auc", "auc_lo", "auc_hi", "pauc", "pauc_lo", "pauc_hi", "auc_sd", "n_groups",
             "n_repeats"]
    return summary[order].reset_index(drop=True)


def write_summary(results: pd.DataFrame, path: str | os.PathLike, *, title: str = "Results",
                  notes: Sequence[str] = (), scores: pd.DataFrame | None = None, n_boot: int = 1000,
                  level: float = 0.95, seed: int = 0, bootstraps: Mapping[str, tuple] | None = None) -> Path:
    """Write mean AUC/pAUC per method overall, per machine and per SNR, with intervals, as markdown.

    Parameters
    ----------
    results : pd.DataFrame
        Table from :func:`soundad.reproduce.run_grid` (columns ``method, snr,
        machine, model_id, auc, pauc`` and, from repeated runs, ``repeat``). Rows
        without an AUC (skipped groups) are counted, not averaged.
    path : str or os.PathLike
        The markdown file to write (atomically).
    title : str
        First heading.
    notes : sequence of str
        Lines listed under the title (split rule, seed, ...).
    scores : pd.DataFrame or None, default=None
        The run's scores.csv: intervals are bootstrapped over its test clips
        (see :func:`interval_table`); without it only single-row means get one.
    n_boot, level, seed
        Bootstrap settings (:func:`soundad.evaluate.bootstrap_ci`).
    bootstraps : mapping or None, default=None
        As in :func:`interval_table`; drawn once here when None.

    Returns
    -------
    path : Path
        Every AUC/pAUC cell reads ``mean [lo, hi]`` (``level`` interval);
        with repeats the overall table also gives ``auc_sd``, the standard
        deviation of the mean AUC over repeats.
    """
    from soundad.data.groups import snr_order
    from soundad.evaluate import format_ci, render_markdown
    from soundad.uncertainty import unit_bootstraps

    ok = results[results["auc"].notna()]
    order = list(dict.fromkeys(results["method"]))
    n_repeats = int(ok["repeat"].nunique()) if "repeat" in ok.columns else 1
    parts = [f"# {title}", ""]
    parts += [f"- {n}" for n in notes]
    parts += [f"- groups evaluated: {ok[list(GROUP_COLUMNS)].drop_duplicates().shape[0]}"]
    if n_repeats > 1:
        parts += [f"- repeated splits: {n_repeats}; AUC means are over groups and repeats, "
                  "auc_sd is the spread of the mean over repeats"]
    n_skipped = results.loc[results["auc"].isna(), list(GROUP_COLUMNS)].drop_duplicates().shape[0]
    if n_skipped:
        parts += [f"- groups skipped: {n_skipped} (see the status column of results.csv)"]
    parts += [f"- intervals: {level:.0%} bootstrap over test clips (normal and abnormal resampled separately, "
              f"{n_boot} resamples)", ""]

    def cells(table: pd.DataFrame, metric: str) -> pd.Series:
        return pd.Series([format_ci(v, lo, hi, digits=3) for v, lo, hi in
                          zip(table[metric], table[f"{metric}_lo"], table[f"{metric}_hi"])], index=table.index)

    if bootstraps is None and scores is not None and n_boot:
        bootstraps = unit_bootstraps(scores, n_boot=n_boot, seed=seed)
    kw = {"n_boot": n_boot, "level": level, "seed": seed, "bootstraps": bootstraps}
    overall = interval_table(results, scores, **kw).set_index("method").reindex(order)
    shown = pd.DataFrame({"AUC": cells(overall, "auc"), "pAUC": cells(overall, "pauc")}, index=overall.index)
    if n_repeats > 1:
        shown["auc_sd"] = overall["auc_sd"]
    shown["n_groups"] = overall["n_groups"]
    shown["n_repeats"] = overall["n_repeats"]
    parts += ["## Mean over all groups", "", render_markdown(shown, index=True)]
    for by in ("machine", "snr"):
        table = interval_table(results, scores, by=[by], **kw)
        for metric in ("auc", "pauc"):
            table["cell"] = cells(table, metric)
            pivot = table.pivot(index="method", columns=by, values="cell").reindex(order)
            if by == "snr":
                pivot = pivot[snr_order(pivot.columns)]
            pivot.columns.name = None
            parts += [f"## Mean {metric.upper() if metric == 'auc' else 'pAUC'} per {by.upper() if by == 'snr' else by}",
                      "", render_markdown(pivot, index=True)]
    return atomic_write_text(path, "\n".join(parts))


def draw_figures(results: pd.DataFrame, scores: pd.DataFrame, folder: Path, *, data_name: str,
                 max_panels: int = 12, max_groups: int = 4, n_boot: int = 1000, seed: int = 0,
                 bootstraps: Mapping[str, tuple] | None = None) -> list[Path]:
    """Draw the AUC heatmaps, ROC curves and score histograms into ``folder`` (PNG).

    - ``auc_heatmap.png``: machine × SNR mean AUC (over model ids and
      repeats) with its bootstrap interval, one panel per method;
    - ``roc.png``: one panel per method, one curve per group (per machine when
      there are more than ``max_groups`` groups);
    - ``score_histograms.png``: normal vs abnormal clip scores, one row per
      method and one column per group (the first ``max_groups`` groups; scores
      of different groups live on different scales, so they are not pooled).

    At most ``max_panels`` methods are drawn (all are in results.csv). ROC
    curves and histograms show repeat 0 of a repeated run. ``bootstraps``:
    as in :func:`interval_table` (None: drawn here).
    """
    from soundad.uncertainty import aggregate_metric_ci, unit_bootstraps

    from soundad import plots

    folder.mkdir(parents=True, exist_ok=True)
    if n_boot:
        if bootstraps is None:
            bootstraps = unit_bootstraps(scores, n_boot=n_boot, seed=seed)
        heat = aggregate_metric_ci(*bootstraps["auc"], by=["snr", "machine"], metric="auc")
    else:
        heat = results[results["auc"].notna()].groupby(["method", "snr", "machine"], as_index=False)["auc"].mean()
    if "repeat" in scores.columns:
        scores = scores[scores["repeat"] == scores["repeat"].min()]
    ok = results[results["auc"].notna()]
    methods = list(dict.fromkeys(ok["method"]))[:max_panels]
    keys = list(GROUP_COLUMNS)
    groups = scores[keys].drop_duplicates().sort_values(keys).to_numpy().tolist()
    shown_groups = groups[:max_groups]
    ncols = min(3, len(methods))
    nrows = math.ceil(len(methods) / ncols)
    written = []

    def save(fig, name):
        with atomic_path(folder / name) as tmp:
            fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
        written.append(folder / name)

    fig, axes = plots.panels(nrows, ncols, panel_size=(5.6, 3.6))
    for ax, method in zip(axes.flat, methods):
        columns = ["method", "snr", "machine", *(c for c in ("auc", "auc_lo", "auc_hi") if c in heat.columns)]
        plots.plot_auc_heatmap(heat[columns], method={"method": method}, ax=ax, title=method)
    for ax in axes.flat[len(methods):]:
        ax.axis("off")
    fig.suptitle(f"Mean AUC per machine and SNR ({data_name})")
    fig.tight_layout()
    save(fig, "auc_heatmap.png")

    by = keys if len(groups) <= max_groups else "machine"
    fig, axes = plots.panels(nrows, ncols, panel_size=(5.0, 5.0))
    for ax, method in zip(axes.flat, methods):
        table = scores[scores["method"] == method][[*keys, "label", "score"]]
        plots.plot_roc(table, by=by, ax=ax, title=method)
    for ax in axes.flat[len(methods):]:
        ax.axis("off")
    fig.suptitle(f"ROC curves of the clip scores ({data_name})")
    fig.tight_layout()
    save(fig, "roc.png")

    fig, axes = plots.panels(len(methods), len(shown_groups), panel_size=(3.6, 2.6))
    for row, method in zip(axes, methods):
        for ax, group in zip(row, shown_groups):
            mask = (scores["method"] == method) & (scores[keys] == group).all(axis=1)
            plots.plot_score_histograms(scores.loc[mask, ["label", "score"]], ax=ax,
                                        title=f"{method}\n{'/'.join(group)}")
    fig.suptitle(f"Clip anomaly scores, normal vs abnormal ({data_name})")
    fig.tight_layout()
    save(fig, "score_histograms.png")
    return written


def spread_over_splits(results: pd.DataFrame, *, by: Sequence[str] = ("backbone", "weights", "detector")
                       ) -> pd.DataFrame:
    """Mean, standard deviation, lowest and highest AUC of each method over its groups and repeated splits.

    Parameters
    ----------
    results : pd.DataFrame
        results.csv of :func:`soundad.reproduce.run_grid`; rows without an AUC are left out.
    by : sequence of str, default=("backbone", "weights", "detector")
        The columns naming a method, in the order of the table.

    Returns
    -------
    pd.DataFrame
        ``by...``, ``mean AUC``, ``sd over splits`` (ddof=1), ``lowest``,
        ``highest``; methods in their order in ``results``.
    """
    ok = results[results["auc"].notna()]
    table = ok.groupby(list(by), sort=False)["auc"].agg(["mean", "std", "min", "max"]).reset_index()
    return table.rename(columns={"mean": "mean AUC", "std": "sd over splits", "min": "lowest", "max": "highest"})


def auc_by_snr(results: pd.DataFrame, *, select: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Mean and spread of the AUC per SNR (over machines, model ids and repeats), SNRs in numeric order.

    Parameters
    ----------
    results : pd.DataFrame
        results.csv of :func:`soundad.reproduce.run_grid`.
    select : mapping of column to value, optional
        Rows to keep, e.g. ``{"backbone": "conv_ae"}``.

    Returns
    -------
    pd.DataFrame
        Index ``snr`` (-6dB before 0dB before 6dB); columns ``auc`` (mean),
        ``sd`` (ddof=1, NaN for one row) and ``n`` (rows averaged).
    """
    from soundad.data.groups import snr_order

    rows = results[results["auc"].notna()]
    for column, value in (select or {}).items():
        rows = rows[rows[column] == value]
    table = rows.groupby("snr")["auc"].agg(auc="mean", sd="std", n="size")
    order = snr_order(table.index)
    return table.reindex(order)


def beside_published(ours: pd.DataFrame, published: pd.DataFrame, *, source: str, method: str) -> pd.DataFrame:
    """This run's AUC per method and group (mean ± sd over splits) above published AUCs of the same kind.

    Parameters
    ----------
    ours : pd.DataFrame
        Rows of results.csv to show (``method, snr, machine, model_id, auc, repeat``).
    published : pd.DataFrame
        Published values (``machine, model_id, snr, auc``), e.g.
        :func:`soundad.published.mimii_baseline_auc`; only the machines of
        ``ours`` are kept when it has any of them.
    source, method : str
        How the published rows are labelled.

    Returns
    -------
    pd.DataFrame
        ``source, method, machine, model_id, snr, AUC`` (text: ``"0.712 ± 0.050
        (sd over 10 splits)"`` for this run, ``"0.650"`` for a published value).
    """
    rows = []
    for (label, snr, machine, model_id), part in ours.groupby(["method", *GROUP_COLUMNS]):
        rows.append({"source": "this run", "method": label, "machine": machine, "model_id": model_id, "snr": snr,
                     "AUC": f"{part['auc'].mean():.3f} ± {part['auc'].std():.3f} "
                            f"(sd over {part['repeat'].nunique()} splits)"})
    here = published["machine"].isin(set(ours["machine"]))
    for row in (published[here] if here.any() else published).itertuples():
        rows.append({"source": source, "method": method, "machine": row.machine, "model_id": row.model_id,
                     "snr": row.snr, "AUC": f"{row.auc:.3f}"})
    return pd.DataFrame(rows, columns=["source", "method", "machine", "model_id", "snr", "AUC"])


def beside_dcase2020(results: pd.DataFrame, *, backbone: str = "dense_ae",
                     label: str = "this run: dense AE") -> pd.DataFrame:
    """The DCASE 2020 Task 2 baseline's published means above this run's, per machine type.

    Parameters
    ----------
    results : pd.DataFrame
        results.csv of :func:`soundad.reproduce.run_grid`; the rows of
        ``backbone`` (the dense autoencoder, DCASE's baseline) are used.
    backbone, label : str
        Which rows, and how they are labelled in ``source``.

    Returns
    -------
    pd.DataFrame
        ``machine, auc, pauc, source``: published rows first, then this run's
        mean AUC and mean McClish-corrected pAUC (as DCASE publishes it) over
        its groups and repeated splits (groups the run skipped left out).
    """
    from soundad.evaluate import mcclish_pauc
    from soundad.published import dcase2020_baseline

    published = dcase2020_baseline().drop(columns="citation")
    published["source"] = "published: DCASE 2020 Task 2 baseline (dev. set mean)"
    ours = results[(results["backbone"] == backbone) & results["auc"].notna()]  # skipped groups have no metrics
    mine = pd.DataFrame([{
        "source": label, "machine": machine, "auc": part["auc"].mean(),
        "pauc": float(np.mean([mcclish_pauc(p) for p in part["pauc"]])),
    } for machine, part in ours.groupby("machine")], columns=["source", "machine", "auc", "pauc"])
    return pd.concat([published, mine], ignore_index=True)
