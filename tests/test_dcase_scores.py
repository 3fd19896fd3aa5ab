"""soundad.dcase_scores against hand-worked examples (issue 15)."""

from __future__ import annotations

import pandas as pd
import pytest

from soundad.dcase_scores import dcase_scores, dcase_summary, harmonic_mean, official_score
from soundad.errors import DataError


def _rows(machine, section, entries, snr="dcase2021-2025"):
    """entries: (domain, label, score)."""
    return [
        {"clip_id": f"{machine}/test/{section}_{domain}_{label}_{i}.wav", "snr": snr, "machine": machine,
         "model_id": section, "label": label, "score": score, "domain": domain, "backbone": "b"}
        for i, (domain, label, score) in enumerate(entries)
    ]


# fan section_00 (hand-worked):
#   source normals 1, 2; target normals 3, 4; anomalies: source 5, target 2.5
#   AUC(all)    = pairs (anomaly > normal) / 8: 5 beats all 4, 2.5 beats 1 and 2 -> 6/8 = 0.75
#   AUC(source) = source normals {1, 2} vs ALL anomalies {5, 2.5}: 4/4 = 1.0
#   AUC(target) = target normals {3, 4} vs ALL anomalies {5, 2.5}: 5 beats both, 2.5 none -> 2/4 = 0.5
#   pAUC: 4 normals, FPR steps of 0.25; above every normal TPR = 1/2 (only 5), so on FPR [0, 0.1]
#         TPR = 0.5: area 0.05, / 0.1 -> pAUC = 0.5
#   McClish (sklearn, the evaluators' pAUC): 0.5 * (1 + (0.05 - 0.1**2/2) / (0.1 - 0.1**2/2))
#         = 0.5 * (1 + 0.045 / 0.095) = 0.5 * 28/19 = 14/19
#   official score of this section alone: hmean(1, 0.5, 14/19) = 3 / (1 + 2 + 19/14) = 42/61
# pump section_01: every anomaly above every normal -> AUC(source) = AUC(target) = pAUC = 1
#   official over both machines: hmean(1, 0.5, 14/19, 1, 1, 1) = 6 / (1 + 2 + 19/14 + 3) = 84/103
FAN_ENTRIES = [("source", "normal", 1.0), ("source", "normal", 2.0), ("target", "normal", 3.0),
               ("target", "normal", 4.0), ("source", "abnormal", 5.0), ("target", "abnormal", 2.5)]
FAN = _rows("fan", "section_00", FAN_ENTRIES)
PUMP = _rows("pump", "section_01", [("source", "normal", 0.0), ("target", "normal", 1.0),
                                    ("source", "abnormal", 2.0), ("target", "abnormal", 3.0)])


def test_per_section_auc_pauc_and_domain_auc_match_the_hand_worked_example():
    table = dcase_scores(pd.DataFrame(FAN + PUMP)).set_index("machine")
    fan = table.loc["fan"]
    assert fan["model_id"] == "section_00" and fan["backbone"] == "b"
    assert fan["auc"] == pytest.approx(0.75)
    assert fan["pauc"] == pytest.approx(0.5)
    assert fan["pauc_official"] == pytest.approx(14 / 19)
    assert fan["auc_source"] == pytest.approx(1.0)
    assert fan["auc_target"] == pytest.approx(0.5)
    assert fan["n_test"] == 6
    pump = table.loc["pump"]
    assert (pump["auc"], pump["pauc"], pump["auc_source"], pump["auc_target"]) == (1.0, 1.0, 1.0, 1.0)


def test_official_score_is_the_harmonic_mean_of_source_target_and_pauc():
    table = dcase_scores(pd.DataFrame(FAN + PUMP))
    assert official_score(table[table.machine == "fan"]) == pytest.approx(42 / 61)
    assert official_score(table) == pytest.approx(84 / 103)
    summary = dcase_summary(table).set_index("machine")
    assert summary.loc["all", "official_score"] == pytest.approx(84 / 103)
    assert summary.loc["fan", "official_score"] == pytest.approx(42 / 61)
    # arithmetic means (DCASE 2020 style) over the two sections: AUC (0.75 + 1) / 2, pAUC (0.5 + 1) / 2
    assert summary.loc["all", "auc_mean"] == pytest.approx(0.875)
    assert summary.loc["all", "pauc_mean"] == pytest.approx(0.75)
    assert summary.loc["all", "n_sections"] == 2
    # harmonic means over sections per domain: source hmean(1, 1) = 1, target hmean(0.5, 1) = 2 / (2 + 1) = 2/3
    assert summary.loc["all", "auc_source_hmean"] == pytest.approx(1.0)
    assert summary.loc["all", "auc_target_hmean"] == pytest.approx(2 / 3)


def test_domain_comes_from_the_clips_table_when_scores_lack_it():
    scores = pd.DataFrame(FAN).drop(columns="domain")
    clips = pd.DataFrame(FAN)[["clip_id", "domain"]]
    table = dcase_scores(scores, clips)
    assert table.loc[0, "auc_target"] == pytest.approx(0.5)
    with pytest.raises(DataError, match="not in the clips table"):
        dcase_scores(scores, clips.iloc[1:])


def test_dcase2020_tables_have_no_domain_and_arithmetic_means():
    # fan id_00: normals 1, 2, 3, 4; anomalies 5, 2.5 -> AUC 0.75, pAUC 0.5 (as above)
    # fan id_02: perfect -> AUC 1, pAUC 1; machine means: AUC 0.875, pAUC 0.75
    rows = _rows("fan", "id_00", [(None, label, score) for _, label, score in FAN_ENTRIES], snr="dcase2020")
    rows += _rows("fan", "id_02", [(None, "normal", 0.0), (None, "abnormal", 1.0)], snr="dcase2020")
    scores = pd.DataFrame(rows).drop(columns="domain")
    table = dcase_scores(scores)
    assert "auc_source" not in table.columns
    assert list(table["auc"]) == pytest.approx([0.75, 1.0]) and list(table["pauc"]) == pytest.approx([0.5, 1.0])
    summary = dcase_summary(table).set_index("machine")
    assert summary.loc["fan", "auc_mean"] == pytest.approx(0.875)
    assert summary.loc["fan", "pauc_mean"] == pytest.approx(0.75)
    assert pd.isna(summary.loc["all", "official_score"]) and pd.isna(summary.loc["all", "auc_source_hmean"])


def test_harmonic_mean_floors_zero_at_epsilon():
    # hmean(1, 1/3) = 2 / (1 + 3) = 0.5; a zero is floored at eps, so the mean is ~2 eps, not an error
    assert harmonic_mean([1.0, 1 / 3]) == pytest.approx(0.5)
    assert 0 < harmonic_mean([0.0, 1.0]) < 1e-15


def test_missing_columns_and_one_class_sections_are_data_errors():
    with pytest.raises(DataError, match="lacks column"):
        dcase_scores(pd.DataFrame(FAN).drop(columns="score"))
    with pytest.raises(DataError, match="machine=fan"):
        dcase_scores(pd.DataFrame([r for r in FAN if r["label"] == "normal"]))
