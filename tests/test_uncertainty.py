"""Bootstrap intervals, DeLong, format_ci and the paired comparison (soundad.uncertainty)."""

import numpy as np
import pandas as pd
import pytest

from soundad.errors import ParameterError
from soundad.evaluate import (
    Comparison,
    auc_pauc,
    bootstrap_ci,
    compare,
    delong_ci,
    evaluate_scores,
    format_ci,
    mean_metric_ci,
)
from soundad.uncertainty import unit_bootstrap, weighted_auc_pauc


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("max_fpr", [0.1, 0.25, 1.0])
def test_weighted_areas_match_auc_pauc(ties, max_fpr):
    rng = np.random.default_rng(1)
    for trial in range(20):
        n = int(rng.integers(4, 40))
        y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
        s = rng.normal(size=n) + y
        if ties:
            s = np.round(s, 0)
        auc, pauc = weighted_auc_pauc(y, s, np.ones((1, n)), max_fpr=max_fpr)
        want = auc_pauc(y, s, max_fpr=max_fpr)
        assert auc[0] == pytest.approx(want[0], abs=1e-12)
        assert pauc[0] == pytest.approx(want[1], abs=1e-12)


def test_weights_equal_repeated_clips():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(8), np.ones(6)].astype(int)
    s = rng.normal(size=14) + y
    w = rng.integers(0, 3, size=14)
    w[0] = w[-1] = 1
    auc, pauc = weighted_auc_pauc(y, s, w[None, :])
    expanded = auc_pauc(np.repeat(y, w), np.repeat(s, w))
    assert (auc[0], pauc[0]) == pytest.approx(expanded, abs=1e-12)


def test_bootstrap_ci_seeded_and_sensible():
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    s = rng.normal(size=40) + 1.0 * y
    auc, pauc = auc_pauc(y, s)
    lo, hi = bootstrap_ci(y, s, n_boot=500, seed=4)
    assert (lo, hi) == bootstrap_ci(y, s, n_boot=500, seed=4)
    assert (lo, hi) != bootstrap_ci(y, s, n_boot=500, seed=5)
    assert lo < auc < hi and 0.1 < hi - lo < 0.5
    plo, phi = bootstrap_ci(y, s, metric="pauc", n_boot=500)
    assert plo <= pauc <= phi
    assert np.isnan(bootstrap_ci(y, s, n_boot=0)).all()
    with pytest.raises(ParameterError, match="metric"):
        bootstrap_ci(y, s, metric="f1")
    with pytest.raises(ParameterError, match="level"):
        bootstrap_ci(y, s, level=95)


def test_bootstrap_and_delong_agree_roughly():
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(60), np.ones(60)].astype(int)
    s = rng.normal(size=120) + 0.8 * y
    auc, dlo, dhi = delong_ci(y, s)
    lo, hi = bootstrap_ci(y, s, n_boot=2000)
    assert dlo < auc < dhi
    assert abs((dhi - dlo) - (hi - lo)) < 0.05


def test_format_ci():
    assert format_ci(0.7234, 0.551, 0.8789) == "0.72 [0.55, 0.88]"
    assert format_ci(0.7234, np.nan, np.nan) == "0.72"
    assert format_ci(0.5, 0.25, 0.75, digits=3) == "0.500 [0.250, 0.750]"


def test_evaluate_scores_interval_columns():
    rng = np.random.default_rng(6)
    n = 30
    scores = pd.DataFrame({
        "clip_id": [f"c{i}" for i in range(n)], "snr": "0dB", "machine": "fan", "model_id": "id_00",
        "label": ["normal"] * 15 + ["abnormal"] * 15, "score": rng.normal(size=n) + np.r_[np.zeros(15), np.ones(15)],
        "detector": "gmm",
    })
    results = evaluate_scores(scores, n_boot=300, seed=1)
    row = results.iloc[0]
    assert row.auc_lo <= row.auc <= row.auc_hi and row.pauc_lo <= row.pauc <= row.pauc_hi
    y = (scores["label"] == "abnormal").astype(int)
    assert (row.auc_lo, row.auc_hi) == pytest.approx(bootstrap_ci(y, scores["score"], n_boot=300, seed=1))
    assert results[["auc_lo", "auc_hi", "pauc_lo", "pauc_hi"]].notna().all(axis=None)
    assert evaluate_scores(scores, n_boot=0)[["auc_lo", "auc_hi", "pauc_lo", "pauc_hi"]].isna().all(axis=None)


