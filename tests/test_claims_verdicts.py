"""soundad.claims: the verdicts chapter 06 prints are computed from the clip scores present.

(Adapted to the paired-bootstrap ``check_claims(scores, ...)`` of issue 10: tables are now
clip-score tables like ``scores.csv``, and verdicts know noise.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soundad.claims import CLAIMS, check_claims
from soundad.errors import ParameterError


def _scores(spec, *, seed=0, n=20):
    """spec: {(backbone, weights, detector): {snr: separation}}; two machines, same clips for all methods."""
    rng = np.random.default_rng(seed)
    frames = []
    for snr in ("-6dB", "6dB"):
        for machine in ("fan", "pump"):
            y = np.r_[np.zeros(n), np.ones(n)]
            latent = rng.normal(size=y.size)
            for (backbone, weights, detector), sep in spec.items():
                if snr not in sep:
                    continue
                frames.append(pd.DataFrame({
                    "clip_id": [f"{i:03d}" for i in range(y.size)], "snr": snr, "machine": machine,
                    "model_id": "id_00", "label": np.where(y == 1, "abnormal", "normal"),
                    "score": 0.5 * latent + rng.normal(size=y.size) + sep[snr] * y, "backbone": backbone,
                    "weights": weights, "detector": detector,
                }))
    return pd.concat(frames, ignore_index=True)


def _full(gap_low=3.0, gap_high=1.0, knn=None):
    """Separations: conv AE and random weights 0; ImageNet ResNet GMM/OC-SVM the gap; AlexNet and k-NN less."""
    gap = {"-6dB": gap_low, "6dB": gap_high}
    scaled = lambda f: {snr: f * g for snr, g in gap.items()}  # noqa: E731
    zero = {"-6dB": 0.0, "6dB": 0.0}
    return _scores({
        ("conv_ae", "none", "reconstruction"): zero,
        ("resnet18", "imagenet", "gmm"): gap,
        ("resnet18", "imagenet", "ocsvm"): gap,
        ("resnet18", "imagenet", "knn"): scaled(0.5) if knn is None else {"-6dB": knn, "6dB": knn},
        ("alexnet", "imagenet", "gmm"): scaled(0.4),
        ("alexnet", "imagenet", "ocsvm"): scaled(0.4),
        ("alexnet", "imagenet", "knn"): scaled(0.3),
        ("resnet18", "random", "gmm"): zero,
        ("resnet18", "random", "ocsvm"): zero,
        ("resnet18", "random", "knn"): zero,
    })


def test_all_claims_supported_on_a_table_built_to_support_them():
    verdicts = check_claims(_full(), n_boot=300)
    assert list(verdicts["claim"]) == [claim for _, claim in CLAIMS]
    assert list(verdicts["verdict"]) == ["supported"] * len(CLAIMS)
    assert (verdicts["groups"] >= 2).all()


def test_transfer_noise_claim_contradicted_when_the_gap_shrinks_in_noise():
    verdicts = check_claims(_full(gap_low=0.3, gap_high=3.0), n_boot=300)
    assert verdicts.loc[2, "verdict"] == "contradicted"
    assert "-6dB" in verdicts.loc[2, "evidence"]


def test_one_snr_or_random_weights_only_is_not_testable():
    table = _full()
    one_snr = table[table["snr"] == "6dB"]
    assert check_claims(one_snr, n_boot=100).loc[2, "verdict"] == "not testable here"
    random_only = table[table["weights"] != "imagenet"]
    verdicts = check_claims(random_only, n_boot=100)
    assert set(verdicts["verdict"]) == {"not testable here"}


def test_backbone_and_detector_claims_need_something_to_compare():
    table = _full()
    no_small = table[table["backbone"] != "alexnet"]
    assert check_claims(no_small, n_boot=100).loc[3, "verdict"] == "not testable here"
    only_two = table[table["detector"] != "knn"]
    assert check_claims(only_two, n_boot=100).loc[4, "verdict"] == "not testable here"
    better_knn = _full(knn=6.0)
    assert check_claims(better_knn, n_boot=300).loc[4, "verdict"] == "contradicted"


def test_bad_input_is_named():
    table = _full()
    with pytest.raises(ParameterError, match="score"):
        check_claims(table.drop(columns="score"))
