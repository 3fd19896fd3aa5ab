"""Tests of soundad.plots: every function returns a Figure with the expected axes."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from soundad.errors import ParameterError  # noqa: E402
from soundad.evaluate import evaluate_scores  # noqa: E402
from soundad.plots import (  # noqa: E402
    listen,
    place_legend,
    plot_auc_heatmap,
    plot_mel,
    plot_roc,
    plot_score_histograms,
    plot_waveform,
    score_scale,
    shared_limits,
    show_image,
)


def scores_table(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for detector, gap in (("gmm", 2.0), ("ocsvm", 1.0)):
        for snr in ("6dB", "-6dB", "0dB"):
            for machine in ("fan", "valve"):
                for i in range(12):
                    label = "abnormal" if i % 3 == 0 else "normal"
                    rows.append(
                        dict(
                            clip_id=f"{snr}/{machine}/id_00/{label}/{i:08d}.wav",
                            snr=snr, machine=machine, model_id="id_00", label=label,
                            score=rng.normal() + (gap if label == "abnormal" else 0.0),
                            detector=detector,
                        )
                    )
    return pd.DataFrame(rows)


def render(fig):
    """Draw the figure to PNG bytes (catches layout/colorbar errors a bare Figure could hide)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_waveform():
    sr = 8000
    y = np.sin(np.linspace(0, 100, 2 * sr)).astype(np.float32)
    fig = plot_waveform(y, sr=sr, title="fan id_00")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title() == "fan id_00"
    assert ax.get_xlabel() == "time [s]"
    assert ax.get_xlim()[1] == pytest.approx(2.0)
    with pytest.raises(ParameterError, match="mono"):
        plot_waveform(np.zeros((2, 10)), sr=sr)


def test_plot_mel_low_frequencies_at_bottom_and_db_colorbar():
    mel = np.linspace(-80, 0, 64 * 40).reshape(64, 40)
    fig = plot_mel(mel, sr=16000, hop_length=512, fmax=8000, title="mel (synthetic)")
    assert isinstance(fig, Figure)
    ax, cbar = fig.axes
    assert ax.get_title() == "mel (synthetic)"
    assert ax.get_ylabel() == "frequency [Hz]"
    low, high = ax.get_ylim()
    assert low < high  # frequency increases upwards
    assert cbar.get_ylabel() == "level [dB]"
    render(fig)
    with pytest.raises(ParameterError, match=r"\(n_mels, frames\)"):
        plot_mel(np.zeros(10), sr=16000, hop_length=512)


def test_plot_roc_from_arrays_and_into_given_axes():
    y = np.r_[np.zeros(20), np.ones(10)]
    s = np.r_[np.linspace(0, 1, 20), np.linspace(0.5, 1.5, 10)]
    fig = plot_roc(y, s, label="gmm", title="ROC (synthetic, ImageNet weights)")
    (ax,) = fig.axes
    assert ax.get_title() == "ROC (synthetic, ImageNet weights)"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("gmm (AUC ") and "pAUC" in t for t in texts)
    assert len(ax.lines) == 2  # chance diagonal + one curve
    user_fig, user_ax = plt.subplots()
    try:
        assert plot_roc(y, s, ax=user_ax) is user_fig
    finally:
        plt.close(user_fig)


def test_plot_roc_from_table_one_curve_per_group():
    table = scores_table()
    fig = plot_roc(table, by="detector")
    (ax,) = fig.axes
    assert len(ax.lines) == 3
    render(fig)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("gmm (") for t in labels) and any(t.startswith("ocsvm (") for t in labels)
    with pytest.raises(ParameterError, match="by="):
        plot_roc([0, 1], [0, 1], by="detector")
    with pytest.raises(ParameterError, match="not both"):
        plot_roc(table, table.score)


def test_plot_score_histograms():
    table = scores_table()
    fig = plot_score_histograms(table[table.detector == "gmm"], title="scores")
    (ax,) = fig.axes
    assert ax.get_title() == "scores"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["normal (n=48)", "abnormal (n=24)"]
    assert ax.get_xscale() == "linear"
    assert_legend_covers_nothing(fig, ax)
    fig = plot_score_histograms([0, 0, 1], [0.1, 0.2, 0.9], bins=5, density=False)
    assert fig.axes[0].get_ylabel() == "count"
    with pytest.raises(ParameterError, match="bins"):
        plot_score_histograms([0, 1], [0.1, 0.2], bins=0)