def simulated_scores(*, effect: float, seed: int, n_normal: int = 15, n_abnormal: int = 15, repeats: int = 1,
                     groups=(("0dB", "fan", "id_00"),)) -> pd.DataFrame:
    """Two methods a and b scoring the same clips; a separates classes better by ``effect`` (sd units)."""
    rng = np.random.default_rng(seed)
    frames = []
    for snr, machine, model in groups:
        y = np.r_[np.zeros(n_normal), np.ones(n_abnormal)]
        latent = rng.normal(size=y.size)
        for r in range(repeats):
            for method, shift in (("a", 1.0 + effect), ("b", 1.0)):
                frames.append(pd.DataFrame({
                    "clip_id": [f"{i:03d}" for i in range(y.size)], "snr": snr, "machine": machine,
                    "model_id": model, "label": np.where(y == 1, "abnormal", "normal"),
                    "score": 0.5 * latent + rng.normal(size=y.size) + shift * y, "method": method, "repeat": r,
                }))
    return pd.concat(frames, ignore_index=True)


def test_compare_paired_strong_effect_and_reverse():
    scores = simulated_scores(effect=2.0, seed=0, repeats=3)
    result = compare(scores, {"method": "a"}, {"method": "b"}, n_boot=300)
    assert isinstance(result, Comparison)
    assert result.lo <= result.estimate <= result.hi
    assert result.verdict() == "supported" and result.verdict("less") == "contradicted"
    assert result.n_groups == 1 and result.n_repeats == 3 and result.n_clips == 30
    text = result.describe()
    assert f"{result.estimate:+.3f}" in text and f"[{result.lo:+.3f}, {result.hi:+.3f}]" in text
    reverse = compare(scores, {"method": "b"}, {"method": "a"}, n_boot=300)
    assert reverse.estimate == pytest.approx(-result.estimate)
    assert reverse.verdict() == "contradicted"
    drawn = unit_bootstrap(scores, n_boot=300)  # drawn once, reused for both pairs: the same results
    assert compare(scores, {"method": "a"}, {"method": "b"}, n_boot=300, drawn=drawn) == result
    assert compare(scores, {"method": "b"}, {"method": "a"}, n_boot=300, drawn=drawn) == reverse


def test_compare_and_mean_ci_errors_and_shape():
    scores = simulated_scores(effect=0.0, seed=1, repeats=2)
    with pytest.raises(ParameterError, match="not a method column"):
        compare(scores, {"weights": "x"}, {"method": "b"})
    with pytest.raises(ParameterError, match="same rows"):
        compare(scores, {"method": "a"}, {"method": "a"})
    table = mean_metric_ci(scores, n_boot=200)
    assert list(table.columns) == ["method", "auc", "auc_lo", "auc_hi", "n_groups", "n_repeats"]
    assert (table["auc_lo"] <= table["auc"]).all() and (table["auc"] <= table["auc_hi"]).all()
    assert table["n_repeats"].tolist() == [2, 2]


@pytest.mark.parametrize("n_boot", [0, 150])
def test_one_bootstrap_aggregated_many_ways_equals_mean_metric_ci(n_boot):
    from soundad.uncertainty import aggregate_metric_ci, unit_bootstrap, unit_bootstraps

    groups = (("0dB", "fan", "id_00"), ("6dB", "fan", "id_00"), ("0dB", "pump", "id_02"))
    scores = simulated_scores(effect=0.5, seed=3, repeats=2, groups=groups)
    both = unit_bootstraps(scores, n_boot=n_boot, seed=4)
    for metric in ("auc", "pauc"):
        units, boot = unit_bootstrap(scores, metric=metric, n_boot=n_boot, seed=4)
        pd.testing.assert_frame_equal(both[metric][0], units)
        np.testing.assert_array_equal(both[metric][1], boot)
        assert boot.shape == (len(units), n_boot) == (12, n_boot)
        for row in units.itertuples():  # each unit's value is its plain AUC / pAUC
            part = scores[(scores.method == row.method) & (scores.repeat == row.repeat) & (scores.snr == row.snr)
                          & (scores.machine == row.machine)]
            assert row.value == pytest.approx(auc_pauc(part["label"], part["score"])[metric == "pauc"])
        for by in ([], ["machine"], ["snr"], ["snr", "machine"]):
            expected = mean_metric_ci(scores, by=by, metric=metric, n_boot=n_boot, seed=4)
            table = aggregate_metric_ci(*both[metric], by=by, metric=metric)
            pd.testing.assert_frame_equal(table, expected)
            means = units.groupby(["method", *by], sort=False)["value"].mean()
            np.testing.assert_allclose(table[metric], means.to_numpy())
            assert table[f"{metric}_lo"].isna().all() == (n_boot == 0)
    with pytest.raises(ParameterError, match="by="):
        aggregate_metric_ci(*both["auc"], by=["method"])
