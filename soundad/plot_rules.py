"""The book's plotting rules, one function each (re-exported by :mod:`soundad.plots`).

* every image-like plot has a colour bar that names its units (:func:`show_image`);
* panels that are compared side by side share one colour scale (:func:`shared_limits`);
* scores that span decades go on a logarithmic axis (:func:`score_scale`);
* a legend covers neither data nor an axis label (:func:`place_legend`).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize
from matplotlib.legend import Legend
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import ScaledTranslation

from soundad.errors import ParameterError

__all__ = ["show_image", "shared_limits", "score_scale", "place_legend", "log_bins"]

#: Positive values spanning more than this ratio (two decades) get a log axis.
DECADES_RATIO = 100.0


def shared_limits(*arrays, percentiles: tuple[float, float] = (0.0, 100.0)) -> tuple[float, float]:
    """One colour range for panels that are compared side by side.

    Parameters
    ----------
    *arrays : array-like
        The panels' values (any shapes); NaN and inf are ignored.
    percentiles : (float, float), default=(0, 100)
        Lower and upper percentile over all finite values; ``(1, 99)`` ignores
        a few outliers.

    Returns
    -------
    (vmin, vmax) : tuple of float
        Pass both to every panel (e.g. :func:`show_image`).
    """
    if not arrays:
        raise ParameterError("shared_limits: pass at least one array")
    low, high = percentiles
    if not 0.0 <= low < high <= 100.0:
        raise ParameterError(f"percentiles={percentiles!r}; expected 0 <= low < high <= 100")
    values = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ParameterError("shared_limits: the arrays hold no finite value")
    vmin, vmax = np.percentile(values, [low, high])
    if vmin == vmax:  # a constant panel still needs a colour range
        vmin, vmax = vmin - 0.5, vmax + 0.5
    return float(vmin), float(vmax)


def _scaled_label(units: str, vmin: float, vmax: float) -> tuple[str, float]:
    """Label and divisor so that tick labels read 0.1-1000 instead of carrying an offset."""
    largest = max(abs(vmin), abs(vmax))
    if largest == 0 or 1e-2 <= largest < 1e4:
        return units, 1.0
    exponent = math.floor(math.log10(largest))
    return f"{units} (×1e{exponent})", 10.0**exponent


def show_image(
    ax: Axes,
    array,
    *,
    units: str,
    title: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "magma",
    origin: str = "lower",
    extent=None,
    aspect: str | float = "auto",
) -> Colorbar:
    """Show an image with a colour bar labelled with its units.

    Parameters
    ----------
    ax : matplotlib Axes
    array : np.ndarray [shape=(rows, cols) or (rows, cols, 3|4)]
        Values to colour, or an RGB(A) image already coloured with ``cmap``
        over ``[vmin, vmax]`` (then the colour bar shows that mapping; the
        default range is 0-1).
    units : str
        What a colour means, e.g. ``"level [dB]"`` or ``"activation [a.u.]"``.
        Values far from 1 are written as ``units (×1eN)`` with scaled ticks,
        so the colour bar carries no detached offset.
    title : str or None, default=None
    vmin, vmax : float or None
        Colour range; use :func:`shared_limits` for panels that are compared.
    cmap : str, default="magma"
    origin : {"lower", "upper"}, default="lower"
        Row 0 at the bottom (spectrograms: low frequencies at the bottom).
    extent : (left, right, bottom, top) or None
        Axis coordinates of the image (e.g. seconds and Hz).
    aspect : "auto", "equal" or float, default="auto"

    Returns
    -------
    colorbar : matplotlib.colorbar.Colorbar
    """
    if not isinstance(units, str) or not units.strip():
        raise ParameterError(f"units={units!r}; expected text saying what a colour means, e.g. 'level [dB]'")
    values = np.asarray(array)
    rgb = values.ndim == 3 and values.shape[-1] in (3, 4)
    if values.ndim != 2 and not rgb:
        raise ParameterError(f"array has shape {values.shape}; expected (rows, cols) or (rows, cols, 3|4)")
    if rgb:
        low = 0.0 if vmin is None else float(vmin)
        high = 1.0 if vmax is None else float(vmax)
        ax.imshow(values, origin=origin, extent=extent, aspect=aspect)
        mappable = ScalarMappable(norm=Normalize(low, high), cmap=cmap)
    else:
        finite = values[np.isfinite(values)] if values.size else values
        low = float(finite.min()) if vmin is None and finite.size else vmin
        high = float(finite.max()) if vmax is None and finite.size else vmax
        mappable = ax.imshow(values, origin=origin, extent=extent, aspect=aspect, cmap=cmap, vmin=low, vmax=high)
    label, divisor = _scaled_label(units, low if low is not None else 0.0, high if high is not None else 0.0)
    colorbar = ax.figure.colorbar(mappable, ax=ax, label=label)
    if divisor != 1.0:
        colorbar.formatter = FuncFormatter(lambda v, _pos: f"{v / divisor:g}")
        colorbar.update_ticks()
    if title:
        ax.set_title(title)
    return colorbar


def score_scale(ax: Axes, scores, *, axis: str = "x") -> str:
    """Put scores that span decades on a log axis; return the scale used.

    Parameters
    ----------
    ax : matplotlib Axes
    scores : array-like
        The scores drawn along ``axis``; NaN and inf are ignored.
    axis : {"x", "y"}, default="x"

    Returns
    -------
    scale : {"linear", "log", "symlog"}
        ``"log"`` when all scores are > 0 and span more than two decades;
        ``"symlog"`` when some scores are <= 0 and the largest magnitude is
        more than 100 times the median magnitude (linear within about the
        median magnitude).
    """
    if axis not in ("x", "y"):
        raise ParameterError(f"axis={axis!r}; expected 'x' or 'y'")
    scale, linthresh = _scale_for(scores)
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if scale == "symlog":
        setter("symlog", linthresh=linthresh)
        # Autoscaling pads in the transformed space, which on a symlog axis can add
        # decades of empty negative range below scores that are barely below zero.
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        low, high = float(values.min()), float(values.max())
        limits = (min(low * 2.0, -0.1 * linthresh) if low < 0 else 0.0, high * 2.0 if high > 0 else linthresh)
        (ax.set_xlim if axis == "x" else ax.set_ylim)(*limits)
    else:
        setter(scale)
    return scale


def _scale_for(scores) -> tuple[str, float]:
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return "linear", 0.0
    if (values > 0).all():
        return ("log", 0.0) if values.max() / values.min() > DECADES_RATIO else ("linear", 0.0)
    # Scores around zero always have tiny magnitudes; what matters is whether the
    # largest ones dwarf the typical one.
    typical = float(np.median(np.abs(values)))
    largest = float(np.max(np.abs(values)))
    if typical == 0 or largest / typical <= DECADES_RATIO:
        return "linear", 0.0
    return "symlog", float(10.0 ** math.floor(math.log10(typical)))


def log_bins(scores, bins: int) -> np.ndarray:
    """Histogram bin edges that look even on the axis :func:`score_scale` picks.

    Returns
    -------
    edges : np.ndarray [shape=(bins + 1,)]
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    scale, linthresh = _scale_for(values)
    if scale == "linear":
        return np.histogram_bin_edges(values, bins=bins)
    if scale == "log":
        return np.geomspace(values.min(), values.max(), bins + 1)

    def forward(v):
        return np.sign(v) * np.log10(1.0 + np.abs(v) / linthresh)

    def inverse(t):
        return np.sign(t) * linthresh * (10.0 ** np.abs(t) - 1.0)

    return inverse(np.linspace(forward(values.min()), forward(values.max()), bins + 1))


