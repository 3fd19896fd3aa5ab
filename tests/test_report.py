"""summary.md and the AUC heatmap show intervals (soundad.report, soundad.plots.plot_auc_heatmap)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from soundad.evaluate import evaluate_scores, format_ci, mean_metric_ci  # noqa: E402
from soundad.plots import plot_auc_heatmap  # noqa: E402
from soundad.report import interval_table, write_summary  # noqa: E402


def scores_table(repeats=2):
    rng = np.random.default_rng(0)
    frames = []
    for snr in ("-6dB", "6dB"):
        y = np.r_[np.zeros(12), np.ones(8)]
        for r in range(repeats):
            for method in ("a", "b"):
                frames.append(pd.DataFrame({
                    "clip_id": [f"{i:02d}" for i in range(20)], "snr": snr, "machine": "fan", "model_id": "id_00",
                    "label": np.where(y == 1, "abnormal", "normal"), "repeat": r, "method": method,
                    "score": rng.normal(size=20) + (1.5 if method == "a" else 0.3) * y,
                }))
    return pd.concat(frames, ignore_index=True)


def test_summary_cells_carry_intervals(tmp_path):
    scores = scores_table()
    results = evaluate_scores(scores, n_boot=200)
    path = write_summary(results, tmp_path / "summary.md", scores=scores, n_boot=200)
    text = path.read_text()
    overall = interval_table(results, scores, n_boot=200).set_index("method")
    a = overall.loc["a"]
    assert format_ci(a.auc, a.auc_lo, a.auc_hi, digits=3) in text
    assert a.auc_lo < a.auc < a.auc_hi and a.n_repeats == 2 and a.n_groups == 2
    assert "repeated splits: 2" in text and "| all |" not in text


def test_heatmap_annotates_intervals():
    heat = mean_metric_ci(scores_table(), by=["snr", "machine"], n_boot=200)
    fig = plot_auc_heatmap(heat[heat.method == "a"][["method", "snr", "machine", "auc", "auc_lo", "auc_hi"]])
    texts = [t.get_text() for t in fig.axes[0].texts]
    row = heat[(heat.method == "a") & (heat.snr == "-6dB")].iloc[0]
    assert f"{row.auc:.2f}\n[{row.auc_lo:.2f}, {row.auc_hi:.2f}]" in texts