def test_plot_auc_heatmap_cells_and_method_choice():
    results = evaluate_scores(scores_table())
    fig = plot_auc_heatmap(results, method="gmm")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-6dB", "0dB", "6dB"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fan", "valve"]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 6
    expected = results[(results.detector == "gmm") & (results.machine == "fan") & (results.snr == "-6dB")].auc.mean()
    assert cells[0].split("\n")[0] == f"{expected:.2f}" and cells[0].split("\n")[1].startswith("[")  # value, interval
    assert ax.get_title() == "AUC: gmm"
    render(fig)
    fig = plot_auc_heatmap(results, method={"detector": "ocsvm"}, metric="pauc", title="pAUC, ocsvm")
    assert fig.axes[0].get_title() == "pAUC, ocsvm"
    with pytest.raises(ParameterError, match="2 methods.*detector=gmm"):
        plot_auc_heatmap(results)
    with pytest.raises(ParameterError, match="metric"):
        plot_auc_heatmap(results, method="gmm", metric="f1")
    with pytest.raises(ParameterError, match="matches 0"):
        plot_auc_heatmap(results, method="lof")


# ----------------------------------------------------------------------------- figure rules
def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def assert_legend_covers_nothing(fig, ax):
    """After layout, the legend lies outside the axes and clear of both axis labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert not _overlaps(legend, ax.get_window_extent(renderer)), "legend covers the data area"
    for label in (ax.xaxis.label, ax.yaxis.label):
        if label.get_text():
            assert not _overlaps(legend, label.get_window_extent(renderer)), f"legend covers {label.get_text()!r}"
    figure_box = fig.bbox
    assert legend.x1 <= figure_box.x1 + 1 and legend.y0 >= figure_box.y0 - 1, "legend cut off by the figure edge"


def test_score_histograms_of_scores_spanning_decades_use_a_log_axis():
    # Chapter 04's case: normal scores ~2e3, abnormal up to 1.4e8.
    rng = np.random.default_rng(0)
    normal = 2e3 * np.exp(rng.normal(size=40))
    abnormal = np.geomspace(1e5, 1.4e8, 10)
    y = np.r_[np.zeros(40), np.ones(10)]
    fig = plot_score_histograms(y, np.r_[normal, abnormal], bins=20)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "log axis" in ax.get_xlabel()
    heights = [patch.get_height() for patch in ax.patches]
    # Shares per bin: each class sums to one, and normal clips are spread over several bins.
    assert sum(heights) == pytest.approx(2.0)
    assert sum(h > 0 for h in heights[:20]) >= 3
    render(fig)
    assert_legend_covers_nothing(fig, ax)


def test_score_scale_linear_log_and_symlog():
    fig = Figure()
    ax = fig.add_subplot()
    assert score_scale(ax, [1.0, 5.0, 90.0]) == "linear"  # under two decades
    assert ax.get_xscale() == "linear"
    assert score_scale(ax, [2e3, 1e4, 1.4e8]) == "log"
    assert ax.get_xscale() == "log"
    assert score_scale(ax, [-3.0, 0.0, 1.0, 2.0, 5e4], axis="y") == "symlog"
    assert ax.get_yscale() == "symlog"
    low, high = ax.get_ylim()  # every score in view, and no decades of empty range below zero
    assert -6.0 <= low <= -3.0 and high >= 5e4
    score_scale(ax, [-1e6, 3.0, 5.0, 1e8], axis="x")
    assert ax.get_xlim()[0] <= -1e6 and ax.get_xlim()[1] >= 1e8
    assert score_scale(ax, np.random.default_rng(0).normal(size=200), axis="y") == "linear"
    assert score_scale(ax, [np.nan, 1.0, 2.0]) == "linear"
    with pytest.raises(ParameterError, match="axis"):
        score_scale(ax, [1, 2], axis="z")


def test_show_image_has_a_colour_bar_with_units():
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    values = np.arange(12.0).reshape(3, 4)
    colorbar = show_image(ax, values, units="level [dB]", title="mel")
    assert colorbar.ax.get_ylabel() == "level [dB]"
    assert ax.get_title() == "mel"
    assert colorbar.mappable.get_clim() == (0.0, 11.0)
    assert ax.images[0].origin == "lower"
    render(fig)
    with pytest.raises(ParameterError, match="units"):
        show_image(ax, values, units="")
    with pytest.raises(ParameterError, match="shape"):
        show_image(ax, np.zeros(5), units="a.u.")


def test_show_image_writes_tiny_scales_into_the_label():
    # Random-weight feature maps are ~1e-8: the scale belongs in the label, not in a detached offset.
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    colorbar = show_image(ax, np.linspace(0, 3e-8, 20).reshape(4, 5), units="activation [a.u.]")
    assert colorbar.ax.get_ylabel() == "activation [a.u.] (×1e-8)"
    render(fig)
    ticks = [t.get_text() for t in colorbar.ax.get_yticklabels() if t.get_text()]
    assert ticks and all(abs(float(t.replace("−", "-"))) <= 3.0 for t in ticks)


def test_show_image_of_coloured_images_shows_the_mapping():
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    rgb = np.random.default_rng(0).random((8, 8, 3))
    colorbar = show_image(ax, rgb, units="normalised level", cmap="viridis", vmin=0, vmax=1, origin="upper")
    assert colorbar.mappable.get_cmap().name == "viridis"
    assert colorbar.mappable.get_clim() == (0.0, 1.0)
    render(fig)


def test_shared_limits_span_every_panel():
    a, b = np.array([[0.0, 1.0], [2.0, np.nan]]), np.array([5.0, -1.0, np.inf])
    assert shared_limits(a, b) == (-1.0, 5.0)
    lo, hi = shared_limits(np.arange(101.0), percentiles=(1, 99))
    assert (lo, hi) == pytest.approx((1.0, 99.0))
    assert shared_limits(np.ones(3)) == (0.5, 1.5)
    with pytest.raises(ParameterError, match="finite"):
        shared_limits(np.array([np.nan]))
    with pytest.raises(ParameterError, match="at least one"):
        shared_limits()


def test_compared_panels_share_one_colour_scale():
    first, second = np.zeros((4, 4)), np.full((4, 4), 10.0)
    vmin, vmax = shared_limits(first, second)
    fig = Figure(layout="constrained")
    left, right = fig.subplots(1, 2)
    bars = [show_image(ax, v, units="error [dB²]", vmin=vmin, vmax=vmax) for ax, v in ((left, first), (right, second))]
    assert bars[0].mappable.get_clim() == bars[1].mappable.get_clim() == (0.0, 10.0)


@pytest.mark.parametrize("where", ["right", "below"])
def test_place_legend_covers_no_data_and_no_label(where):
    fig = Figure(figsize=(4, 3), layout="constrained")
    ax = fig.add_subplot()
    x = np.linspace(0, 1, 50)
    ax.plot(x, x, label="a rather long legend entry")
    ax.plot(x, x**2, label="another one")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    place_legend(ax, where=where)
    assert_legend_covers_nothing(fig, ax)
    with pytest.raises(ParameterError, match="where"):
        place_legend(ax, where="inside")


def test_plot_roc_legend_covers_nothing():
    fig = plot_roc(scores_table(), by="detector")
    assert_legend_covers_nothing(fig, fig.axes[0])


def test_plot_mel_takes_a_shared_colour_range():
    mel = np.linspace(-80, 0, 64 * 40).reshape(64, 40)
    fig = plot_mel(mel, sr=16000, hop_length=512, vmin=-100, vmax=10)
    assert fig.axes[0].collections[0].get_clim() == (-100, 10)


# ----------------------------------------------------------------------------- listening
def _decode_player(player):
    import base64
    import wave

    html = player.data
    match = __import__("re").search(r'<audio controls[^>]* src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, html[:200]
    with wave.open(io.BytesIO(base64.b64decode(match.group(1)))) as wav:
        return html, wav.getframerate(), wav.getnchannels(), wav.getnframes()


def test_listen_embeds_a_labelled_16khz_wav():
    sr = 16000
    y = 0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * sr) / sr)
    html, rate, channels, frames = _decode_player(listen(y, sr, label="fan id_00 — abnormal, score 1.4e+08"))
    assert html.startswith("<figure") and html.endswith("</figure>")
    assert "<figcaption" in html and "fan id_00 — abnormal, score 1.4e+08</figcaption>" in html
    assert (rate, channels, frames) == (16000, 1, 3 * sr)


def test_listen_cuts_resamples_and_escapes():
    sr = 48000
    y = np.random.default_rng(0).normal(scale=3.0, size=10 * sr)  # loud: peaks above 1 are scaled, not clipped
    html, rate, channels, frames = _decode_player(listen(y, sr, label="<b>x</b> & y", max_seconds=2.0))
    assert (rate, channels, frames) == (16000, 1, 2 * 16000)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html and "<b>" not in html
    with pytest.raises(ParameterError, match="label"):
        listen(y, sr, label="  ")
    with pytest.raises(ParameterError, match="mono"):
        listen(np.zeros((2, 100)), sr, label="stereo")
    with pytest.raises(ParameterError, match="sr"):
        listen(y, 0, label="x")


def test_panels_are_made_outside_pyplot():
    import matplotlib.pyplot as plt

    from soundad.plots import panels

    before = plt.get_fignums()
    fig, axes = panels(2, 3, panel_size=(2.0, 1.5))
    assert axes.shape == (2, 3)
    assert tuple(fig.get_size_inches()) == (6.0, 3.0)
    assert plt.get_fignums() == before  # nothing registered with pyplot: nothing to leak in a loop
    with pytest.raises(ParameterError, match="ncols=0; expected an integer >= 1"):
        panels(1, 0, panel_size=(1.0, 1.0))
