"""summary.md and the AUC heatmap show intervals (soundad.report, soundad.plots.plot_auc_heatmap)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

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


def grid_results() -> pd.DataFrame:
    """A results.csv-like table: two methods, three SNRs (in text order 6dB < -6dB < 0dB), two splits."""
    rows = []
    for method, backbone, base in (("r18/imagenet/gmm", "r18", 0.8), ("conv_ae", "conv_ae", 0.6)):
        for snr, shift in (("6dB", 0.1), ("-6dB", -0.2), ("0dB", 0.0)):
            for repeat, noise in ((0, -0.05), (1, 0.05)):
                rows.append({"method": method, "backbone": backbone, "weights": "imagenet", "detector": "gmm",
                             "snr": snr, "machine": "fan", "model_id": "id_00", "repeat": repeat,
                             "auc": base + shift + noise})
    rows.append(dict(rows[0], snr="12dB", auc=float("nan")))  # a skipped group
    return pd.DataFrame(rows)


def test_spread_over_splits_is_per_method_in_run_order():
    from soundad.report import spread_over_splits

    table = spread_over_splits(grid_results()).set_index("backbone")
    assert list(table.index) == ["r18", "conv_ae"]
    r18 = table.loc["r18"]
    values = [0.85, 0.95, 0.55, 0.65, 0.75, 0.85]  # 6dB, -6dB, 0dB; the skipped 12dB row is left out
    assert r18["mean AUC"] == pytest.approx(np.mean(values))
    assert r18["sd over splits"] == pytest.approx(np.std(values, ddof=1))
    assert (r18["lowest"], r18["highest"]) == pytest.approx((0.55, 0.95))


def test_auc_by_snr_orders_snrs_by_number_and_plots():
    from soundad.plots import plot_auc_by_snr
    from soundad.report import auc_by_snr

    table = auc_by_snr(grid_results(), select={"backbone": "conv_ae"})
    assert list(table.index) == ["-6dB", "0dB", "6dB"]
    assert table.loc["-6dB", "auc"] == pytest.approx(0.4) and table.loc["-6dB", "n"] == 2
    assert table.loc["6dB", "sd"] == pytest.approx(np.std([0.65, 0.75], ddof=1))
    lines = {"r18": auc_by_snr(grid_results(), select={"backbone": "r18"}), "conv AE": table}
    fig = plot_auc_by_snr(lines, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-6dB", "0dB", "6dB"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["r18", "conv AE"]


def test_beside_published_keeps_the_machines_of_the_run():
    from soundad.report import beside_published

    published = pd.DataFrame({"machine": ["fan", "pump"], "model_id": ["id_00", "id_00"], "snr": ["0dB", "0dB"],
                              "auc": [0.65, 0.7]})
    ours = grid_results()
    ours = ours[ours["snr"] == "0dB"]
    table = beside_published(ours, published, source="published: X", method="dense AE (X)")
    assert list(table.columns) == ["source", "method", "machine", "model_id", "snr", "AUC"]
    assert list(table["source"]) == ["this run", "this run", "published: X"]
    conv = table[table["method"] == "conv_ae"].iloc[0]
    assert conv["AUC"] == f"{0.6:.3f} ± {np.std([0.55, 0.65], ddof=1):.3f} (sd over 2 splits)"
    assert table.iloc[-1]["machine"] == "fan" and table.iloc[-1]["AUC"] == "0.650"
    elsewhere = beside_published(ours.assign(machine="valve"), published, source="p", method="m")
    assert list(elsewhere["machine"][elsewhere["source"] == "p"]) == ["fan", "pump"]  # none shared: all shown


def test_beside_dcase2020_is_the_chapter_06_table():
    from soundad.evaluate import mcclish_pauc
    from soundad.published import dcase2020_baseline
    from soundad.report import beside_dcase2020

    results = pd.DataFrame({
        "backbone": ["dense_ae", "dense_ae", "dense_ae", "efficientnet_lite0"],
        "machine": ["fan", "fan", "valve", "fan"],
        "auc": [0.6, 0.8, 0.55, 0.9],
        "pauc": [0.52, 0.58, 0.51, 0.7],
    })
    table = beside_dcase2020(results)
    # what chapter 06 computed inline before
    dcase = dcase2020_baseline()
    dcase["source"] = "published: DCASE 2020 Task 2 baseline (dev. set mean)"
    dense = results[results["backbone"] == "dense_ae"]
    mine = pd.DataFrame([{
        "source": "this run: dense AE", "machine": machine,
        "auc": part["auc"].mean(),
        "pauc": float(np.mean([mcclish_pauc(p) for p in part["pauc"]])),
    } for machine, part in dense.groupby("machine")])
    expected = pd.concat([dcase.drop(columns="citation"), mine], ignore_index=True)
    pd.testing.assert_frame_equal(table, expected)
    assert table["source"].str.startswith("this run").sum() == 2  # fan and valve, not the transfer row
    skipped = pd.concat([results, pd.DataFrame({"backbone": ["dense_ae"], "machine": ["fan"],
                                                "auc": [np.nan], "pauc": [np.nan]})], ignore_index=True)
    pd.testing.assert_frame_equal(beside_dcase2020(skipped), table)  # a skipped group's NaN row is left out
