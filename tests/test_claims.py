"""check_claims on simulated score tables whose truth is known."""

import numpy as np
import pandas as pd
import pytest

from soundad.claims import CLAIMS, VERDICTS, check_claims
from soundad.errors import ParameterError


def simulate(methods: dict, *, seed: int, snrs=("0dB",), n_normal: int = 15, n_abnormal: int = 15,
             repeats: int = 1) -> pd.DataFrame:
    """A scores.csv-like table: ``methods`` maps (backbone, weights, detector) to the class
    separation of its scores (in noise sd), or to {snr: separation}. All methods score the
    same clips, whose shared latent part makes the comparison paired."""
    rng = np.random.default_rng(seed)
    frames = []
    for snr in snrs:
        y = np.r_[np.zeros(n_normal), np.ones(n_abnormal)]
        latent = rng.normal(size=y.size)
        for r in range(repeats):
            for (backbone, weights, detector), sep in methods.items():
                shift = sep[snr] if isinstance(sep, dict) else sep
                frames.append(pd.DataFrame({
                    "clip_id": [f"{i:03d}" for i in range(y.size)], "snr": snr, "machine": "fan",
                    "model_id": "id_00", "repeat": r, "label": np.where(y == 1, "abnormal", "normal"),
                    "score": 0.7 * latent + rng.normal(size=y.size) + shift * y,
                    "method": f"{backbone}/{weights}/{detector}", "backbone": backbone, "weights": weights,
                    "layer": "default", "detector": detector,
                }))
    return pd.concat(frames, ignore_index=True)


def weights_table(imagenet: float, random: float, seed: int, **kw) -> pd.DataFrame:
    return simulate({("efficientnet_lite0", "imagenet", "gmm"): imagenet,
                     ("efficientnet_lite0", "random", "gmm"): random}, seed=seed, **kw)


def test_strong_effect_supported_reversed_contradicted():
    table = check_claims(weights_table(2.5, 0.3, seed=0), n_boot=300)
    assert list(table.columns) == ["check", "claim", "verdict", "estimate", "lo", "hi", "evidence", "groups"]
    assert table["check"].tolist() == [c for c, _ in CLAIMS]
    row = table.iloc[0]
    assert row.verdict == "supported" and row.lo > 0 and row.lo <= row.estimate <= row.hi
    assert f"{row.estimate:+.3f}" in row.evidence and f"[{row.lo:+.3f}, {row.hi:+.3f}]" in row.evidence
    reversed_ = check_claims(weights_table(0.3, 2.5, seed=0), n_boot=300).iloc[0]
    assert reversed_.verdict == "contradicted" and reversed_.hi < 0
    # the other checks lack their rows and say which
    for row in table.iloc[1:].itertuples():
        assert row.verdict == "not testable here" and "not testable here: no" in row.evidence
        assert np.isnan(row.estimate)
    assert "conv autoencoder" in table.iloc[1].evidence


def test_no_effect_is_rarely_supported(report):
    """Calibration: with no true difference, 'supported' should come out in about 2.5 % (one tail of 95 %)."""
    verdicts = [check_claims(weights_table(1.0, 1.0, seed=s), n_boot=200, seed=s).iloc[0].verdict
                for s in range(200)]
    rate = verdicts.count("supported") / len(verdicts)
    report(f"check_claims calibration: false 'supported' rate under no effect {rate:.3f} over "
           f"{len(verdicts)} simulations (contradicted {verdicts.count('contradicted') / len(verdicts):.3f})")
    assert set(verdicts) <= set(VERDICTS)
    assert rate <= 0.08


def test_transfer_and_noise_gap():
    methods = {
        ("resnet18", "imagenet", "gmm"): {"-6dB": 2.5, "6dB": 2.6},
        ("alexnet", "imagenet", "gmm"): {"-6dB": 0.2, "6dB": 0.5},
        ("resnet18", "imagenet", "knn"): {"-6dB": 0.3, "6dB": 0.4},
        ("alexnet", "imagenet", "knn"): {"-6dB": 0.1, "6dB": 0.2},
        ("conv_ae", "none", "reconstruction"): {"-6dB": -1.5, "6dB": 1.5},
    }
    table = check_claims(simulate(methods, seed=1, snrs=("-6dB", "6dB"), repeats=2), n_boot=300)
    by_claim = table.set_index("claim")
    assert by_claim.loc[CLAIMS[1][1], "verdict"] == "supported"
    noise = by_claim.loc[CLAIMS[2][1]]
    assert noise.verdict == "supported" and noise.lo > 0 and "at -6dB" in noise.evidence
    assert by_claim.loc[CLAIMS[3][1], "verdict"] == "supported"  # resnet > alexnet
    assert by_claim.loc[CLAIMS[4][1], "verdict"] == "supported"  # gmm > knn
    assert by_claim.loc[CLAIMS[0][1], "verdict"] == "not testable here"  # no random weights
    assert (table.groups[table.verdict != "not testable here"] == 2).all()


def test_one_snr_noise_half_not_testable_and_bad_input():
    methods = {("efficientnet_lite0", "imagenet", "gmm"): 1.0, ("conv_ae", "none", "reconstruction"): 1.0}
    table = check_claims(simulate(methods, seed=2), n_boot=100)
    assert table.iloc[2].verdict == "not testable here" and "only one SNR" in table.iloc[2].evidence
    assert table.iloc[1].verdict in ("supported", "contradicted", "inconclusive")
    with pytest.raises(ParameterError, match="detector"):
        check_claims(simulate(methods, seed=2).drop(columns="detector"))


def test_verdict_values_name_each_row_and_leave_untestable_numbers_empty():
    from soundad.claims import verdict_values
    from soundad.narrate import verdict_sentence

    table = check_claims(weights_table(2.5, 0.3, seed=0), n_boot=200)
    values = verdict_values(table, prefix="ch06_check")
    assert len(values) == 5 * len(table)
    first = table.iloc[0]
    assert values["ch06_check0_verdict"] == "supported"
    assert values["ch06_check0_sentence"] == verdict_sentence(first)
    assert (values["ch06_check0_estimate"], values["ch06_check0_lo"], values["ch06_check0_hi"]) == (
        first.estimate, first.lo, first.hi)
    last = len(table) - 1
    assert values[f"ch06_check{last}_verdict"] == "not testable here"
    assert values[f"ch06_check{last}_estimate"] is None and values[f"ch06_check{last}_hi"] is None