def place_legend(ax: Axes, *, where: str = "right", **kw) -> Legend:
    """A legend outside the axes, clear of the data and of the axis labels.

    Parameters
    ----------
    ax : matplotlib Axes
        Its artists must carry labels.
    where : {"right", "below"}, default="right"
        Beside the axes on the right, or under the x-axis label (for long
        labels in a narrow figure; set the x label first).
    **kw
        Passed to :meth:`matplotlib.axes.Axes.legend` (e.g. ``title``, ``ncols``).

    Returns
    -------
    legend : matplotlib.legend.Legend
    """
    if where not in ("right", "below"):
        raise ParameterError(f"where={where!r}; expected 'right' or 'below'")
    kw.setdefault("fontsize", "small")
    kw.setdefault("frameon", False)
    if where == "right":
        kw.setdefault("loc", "upper left")
        kw.setdefault("bbox_to_anchor", (1.02, 1.0))
        kw.setdefault("borderaxespad", 0.0)
        return ax.legend(**kw)
    # Below: a fixed distance under the axes, measured in points (so it survives the
    # layout engine resizing the axes) that clears the tick labels and the x label.
    tick = ax.xaxis.get_major_ticks()[0] if ax.xaxis.get_major_ticks() else None
    tick_points = (tick.get_tick_padding() + 1.3 * tick.label1.get_fontsize()) if tick else 0.0
    label = ax.xaxis.label
    label_points = (ax.xaxis.labelpad + 1.3 * label.get_fontsize()) if label.get_text() else 0.0
    drop = (tick_points + label_points + 4.0) / 72.0  # inches
    anchor = ax.transAxes + ScaledTranslation(0.0, -drop, ax.figure.dpi_scale_trans)
    kw.setdefault("loc", "upper center")
    kw.setdefault("bbox_to_anchor", (0.5, 0.0))
    kw.setdefault("bbox_transform", anchor)
    kw.setdefault("borderaxespad", 0.0)
    return ax.legend(**kw)
