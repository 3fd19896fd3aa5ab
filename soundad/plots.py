"""Figures for the notebooks and the reproduction report (chapters 01-06).

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show()``. Without ``ax`` a new figure is made *outside* pyplot (no global
figure list to leak in a loop that saves hundreds of plots): in Jupyter,
display it by leaving it as the cell's last expression (``fig``), elsewhere
save it with ``fig.savefig(...)``. With ``ax`` the plot goes into your axes
and ``ax.figure`` is returned.

Titles take a ``title`` argument so a notebook can say which data and which
weights a figure shows.

The book's figure rules live in :mod:`soundad.plot_rules` and the audio player
in :mod:`soundad.listen`; both are re-exported here so that a chapter needs one
import: :func:`show_image` (colour bar with units), :func:`shared_limits` (one
colour scale for compared panels), :func:`score_scale` (log axis for scores
spanning decades), :func:`place_legend` (legend outside the data) and
:func:`listen` (a labelled player).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from soundad.errors import ParameterError
from soundad.params import check_int
from soundad.data.groups import snr_order
from soundad.evaluate import binary_labels, auc_pauc, method_columns
from soundad.listen import listen
from soundad.plot_rules import log_bins, place_legend, score_scale, shared_limits, show_image

__all__ = [
    "listen",
    "panels",
    "place_legend",
    "plot_auc_by_snr",
    "plot_auc_heatmap",
    "plot_mel",
    "plot_roc",
    "plot_score_histograms",
    "plot_waveform",
    "score_scale",
    "shared_limits",
    "show_image",
]


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    return ax.figure, ax


def panels(nrows: int, ncols: int, *, panel_size: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrows`` x ``ncols`` panels, made outside pyplot like every figure here.

    ``panel_size`` is one panel's (width, height) in inches. Returns the
    figure and a 2-D array of its axes (always 2-D, even for one panel).
    """
    check_int("nrows", nrows, low=1)
    check_int("ncols", ncols, low=1)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _labels_and_scores(y_true, scores, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Arrays from (labels, scores) or from a table with ``label`` and ``score`` columns."""
    if isinstance(y_true, pd.DataFrame):
        if scores is not None:
            raise ParameterError(f"{what}: pass either a table or (y_true, scores), not both")
        missing = [c for c in ("label", "score") if c not in y_true.columns]
        if missing:
            raise ParameterError(f"{what}: table lacks column(s) {', '.join(missing)}; expected label and score")
        y_true, scores = y_true["label"], y_true["score"]
    if scores is None:
        raise ParameterError(f"{what}: scores missing; pass (y_true, scores) or a table with label and score")
    y = binary_labels(y_true)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ParameterError(f"{what}: y_true has {y.size} labels but scores has {s.size} values")
    return y, s


# --------------------------------------------------------------------------- #
# signals
# --------------------------------------------------------------------------- #
def plot_waveform(y, *, sr: int, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Plot a signal against time.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio signal.
    sr : int > 0 [Hz]
        Sample rate.
    ax : matplotlib Axes or None, default=None
        Axes to draw into; a new figure if None.
    title : str or None, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"y has shape {y.shape}; expected a mono signal of shape (n,)")
    if not sr or sr <= 0:
        raise ParameterError(f"sr={sr!r}; expected a positive sample rate in Hz")
    fig, ax = _figure_and_axes(ax, (8, 2.5))
    ax.plot(np.arange(y.size) / sr, y, linewidth=0.5)
    ax.set_xlim(0, max(y.size / sr, 1 / sr))
    ax.set_xlabel("time [s]")
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    return fig


def plot_mel(
    mel,
    *,
    sr: int,
    hop_length: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    colorbar: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """Show a mel spectrogram in dB, low frequencies at the bottom.

    Arrays keep low frequencies at row 0 (see DESIGN); only the display flips.

    Parameters
    ----------
    mel : np.ndarray [shape=(n_mels, frames)]
        Mel spectrogram in dB (e.g. :func:`soundad.features.compute_mel`).
    sr : int > 0 [Hz]
        Sample rate of the audio.
    hop_length : int > 0 [samples]
        Hop between frames (for the time axis).
    fmin, fmax : float [Hz]
        Frequency range of the mel filters (for the frequency axis);
        ``fmax=None`` means ``sr / 2``.
    ax : matplotlib Axes or None, default=None
    title : str or None, default=None
    colorbar : bool, default=True
        Add a colorbar labelled in dB. Leave it on in the book: every
        image-like plot carries one.
    vmin, vmax : float or None [dB]
        Colour range; pass :func:`shared_limits` of all panels that are
        compared side by side.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import librosa.display

    mel = np.asarray(mel)
    if mel.ndim != 2:
        raise ParameterError(f"mel has shape {mel.shape}; expected (n_mels, frames)")
    fig, ax = _figure_and_axes(ax, (8, 3.5))
    image = librosa.display.specshow(
        mel,
        sr=sr,
        hop_length=hop_length,
        x_axis="time",
        y_axis="mel",
        fmin=fmin,
        fmax=sr / 2 if fmax is None else fmax,
        ax=ax,
        vmin=vmin,
        vmax=vmax,
    )
    ax.set_xlabel("time [s]")
    ax.set_ylabel("frequency [Hz]")
    if colorbar:
        fig.colorbar(image, ax=ax, format="%+2.0f dB", label="level [dB]")
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- #
# scores
# --------------------------------------------------------------------------- #
def plot_roc(
    y_true,
    scores=None,
    *,
    by: str | list[str] | None = None,
    max_fpr: float = 0.1,
    ax: Axes | None = None,
    label: str | None = None,
    title: str | None = None,
) -> Figure:
    """ROC curve(s) of anomaly scores, with AUC and pAUC in the legend.

    Parameters
    ----------
    y_true : array-like [shape=(n_clips,)] or pd.DataFrame
        Labels (1 / "abnormal" = positive) -- or a scores table with ``label``
        and ``score`` columns (then leave ``scores`` out).
    scores : array-like [shape=(n_clips,)] or None
        Anomaly scores, higher = more anomalous.
    by : str or list of str or None, default=None
        With a table: draw one curve per group of these columns (e.g.
        ``"detector"`` or ``["machine", "model_id"]``).
    max_fpr : float in (0, 1], default=0.1
        pAUC range, shaded on the plot.
    ax : matplotlib Axes or None, default=None
    label : str or None, default=None
        Legend label of a single curve (prefix of each label with ``by``).
    title : str or None, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    if by is not None:
        if not isinstance(y_true, pd.DataFrame):
            raise ParameterError("plot_roc: by= needs a scores table (DataFrame) as first argument")
        keys = [by] if isinstance(by, str) else list(by)
        missing = [k for k in keys if k not in y_true.columns]
        if missing:
            raise ParameterError(f"plot_roc: by column(s) {', '.join(missing)} not in the table")
        curves = [
            (", ".join(map(str, np.atleast_1d(values))), group)
            for values, group in y_true.groupby(keys if len(keys) > 1 else keys[0], sort=True)
        ]
        curves = [(f"{label}: {name}" if label else name, group, None) for name, group in curves]
    else:
        curves = [(label, y_true, scores)]
    fig, ax = _figure_and_axes(ax, (4.5, 4.5))
    ax.axvspan(0, max_fpr, color="0.9", zorder=0, label=f"pAUC range (FPR ≤ {max_fpr:g})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", linewidth=1, label="chance")
    for name, labels, values in curves:
        y, s = _labels_and_scores(labels, values, what="plot_roc")
        auc, pauc = auc_pauc(y, s, max_fpr=max_fpr, group=name)
        fpr, tpr, _ = roc_curve(y, s)
        text = f"AUC {auc:.3f}, pAUC {pauc:.3f}"
        ax.plot(fpr, tpr, linewidth=1.5, label=f"{name} ({text})" if name else text)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate (normal clips flagged)")
    ax.set_ylabel("true positive rate (anomalies found)")
    place_legend(ax, where="below")
    if title:
        ax.set_title(title)
    return fig


def plot_score_histograms(
    y_true,
    scores=None,
    *,
    bins: int = 30,
    density: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Histograms of anomaly scores of normal and abnormal clips (or windows).

    Scores that span more than two decades get a log (or symlog) x axis with
    bins evenly spaced on it (:func:`score_scale`); the legend sits outside.

    Parameters
    ----------
    y_true : array-like [shape=(n,)] or pd.DataFrame
        Labels (1 / "abnormal" = positive), or a table with ``label`` and
        ``score`` columns (then leave ``scores`` out).
    scores : array-like [shape=(n,)] or None
        Anomaly scores, higher = more anomalous.
    bins : int > 0, default=30
        Number of bins, shared by both histograms.
    density : bool, default=True
        Normalise each class (classes of different size stay comparable):
        unit area on a linear axis, shares per bin on a log axis; otherwise
        counts.
    ax : matplotlib Axes or None, default=None
    title : str or None, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    y, s = _labels_and_scores(y_true, scores, what="plot_score_histograms")
    check_int("bins", bins, low=1)
    if not np.isfinite(s).all():
        raise ParameterError("plot_score_histograms: scores contain NaN/inf; expected finite")
    fig, ax = _figure_and_axes(ax, (6, 3.5))
    edges = log_bins(s, bins)
    scale = score_scale(ax, s, axis="x")
    # On a log axis, bins differ in width: show each class's share per bin instead of a density.
    share = density and scale != "linear"
    for value, name, color in ((0, "normal", "tab:blue"), (1, "abnormal", "tab:red")):
        part = s[y == value]
        if part.size:
            weights = np.full(part.size, 1.0 / part.size) if share else None
            ax.hist(part, bins=edges, density=density and not share, weights=weights,
                    alpha=0.55, color=color, label=f"{name} (n={part.size})")
    ax.set_xlabel("anomaly score (higher = more anomalous)" + ("" if scale == "linear" else f", {scale} axis"))
    ax.set_ylabel("share of the class per bin" if share else "density" if density else "count")
    place_legend(ax)
    if title:
        ax.set_title(title)
    return fig


def _one_method(results: pd.DataFrame, method) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the one method ``method`` selects (see :func:`plot_auc_heatmap`), and its method columns."""
    methods = method_columns(results)
    table = results
    if isinstance(method, str):
        columns = [c for c in methods if (results[c].astype(str) == method).any()]
        if len(columns) != 1:
            raise ParameterError(
                f"method={method!r} matches {len(columns)} method columns ({', '.join(columns) or 'none'}); "
                "pass a dict such as {'detector': 'gmm'}"
            )
        method = {columns[0]: method}
    if method:
        for column, value in method.items():
            if column not in methods:
                raise ParameterError(f"method column {column!r} not in results; method columns: {', '.join(methods)}")
            table = table[table[column].astype(str) == str(value)]
        if table.empty:
            raise ParameterError(f"no results for method {method}")
    combos = table[methods].drop_duplicates() if methods else pd.DataFrame()
    if len(combos) > 1:
        listing = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in combos.to_dict("records")[:8])
        raise ParameterError(f"results hold {len(combos)} methods, choose one with method=...: {listing}")
    return table, combos


