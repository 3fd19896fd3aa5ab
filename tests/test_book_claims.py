"""soundad.claims: the verdicts chapter 06 prints are computed from the rows present."""

from __future__ import annotations

import pandas as pd
import pytest

from soundad.claims import CLAIMS, check_claims
from soundad.errors import ParameterError


def _rows(spec):
    """spec: list of (snr, machine, backbone, weights, detector, auc)."""
    return pd.DataFrame(
        [{"snr": s, "machine": m, "id": "id_00", "backbone": b, "weights": w, "detector": d, "auc": a}
         for s, m, b, w, d, a in spec]
    )


def _full(gap_low=0.2, gap_high=0.05, resnet=0.9, alex=0.8, knn=0.7):
    spec = []
    for snr, gap in (("-6dB", gap_low), ("6dB", gap_high)):
        for machine in ("fan", "pump"):
            spec += [(snr, machine, "conv_ae", "none", "reconstruction", 0.6)]
            spec += [(snr, machine, "resnet18", "imagenet", "gmm", 0.6 + gap + 0.01)]
            spec += [(snr, machine, "resnet18", "imagenet", "ocsvm", 0.6 + gap)]
            spec += [(snr, machine, "resnet18", "imagenet", "knn", knn * 0.5)]
            spec += [(snr, machine, "alexnet", "imagenet", "gmm", alex * 0.5)]
            spec += [(snr, machine, "alexnet", "imagenet", "ocsvm", alex * 0.5)]
            spec += [(snr, machine, "alexnet", "imagenet", "knn", alex * 0.4)]
    return _rows(spec)


def test_all_claims_supported_on_a_table_built_to_support_them():
    verdicts = check_claims(_full())
    assert list(verdicts["claim"]) == list(CLAIMS)
    assert list(verdicts["verdict"]) == ["supported"] * 3
    assert (verdicts["groups"] == 4).all()


def test_transfer_claim_not_supported_when_the_gap_shrinks_in_noise():
    verdicts = check_claims(_full(gap_low=0.02, gap_high=0.2))
    assert verdicts.loc[0, "verdict"] == "not supported"
    assert "-6dB" in verdicts.loc[0, "evidence"]


def test_one_snr_or_random_weights_only_is_too_thin():
    one_snr = _full()
    one_snr = one_snr[one_snr["snr"] == "6dB"]
    assert check_claims(one_snr).loc[0, "verdict"] == "evidence too thin"
    random_only = _full().assign(weights=lambda t: t["weights"].where(t["backbone"] == "conv_ae", "random"))
    verdicts = check_claims(random_only)
    assert set(verdicts["verdict"]) == {"evidence too thin"}


def test_backbone_and_detector_claims_need_something_to_compare():
    table = _full()
    no_small = table[table["backbone"] != "alexnet"]
    assert check_claims(no_small).loc[1, "verdict"] == "evidence too thin"
    only_two = table[table["detector"] != "knn"]
    assert check_claims(only_two).loc[2, "verdict"] == "evidence too thin"
    better_knn = table.copy()
    better_knn.loc[better_knn["detector"] == "knn", "auc"] = 0.99
    assert check_claims(better_knn).loc[2, "verdict"] == "not supported"


def test_missing_auc_rows_are_ignored_and_bad_input_is_named():
    table = _full()
    table.loc[0, "auc"] = float("nan")
    assert len(check_claims(table)) == 3
    with pytest.raises(ParameterError, match="auc"):
        check_claims(table.drop(columns="auc"))
    with pytest.raises(ParameterError, match="min_groups"):
        check_claims(table, min_groups=0)
