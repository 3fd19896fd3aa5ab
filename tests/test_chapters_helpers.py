"""The package functions chapters 01-05 call instead of computing inline.

Each is checked against the inline code it replaced in the notebooks, so that
the glued numbers stay the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soundad.autoencoders import stack_inputs
from soundad.detectors import anomaly_scores, clip_scores, make_detector, score_clips
from soundad.errors import DataError, ParameterError
from soundad.extract import WindowFeatures
from soundad.inspect import WINDOW_KINDS, example_clips, group_of, window_kinds
from soundad.prose import interval_columns


def clips_table() -> pd.DataFrame:
    """Two groups; the first row is abnormal, as in the MIMII layout."""
    rows = []
    for snr in ("-6dB", "6dB"):
        for label, n in (("abnormal", 3), ("normal", 5)):
            for i in range(n):
                rows.append({"clip_id": f"{snr}/fan/id_00/{label}/{i:08d}.wav", "path": f"/x/{snr}{label}{i}.wav",
                             "snr": snr, "machine": "fan", "model_id": "id_00", "label": label})
    clips = pd.DataFrame(rows)
    clips["split"] = np.where((clips["label"] == "normal") & (clips.groupby(["snr", "label"]).cumcount() >= 3),
                              "train", "test")
    return clips


def features_of(clips: pd.DataFrame, *, per_clip: int = 3, dim: int = 6, seed: int = 0) -> WindowFeatures:
    rng = np.random.default_rng(seed)
    ids = np.repeat(clips["clip_id"].to_numpy(), per_clip)
    shift = np.repeat((clips["label"] == "abnormal").to_numpy() * 3.0, per_clip)[:, None]
    return WindowFeatures(features=(rng.normal(size=(len(ids), dim)) + shift).astype(np.float32),
                          clip_ids=ids.astype(str), window_index=np.tile(np.arange(per_clip), len(clips)),
                          backbone="test", weights="random", weights_name="none", layer="x")


# ----------------------------------------------------------------------------- inspect
def test_example_clips_are_the_first_normal_and_an_abnormal_clip_of_its_group():
    clips = clips_table()
    normal, abnormal = example_clips(clips)
    assert normal["clip_id"] == "-6dB/fan/id_00/normal/00000000.wav"
    assert abnormal["clip_id"] == "-6dB/fan/id_00/abnormal/00000000.wav"
    # what chapter 02 computed inline before
    first = clips[clips["label"] == "normal"].iloc[0]
    same = (clips["snr"] == first["snr"]) & (clips["machine"] == first["machine"]) & (
        clips["model_id"] == first["model_id"])
    assert abnormal["clip_id"] == clips[same & (clips["label"] == "abnormal")].iloc[0]["clip_id"]
    assert list(group_of(clips, normal)["clip_id"]) == list(clips.loc[same, "clip_id"])


def test_example_clips_need_a_normal_and_an_abnormal_clip():
    clips = clips_table()
    with pytest.raises(DataError, match="no normal clip"):
        example_clips(clips[clips["label"] == "abnormal"])
    with pytest.raises(DataError, match="no abnormal clip in the group"):
        example_clips(clips[clips["label"] == "normal"])
    with pytest.raises(DataError, match="lacks column"):
        example_clips(clips.drop(columns="snr"))


def test_window_kinds_follow_the_train_and_test_masks():
    clips = clips_table()
    feats = features_of(clips)
    kinds = window_kinds(feats.clip_ids, clips)
    assert set(kinds) == set(WINDOW_KINDS)
    per_clip = clips.set_index("clip_id").loc[feats.clip_ids]
    old = np.where(per_clip["split"] == "train", "train (normal)", "test " + per_clip["label"])
    np.testing.assert_array_equal(kinds, old)
    # a clip that is neither training-normal nor test is "unused"
    odd = clips.assign(split=np.where(clips.index == 0, "train", clips["split"]))  # an abnormal clip in train
    assert window_kinds(feats.clip_ids[:3], odd).tolist() == ["unused"] * 3
    with pytest.raises(DataError, match="not in the clips table"):
        window_kinds(["nope"], clips)
    with pytest.raises(DataError, match="split the clips first"):
        window_kinds(feats.clip_ids, clips.drop(columns="split"))


def test_window_kinds_and_split_check_the_clips_table_the_same_way():
    clips = clips_table()
    feats = features_of(clips)
    train, test = feats.split(clips)
    kinds = window_kinds(feats.clip_ids, clips)
    assert len(train.clip_ids) == (kinds == WINDOW_KINDS[0]).sum()
    assert len(test.clip_ids) == np.isin(kinds, WINDOW_KINDS[1:]).sum()
    for call in (feats.split, lambda c: window_kinds(feats.clip_ids, c)):
        with pytest.raises(DataError, match="has no column 'split'; split the clips first"):
            call(clips.drop(columns="split"))
        with pytest.raises(DataError, match=r"^3 clips of .* are not in the clips table, e\.g\. .*-6dB/fan/id_00/abn"):
            call(clips.iloc[3:])


# ----------------------------------------------------------------------------- detectors
@pytest.mark.parametrize("name, params", [("mahalanobis", {"pca": 0.95}), ("gmm", {"n_components": 2})])
def test_score_clips_is_fit_score_pool_on_the_split(name, params):
    clips = clips_table()
    feats = features_of(clips)
    train = clips.set_index("clip_id").loc[feats.clip_ids, "split"].to_numpy() == "train"
    detector = make_detector(name, seed=3, **params).fit(feats.features[train])
    expected = clip_scores(anomaly_scores(detector, feats.features[~train]), feats.clip_ids[~train])
    got = score_clips(name, feats, clips, seed=3, **params)
    pd.testing.assert_series_equal(got, expected)
    assert set(got.index) == set(clips.loc[clips["split"] == "test", "clip_id"])
    # the abnormal clips (shifted features) score higher
    labels = clips.set_index("clip_id").loc[got.index, "label"]
    assert got[labels == "abnormal"].min() > got[labels == "normal"].max()


def test_score_clips_with_max_pooling_and_bad_names():
    clips = clips_table()
    feats = features_of(clips)
    assert (score_clips("knn", feats, clips, how="max") >= score_clips("knn", feats, clips)).all()
    with pytest.raises(ParameterError):
        score_clips("nope", feats, clips)


# ----------------------------------------------------------------------------- prose / autoencoders
def test_interval_columns_write_value_and_interval():
    results = pd.DataFrame({"detector": ["gmm", "knn"], "auc": [0.8123, 0.5], "auc_lo": [0.7, 0.4],
                            "auc_hi": [0.9, 0.6], "pauc": [0.61, 0.52], "pauc_lo": [0.5, np.nan],
                            "pauc_hi": [0.7, np.nan]})
    table = interval_columns(results)
    assert table["AUC [95 %]"].tolist() == ["0.81 [0.70, 0.90]", "0.50 [0.40, 0.60]"]
    assert table["pAUC [95 %]"].tolist() == ["0.61 [0.50, 0.70]", "0.52"]
    assert "AUC [95 %]" not in results.columns  # a copy
    assert "AUC [90 %]" in interval_columns(results, level=0.9).columns
    with pytest.raises(ParameterError, match="auc_lo"):
        interval_columns(results.drop(columns="auc_lo"))


def test_stack_inputs_keeps_order_and_owners():
    per_clip = {"a": np.zeros((2, 3)), "b": np.ones((3, 3)), "c": np.full((1, 3), 2.0)}
    rows, owners = stack_inputs(per_clip, ["c", "a"])
    assert rows.shape == (3, 3) and rows[0, 0] == 2.0
    assert owners.tolist() == ["c", "a", "a"]
    # what chapter 05 computed inline before
    old = np.concatenate([[c] * len(per_clip[c]) for c in ["c", "a"]])
    np.testing.assert_array_equal(owners, old)
    with pytest.raises(ParameterError, match="no inputs"):
        stack_inputs(per_clip, ["z"])
    with pytest.raises(ParameterError, match="empty"):
        stack_inputs(per_clip, [])