def _annotate_cells(ax: Axes, grid: pd.DataFrame, bounds: pd.DataFrame | None, *, middle: float) -> None:
    """Write each cell's value (and its interval, from ``bounds``) on a heatmap, light on dark."""
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            value = grid.iat[i, j]
            if not np.isfinite(value):
                continue
            text = f"{value:.2f}"
            if bounds is not None and (grid.index[i], grid.columns[j]) in bounds.index:
                lo, hi = bounds.loc[(grid.index[i], grid.columns[j])]
                if np.isfinite(lo) and np.isfinite(hi):
                    text += f"\n[{lo:.2f}, {hi:.2f}]"
            ax.text(j, i, text, ha="center", va="center", color="white" if value < middle else "black",
                    fontsize="small")


def plot_auc_heatmap(
    results: pd.DataFrame,
    *,
    method: dict | str | None = None,
    metric: str = "auc",
    vmin: float = 0.5,
    vmax: float = 1.0,
    cmap: str = "viridis",
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Machine x SNR heatmap of the mean AUC (or pAUC) of one method, cells annotated.

    When ``results`` holds ``<metric>_lo`` and ``<metric>_hi`` and one row per
    (machine, SNR) cell (e.g. :func:`soundad.evaluate.mean_metric_ci` with
    ``by=["snr", "machine"]``), each cell also shows its interval,
    ``0.72`` over ``[0.55, 0.88]``.

    Parameters
    ----------
    results : pd.DataFrame
        Output of :func:`soundad.evaluate.evaluate_scores` (means are taken
        over model ids).
    method : dict, str or None, default=None
        Which method to show when ``results`` holds several: a dict of
        method-column values (``{"detector": "gmm", "weights": "imagenet"}``)
        or a single value found in exactly one method column (``"gmm"``).
        None is fine when ``results`` holds one method only.
    metric : {"auc", "pauc"}, default="auc"
    vmin, vmax : float, default=0.5, 1.0
        Colour range.
    cmap : str, default="viridis"
    ax : matplotlib Axes or None, default=None
    title : str or None, default=None
        Default: the metric and the method.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        Unknown metric or method, or several methods left after ``method``
        (the message lists them).
    """
    if metric not in ("auc", "pauc"):
        raise ParameterError(f"metric={metric!r}; expected 'auc' or 'pauc'")
    missing = [c for c in ("snr", "machine", metric) if c not in results.columns]
    if missing:
        raise ParameterError(f"results lack column(s) {', '.join(missing)}")
    table, combos = _one_method(results, method)
    grid = table.groupby(["machine", "snr"])[metric].mean().unstack("snr")
    grid = grid[snr_order(grid.columns)]
    bounds = None
    if {f"{metric}_lo", f"{metric}_hi"} <= set(table.columns) and not table.duplicated(["machine", "snr"]).any():
        # one row per cell: its interval is shown under the value
        bounds = table.set_index(["machine", "snr"])[[f"{metric}_lo", f"{metric}_hi"]]
    fig, ax = _figure_and_axes(ax, (1.6 + (1.6 if bounds is not None else 1.1) * grid.shape[1],
                                    1.2 + 0.6 * grid.shape[0]))
    image = ax.imshow(grid.to_numpy(dtype=float), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index])
    ax.set_xlabel("SNR")
    ax.set_ylabel("machine")
    _annotate_cells(ax, grid, bounds, middle=(vmin + vmax) / 2)
    fig.colorbar(image, ax=ax, label=metric.upper() if metric == "auc" else "pAUC")
    if title is None:
        described = ", ".join(f"{v}" for v in combos.iloc[0]) if len(combos) else ""
        title = f"{'AUC' if metric == 'auc' else 'pAUC'}" + (f": {described}" if described else "")
    ax.set_title(title)
    return fig


def plot_auc_by_snr(lines, *, ax: Axes | None = None, title: str | None = None,
                    spread: str = "sd over machines and splits") -> Figure:
    """Mean AUC per SNR of a few methods, one line each, bars the spread (chance line at 0.5).

    Parameters
    ----------
    lines : mapping of str to pd.DataFrame
        Label -> the table of :func:`soundad.report.auc_by_snr` (index ``snr``,
        columns ``auc`` and ``sd``). SNRs are placed in numeric order.
    ax : Axes or None
        Where to draw; None makes a new figure.
    title : str or None
    spread : str
        What the bars show, for the y label.
    """
    fig, ax = _figure_and_axes(ax, (8, 3.8))
    snrs = snr_order({s for table in lines.values() for s in table.index})
    for (label, table), style in zip(lines.items(), ["o-", "s--", "^:", "d-."] * len(lines)):
        table = table.reindex(snrs)
        ax.errorbar(snrs, table["auc"], yerr=table["sd"], fmt=style, capsize=3, label=label)
    ax.axhline(0.5, color="0.8", lw=0.8)
    ax.set_xlabel("SNR")
    ax.set_ylabel(f"mean AUC\n(bars: {spread})")
    if title:
        ax.set_title(title)
    place_legend(ax)
    return fig
