"""Tests of soundad.evaluate: AUC/pAUC by hand, grouping, summaries, markdown."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from soundad.errors import DataError, ParameterError
from soundad.data import snr_order
from soundad.data.groups import snr_sort_key
from soundad.evaluate import (
    auc_pauc,
    evaluate_scores,
    mcclish_pauc,
    method_columns,
    render_markdown,
    summarise,
)


def test_auc_pauc_hand_example_step_curve():
    # normal: 0.1 0.2 0.3 0.4   abnormal: 0.35 0.5
    # ROC points: (0, 0) (0, .5) (.25, .5) (.25, 1) ... (1, 1)
    # AUC = pairs won / pairs = (4 + 3) / 8
    y = [0, 0, 0, 0, 1, 1]
    s = [0.1, 0.2, 0.3, 0.4, 0.35, 0.5]
    auc, pauc = auc_pauc(y, s, max_fpr=0.25)
    assert auc == pytest.approx(7 / 8)
    assert pauc == pytest.approx((0.25 * 0.5) / 0.25)  # TPR 0.5 on [0, 0.25]
    # up to FPR 0.5: 0.25 * 0.5 + 0.25 * 1.0, divided by 0.5
    assert auc_pauc(y, s, max_fpr=0.5)[1] == pytest.approx(0.75)
    assert auc_pauc(y, s, max_fpr=1.0)[1] == pytest.approx(auc)


def test_pauc_hand_example_interpolates_tied_scores():
    # normal: 0.1 0.2 0.3 0.5   abnormal: 0.5 0.6
    # ROC: (0, 0) -> (0, .5) -> (.25, 1) (the tie at 0.5 is a diagonal: TPR = .5 + 2 FPR)
    # pAUC(0.1) = integral_0^0.1 (0.5 + 2x) dx / 0.1 = (0.05 + 0.01) / 0.1 = 0.6
    y = ["normal"] * 4 + ["abnormal"] * 2
    s = [0.1, 0.2, 0.3, 0.5, 0.5, 0.6]
    auc, pauc = auc_pauc(y, s, max_fpr=0.1)
    assert pauc == pytest.approx(0.6)
    assert auc == pytest.approx((4 + 3.5) / 8)  # a tie counts one half


def test_pauc_is_not_sklearn_mcclish_but_converts_to_it():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200), np.ones(50)]
    s = rng.normal(size=250) + 1.2 * y
    auc, pauc = auc_pauc(y, s, max_fpr=0.1)
    assert auc == pytest.approx(roc_auc_score(y, s))
    sklearn_pauc = roc_auc_score(y, s, max_fpr=0.1)
    assert abs(pauc - sklearn_pauc) > 0.05  # different definitions
    assert mcclish_pauc(pauc, max_fpr=0.1) == pytest.approx(sklearn_pauc)


def test_perfect_and_reversed_scores():
    y = [0, 0, 1, 1]
    assert auc_pauc(y, [0, 1, 2, 3]) == (1.0, 1.0)
    assert auc_pauc(y, [3, 2, 1, 0]) == (0.0, 0.0)


def test_one_class_test_set_is_a_data_error_naming_the_group():
    with pytest.raises(DataError, match="group fan id_00 has 3 normal and 0 abnormal"):
        auc_pauc([0, 0, 0], [1, 2, 3], group="fan id_00")


def test_auc_pauc_bad_input():
    with pytest.raises(ParameterError, match="max_fpr=0"):
        auc_pauc([0, 1], [0, 1], max_fpr=0)
    with pytest.raises(ParameterError, match="'broken'"):
        auc_pauc(["normal", "broken"], [0, 1])
    with pytest.raises(ParameterError, match="2 labels but scores has 3"):
        auc_pauc([0, 1], [0, 1, 2])
    with pytest.raises(ParameterError, match="NaN"):
        auc_pauc([0, 1], [0, np.nan])


def make_scores(seed=0):
    """Scores table: 2 detectors x 2 SNRs x 2 machines x 1 id, 6 normal + 4 abnormal clips each."""
    rng = np.random.default_rng(seed)
    rows = []
    for detector, gap in (("gmm", 3.0), ("knn", 0.0)):
        for snr in ("6dB", "-6dB"):
            for machine in ("pump", "fan"):
                for i in range(10):
                    label = "abnormal" if i >= 6 else "normal"
                    rows.append(
                        {
                            "clip_id": f"{snr}/{machine}/id_00/{label}/{i:08d}.wav",
                            "path": f"/data/{i}.wav",
                            "snr": snr,
                            "machine": machine,
                            "model_id": "id_00",
                            "label": label,
                            "score": rng.normal() + (gap if label == "abnormal" else 0.0),
                            "backbone": "resnet18",
                            "detector": detector,
                        }
                    )
    return pd.DataFrame(rows)


def test_evaluate_scores_groups_by_method_and_machine():
    scores = make_scores()
    results = evaluate_scores(scores)
    assert list(results.columns) == [
        "backbone", "detector", "snr", "machine", "model_id",
        "auc", "auc_lo", "auc_hi", "pauc", "pauc_lo", "pauc_hi", "n_test", "n_normal_test", "n_abnormal_test",
    ]
    assert ((results.auc_lo <= results.auc) & (results.auc <= results.auc_hi)).all()
    assert len(results) == 2 * 2 * 2
    assert (results.n_test == 10).all()
    assert (results.n_normal_test == 6).all() and (results.n_abnormal_test == 4).all()
    # SNR sorted by number, not by string
    assert list(results.snr.iloc[:4]) == ["-6dB", "-6dB", "6dB", "6dB"]
    # each row equals auc_pauc on its own group
    for row in results.itertuples():
        group = scores[
            (scores.detector == row.detector) & (scores.snr == row.snr) & (scores.machine == row.machine)
        ]
        auc, pauc = auc_pauc(group.label, group.score)
        assert (row.auc, row.pauc) == pytest.approx((auc, pauc))
    # the well-separated detector scores better
    assert results[results.detector == "gmm"].auc.mean() > results[results.detector == "knn"].auc.mean()


def test_evaluate_scores_bad_tables():
    scores = make_scores()
    with pytest.raises(DataError, match="lacks column.*model_id"):
        evaluate_scores(scores.drop(columns="model_id"))
    only_normal = scores[~((scores.machine == "fan") & (scores.label == "abnormal"))]
    with pytest.raises(DataError, match="detector=gmm, snr=6dB, machine=fan, model_id=id_00"):
        evaluate_scores(only_normal)
    doubled = pd.concat([scores, scores.iloc[:1]])
    with pytest.raises(DataError, match="appear twice"):
        evaluate_scores(doubled)
    nan_score = scores.copy()
    nan_score.loc[3, "score"] = np.nan
    with pytest.raises(DataError, match="non-finite score"):
        evaluate_scores(nan_score)


def test_summarise_tidy_means():
    results = evaluate_scores(make_scores())
    summary = summarise(results)
    assert list(summary.columns) == [
        "backbone", "detector", "snr", "machine", "auc", "pauc", "n_groups", "auc_sd", "pauc_sd", "n_repeats",
    ]
    assert (summary.n_repeats == 1).all() and summary.auc_sd.isna().all()
    per_machine = summary[(summary.snr == "all") & (summary.machine != "all")]
    per_snr = summary[(summary.machine == "all") & (summary.snr != "all")]
    overall = summary[(summary.machine == "all") & (summary.snr == "all")]
    assert len(per_machine) == 4 and len(per_snr) == 4 and len(overall) == 2
    fan_gmm = per_machine[(per_machine.detector == "gmm") & (per_machine.machine == "fan")].iloc[0]
    expected = results[(results.detector == "gmm") & (results.machine == "fan")].auc.mean()
    assert fan_gmm.auc == pytest.approx(expected)
    assert fan_gmm.n_groups == 2
    assert overall.set_index("detector").auc["knn"] == pytest.approx(
        results[results.detector == "knn"].auc.mean()
    )


def test_method_columns_and_snr_order():
    assert method_columns(make_scores()) == ["backbone", "detector"]
    labels = ["6dB", "-6dB", "12dB", "0dB", "other"]
    assert sorted(labels, key=lambda v: snr_sort_key([v])[0]) == ["-6dB", "0dB", "6dB", "12dB", "other"]
    assert snr_order(labels) == ["-6dB", "0dB", "6dB", "12dB", "other"]
    assert snr_order(pd.Index(["0dB", "-6_dB", "b", "a"])) == ["-6_dB", "0dB", "a", "b"]
    assert snr_order({"6dB", "min6dB"}) == ["min6dB", "6dB"] and snr_order([]) == []


def test_render_markdown():
    table = pd.DataFrame({"machine": ["fan", "a|b"], "auc": [0.91234, np.nan], "n": [3, 4]})
    text = render_markdown(table, digits=2)
    assert text.splitlines() == [
        "| machine | auc | n |",
        "|:---|---:|---:|",
        "| fan | 0.91 | 3 |",
        "| a\\|b |  | 4 |",
    ]
    with pytest.raises(ParameterError):
        render_markdown(table, digits=-1)


def test_summarise_reads_reproduce_results_csv_layout():
    import pandas as pd

    from soundad.evaluate import summarise

    rows = []
    for detector, base in (("gmm", 0.8), ("ocsvm", 0.6)):
        for i, snr in enumerate(("-6dB", "6dB")):
            for mid in ("id_00", "id_02"):
                rows.append(dict(snr=snr, machine="fan", model_id=mid, backbone="resnet18", weights="imagenet",
                                 layer="layer4", detector=detector, method=f"resnet18/imagenet/{detector}",
                                 auc=base + 0.1 * i, pauc=0.5, n_train=10 + i, n_test=20, n_train_windows=80,
                                 status="ok", seed=0, data="synthetic"))
    rows.append(dict(rows[0], snr="0dB", auc=float("nan"), pauc=float("nan"), status="skipped: one class"))
    summary = summarise(pd.DataFrame(rows))
    overall = summary[(summary.snr == "all") & (summary.machine == "all")]
    assert len(overall) == 2  # one row per method, not fragmented by counts or status
    assert overall.set_index("detector")["auc"].round(6).to_dict() == {"gmm": 0.85, "ocsvm": 0.65}
    assert "0dB" not in set(summary.snr)  # the skipped group has no AUC


def test_clip_score_table_joins_scores_to_their_clips():
    from soundad.evaluate import clip_score_table, evaluate_scores

    clips = pd.DataFrame({
        "clip_id": ["a", "b", "c", "d"], "snr": "0dB", "machine": "fan", "model_id": "id_00",
        "label": ["normal", "abnormal", "normal", "abnormal"], "path": ["pa", "pb", "pc", "pd"],
    })
    per_clip = pd.Series([0.9, 0.1, 0.8], index=pd.Index(["b", "a", "d"], name="clip_id"), name="score")
    table = clip_score_table(per_clip, clips, backbone="resnet18", detector="gmm")
    assert list(table.columns) == ["clip_id", "snr", "machine", "model_id", "label", "score", "backbone", "detector"]
    assert list(table["clip_id"]) == ["b", "a", "d"] and list(table["label"]) == ["abnormal", "normal", "abnormal"]
    assert list(table["score"]) == [0.9, 0.1, 0.8] and set(table["detector"]) == {"gmm"}
    assert evaluate_scores(table)["auc"].iloc[0] == 1.0
    with pytest.raises(DataError, match="not in the clips table.*x"):
        clip_score_table(pd.Series([1.0], index=["x"]), clips)


def test_summarise_spread_over_repeats():
    first = evaluate_scores(make_scores(), n_boot=0).assign(repeat=0)
    second = first.assign(repeat=1, auc=first.auc - 0.1, pauc=first.pauc - 0.2)
    summary = summarise(pd.concat([first, second], ignore_index=True))
    overall = summary[(summary.machine == "all") & (summary.snr == "all")].set_index("detector")
    gmm = first[first.detector == "gmm"]
    assert overall.loc["gmm", "auc"] == pytest.approx(gmm.auc.mean() - 0.05)
    assert overall.loc["gmm", "auc_sd"] == pytest.approx(np.std([0.0, 0.1], ddof=1))
    assert overall.loc["gmm", "pauc_sd"] == pytest.approx(np.std([0.0, 0.2], ddof=1))
    assert (summary.n_repeats == 2).all()
    assert overall.loc["gmm", "n_groups"] == len(gmm)


def test_parameter_sweep_gives_each_value_its_auc_and_interval():
    from soundad.data import choose_split
    from soundad.evaluate import parameter_sweep
    from soundad.window_features import WindowFeatures

    rng = np.random.default_rng(0)
    clips = pd.DataFrame({"clip_id": [f"c{i}" for i in range(24)], "snr": "0dB", "machine": "fan",
                          "model_id": "id_00", "label": ["normal"] * 16 + ["abnormal"] * 8, "path": ""})
    clips, _ = choose_split(clips, split="random", seed=0)
    ids = np.repeat(clips["clip_id"].to_numpy(), 3)
    shift = np.repeat((clips["label"] == "abnormal").to_numpy() * 3.0, 3)
    feats = WindowFeatures(features=(rng.standard_normal((len(ids), 4)) + shift[:, None]).astype(np.float32),
                           clip_ids=ids, window_index=np.tile(np.arange(3), 24), backbone="x", weights="random",
                           weights_name="none", layer="head")
    sweep = parameter_sweep(feats, clips, {"gmm": ("n_components", [1, 2]), "ocsvm": ("nu", [0.1])}, n_boot=50)
    assert list(sweep["detector"]) == ["gmm", "gmm", "ocsvm"] and list(sweep["value"]) == [1, 2, 0.1]
    assert ((sweep["auc_lo"] <= sweep["auc"]) & (sweep["auc"] <= sweep["auc_hi"])).all()
    assert (sweep["auc"] > 0.9).all() and (sweep["n_test"] > 0).all()  # well-separated classes
    two_groups = clips.assign(machine=np.where(np.arange(24) % 2, "fan", "pump"))
    with pytest.raises(ParameterError, match="one group at a time; the clips hold 2"):
        parameter_sweep(feats, two_groups, {"gmm": ("n_components", [1])}, n_boot=0)
