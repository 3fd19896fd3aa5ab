"""Package code behind chapters 04-06: uncertainty, sentences, published numbers, exercises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soundad.errors import ParameterError
from soundad.narrate import comparison_sentence, noise_sentence, settle_sentence
from soundad.narrate import verdict_sentence
from soundad.published import dcase2020_baseline, mimii_baseline_auc
from soundad.sample_size import auc_interval_widths, clips_needed


# ----------------------------------------------------------------------------- uncertainty
def _scores(n_normal=20, n_abnormal=20, shift=1.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = ["normal"] * n_normal + ["abnormal"] * n_abnormal
    scores = np.concatenate([rng.normal(0, 1, n_normal), rng.normal(shift, 1, n_abnormal)])
    return labels, scores


def test_interval_width_shrinks_like_one_over_sqrt_n_and_is_seeded():
    labels, scores = _scores()
    widths = auc_interval_widths(labels, scores, sizes=[20, 80, 320], n_boot=400, seed=1)
    w = widths.set_index("n_test")["width"]
    assert w[20] > w[80] > w[320] > 0
    assert w[20] / w[320] == pytest.approx(4.0, rel=0.35)  # sqrt(320 / 20) = 4
    assert (widths["n_normal"] + widths["n_abnormal"] == widths["n_test"]).all()
    again = auc_interval_widths(labels, scores, sizes=[20, 80, 320], n_boot=400, seed=1)
    pd.testing.assert_frame_equal(widths, again)


def test_interval_at_the_observed_size_covers_the_observed_auc():
    from soundad.evaluate import auc_pauc

    labels, scores = _scores(10, 20, shift=0.8, seed=3)
    row = auc_interval_widths(labels, scores, sizes=[30], n_boot=500, seed=0).iloc[0]
    auc, _ = auc_pauc(labels, scores)
    assert row["auc_lo"] <= auc <= row["auc_hi"]
    assert (row["n_normal"], row["n_abnormal"]) == (10, 20)  # the observed proportion


def test_interval_widths_name_bad_input():
    labels, scores = _scores()
    with pytest.raises(ParameterError, match="sizes"):
        auc_interval_widths(labels, scores, sizes=[1])
    with pytest.raises(ParameterError, match="both normal and abnormal"):
        auc_interval_widths(["normal"] * 3, [1, 2, 3], sizes=[10])
    with pytest.raises(ParameterError, match="y_true"):
        auc_interval_widths(["ok", "bad"], [1, 2], sizes=[10])


def test_clips_needed_scales_with_the_square_of_the_width():
    assert clips_needed(0.1, 30, target=0.05) == 120
    assert clips_needed(0.1, 30, target=0.1) == 30
    assert clips_needed(0.1, 30, target=0.2) == 8
    with pytest.raises(ParameterError, match="target"):
        clips_needed(0.1, 30, target=0)


# ----------------------------------------------------------------------------- sentences
def test_comparison_sentence_reads_a_comparison_object():
    class Comparison:  # the attributes soundad.evaluate.Comparison carries
        a_label, b_label, metric = "dense AE", "GMM", "auc"
        estimate, lo, hi, level, n_clips = 0.1, 0.04, 0.18, 0.95, 30

    sentence = comparison_sentence(Comparison())
    assert sentence.startswith("dense AE minus GMM: AUC +0.10 [+0.04, +0.18]")
    assert "95 % interval, 30 test clips" in sentence
    assert "within noise" not in sentence and sentence.rstrip(".").endswith("dense AE")
    Comparison.lo = -0.02
    assert comparison_sentence(Comparison()).endswith("within noise.")


def test_verdict_sentence_states_verdict_and_interval_or_what_is_missing():
    row = {"check": 2, "claim": "ResNet beats AlexNet and SqueezeNet", "verdict": "contradicted",
           "estimate": -0.1, "lo": -0.2, "hi": -0.03, "evidence": "..."}
    sentence = verdict_sentence(row)
    assert sentence.startswith("Check 2 (ResNet beats AlexNet and SqueezeNet) is contradicted")
    assert "-0.100 [-0.200, -0.030]" in sentence
    missing = {**row, "verdict": "not testable here", "estimate": np.nan, "lo": np.nan,
               "hi": np.nan, "evidence": "no AlexNet rows"}
    assert verdict_sentence(missing).endswith("not testable here: no AlexNet rows.")
    repeated = {**missing, "evidence": "not testable here: no AlexNet rows"}
    assert verdict_sentence(repeated).endswith("is not testable here: no AlexNet rows.")
    with pytest.raises(ParameterError, match="verdict"):
        verdict_sentence({**row, "verdict": "maybe"})


def test_noise_and_settle_sentences_carry_the_computed_numbers():
    text = noise_sentence(0.04, -0.06, 0.14, n_clips=30, needed=clips_needed(0.1, 30, target=0.04))
    assert "On 30 test clips" in text and "0.10" in text and "about 188 test clips" in text
    assert "enough" in settle_sentence(20, n_test=30, n_available=900, data="X", command="c")
    assert "would settle" in settle_sentence(188, n_test=30, n_available=900, data="X", command="c")
    assert "Even X" in settle_sentence(5000, n_test=30, n_available=900, data="X", command="c")


# ----------------------------------------------------------------------------- published numbers
def test_published_tables_hold_the_cited_numbers_with_their_source():
    mimii = mimii_baseline_auc().set_index(["machine", "model_id", "snr"])["auc"]
    assert mimii[("fan", "id_00", "-6dB")] == 0.576 and mimii[("fan", "id_02", "6dB")] == 0.993
    assert len(mimii) == 10 and mimii.between(0, 1).all()
    dcase = dcase2020_baseline().set_index("machine")
    assert list(dcase.index) == ["fan", "pump", "slider", "valve", "ToyCar", "ToyConveyor"]
    assert (dcase.loc["slider", "auc"], dcase.loc["slider", "pauc"]) == (0.850, 0.669)
    for table in (mimii_baseline_auc(), dcase2020_baseline()):
        assert (table["source"] == "published").all()
        assert table["citation"].str.contains("20").all()


# ----------------------------------------------------------------------------- exercises
@pytest.fixture
def exercises():
    return pytest.importorskip("soundad.exercises")


def _table(labels, scores):
    return pd.DataFrame({"label": labels, "score": scores})


def test_ch04_auc_by_pairs_passes_the_right_answer_and_fails_a_wrong_one(exercises, capsys):
    from soundad.evaluate import auc_pauc

    labels, scores = _scores(8, 12, seed=5)
    table = _table(labels, scores)
    right = auc_pauc(labels, scores)[0]
    assert exercises.check("ch04-auc-pairs", round(right, 3), scores=table) is True
    assert exercises.check("ch04-auc-pairs", right + 0.05, scores=table) is False
    assert f"{right:.3f}" not in capsys.readouterr().out  # the answer is never shown


def test_ch05_parameter_count_is_computed_from_the_model(exercises):
    from soundad.autoencoders import DenseAutoencoderDetector

    X = np.random.default_rng(0).normal(size=(64, 320)).astype(np.float32)
    model = DenseAutoencoderDetector(max_epochs=1, random_state=0, progress=False).fit(X)
    right = sum(p.numel() for p in model.network_.parameters())
    assert exercises.check("ch05-parameters", right, model=model) is True
    assert exercises.check("ch05-parameters", right - 1, model=model) is False
    assert exercises.check("ch05-parameters", "many", model=model) is False


def test_ch06_imagenet_gap_is_computed_from_the_scores(exercises):
    rng = np.random.default_rng(2)
    rows = []
    for repeat in range(3):
        for weights, shift in (("imagenet", 1.5), ("random", 0.5)):
            for i in range(20):
                label = "abnormal" if i % 2 else "normal"
                rows.append({"clip_id": f"c{i}", "snr": "0dB", "machine": "fan",
                             "model_id": "id_00", "label": label, "repeat": repeat,
                             "backbone": "b", "weights": weights, "detector": "gmm",
                             "score": rng.normal(shift if i % 2 else 0, 1)})
    scores = pd.DataFrame(rows)
    from soundad.exercises.ch06 import mean_gap

    right = mean_gap(scores, backbone="b", detector="gmm")
    assert exercises.check("ch06-imagenet-gap", right, scores=scores, backbone="b") is True
    assert exercises.check("ch06-imagenet-gap", right + 0.01, scores=scores,
                           backbone="b") is False
