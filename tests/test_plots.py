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
    plot_auc_heatmap,
    plot_mel,
    plot_roc,
    plot_score_histograms,
    plot_waveform,
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
