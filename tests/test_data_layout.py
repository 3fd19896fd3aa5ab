"""soundad.data.layout and soundad.data.split: the clip table and the train/test rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from soundad.data import LAYOUT_COLUMNS, mimii_split, normalise_snr, random_split, read_layout
from soundad.errors import DataError, ParameterError


def _touch_wav(path: Path, n: int = 160) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(n, dtype=np.int16), 16000, format="WAV", subtype="PCM_16")


def _fake_layout(root: Path, spec: dict) -> None:
    """spec: {(snr_dir, machine, id): (n_normal, n_abnormal)}"""
    for (snr, machine, mid), (nn, na) in spec.items():
        for label, count in (("normal", nn), ("abnormal", na)):
            for i in range(count):
                _touch_wav(root / snr / machine / mid / label / f"{i:08d}.wav")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("-6_dB", "-6dB"), ("min6dB", "-6dB"), ("m6dB", "-6dB"), ("-6dB", "-6dB"), ("minus6dB", "-6dB"),
        ("0dB", "0dB"), ("0_dB", "0dB"), ("-0dB", "0dB"), ("6_dB", "6dB"), ("6dB", "6dB"), ("+6dB", "6dB"),
        ("6 dB", "6dB"), ("12DB", "12dB"), (-6, "-6dB"), (0, "0dB"),
    ],
)
def test_normalise_snr_spellings(text, expected):
    assert normalise_snr(text) == expected


@pytest.mark.parametrize("bad", ["", "dB", "6", "six dB", "6dBx", "x6dB", None, 6.0, True])
def test_normalise_snr_rejects(bad):
    with pytest.raises(DataError):
        normalise_snr(bad)


def test_read_layout_table(tmp_path):
    _fake_layout(tmp_path, {("min6dB", "fan", "id_00"): (3, 2), ("6_dB", "valve", "id_02"): (2, 1)})
    (tmp_path / "README.txt").write_text("not audio")
    (tmp_path / "min6dB" / "fan" / "id_00" / "normal" / "._00000000.wav").write_bytes(b"mac junk")
    clips = read_layout(tmp_path)
    assert list(clips.columns) == list(LAYOUT_COLUMNS)
    assert len(clips) == 8
    assert clips["clip_id"].is_monotonic_increasing and clips["clip_id"].is_unique
    assert set(clips["snr"]) == {"-6dB", "6dB"}
    assert clips.loc[0, "clip_id"] == "6_dB/valve/id_02/abnormal/00000000.wav"
    assert all(Path(p).is_absolute() and Path(p).exists() for p in clips["path"])
    fan = clips[clips.machine == "fan"]
    assert (fan.snr == "-6dB").all() and (fan.model_id == "id_00").all()
    assert fan.label.value_counts().to_dict() == {"normal": 3, "abnormal": 2}


def test_read_layout_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_layout(tmp_path / "nope")
    with pytest.raises(DataError, match="no WAV files"):
        read_layout(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError, match="not a directory"):
        read_layout(tmp_path / "file.txt")


@pytest.mark.parametrize(
    "rel, match",
    [
        ("fan/id_00/normal/00000000.wav", "one level too deep"),
        ("x/0dB/fan/id_00/normal/00000000.wav", "one level too high"),
        ("loud/fan/id_00/normal/00000000.wav", "SNR folder"),
        ("0dB/fan/id_00/broken/00000000.wav", "label folder"),
        ("0dB/fan/model0/normal/00000000.wav", "model folder"),
    ],
)
def test_read_layout_rejects_misplaced_files(tmp_path, rel, match):
    _touch_wav(tmp_path / rel)
    with pytest.raises(DataError, match=match):
        read_layout(tmp_path)


def test_read_layout_synthetic_fixture(synthetic_root):
    clips = read_layout(synthetic_root)
    assert len(clips) == 2 * 2 * (6 + 3)
    assert set(clips.machine) == {"fan", "valve"} and set(clips.snr) == {"-6dB", "6dB"}


# ---------------------------------------------------------------- splits
def _clips(tmp_path, spec):
    _fake_layout(tmp_path, spec)
    return read_layout(tmp_path)


def test_mimii_split_rule(tmp_path):
    clips = _clips(tmp_path, {("0dB", "fan", "id_00"): (10, 3), ("6dB", "fan", "id_00"): (5, 0)})
    shuffled = clips.sample(frac=1.0, random_state=1)
    out = mimii_split(shuffled)
    assert list(out.index) == list(shuffled.index)  # same rows, same order
    assert "split" not in shuffled.columns
    g = out[out.snr == "0dB"]
    test_normal = sorted(g[(g.label == "normal") & (g.split == "test")].clip_id)
    assert test_normal == sorted(g[g.label == "normal"].clip_id)[:3]  # the first N in sorted order
    assert (g[g.label == "abnormal"].split == "test").all()
    assert (g.split == "train").sum() == 7
    assert (out[out.snr == "6dB"].split == "train").all()  # no abnormal clips: all train


def test_mimii_split_too_few_normal(tmp_path):
    clips = _clips(tmp_path, {("0dB", "fan", "id_00"): (3, 3)})
    with pytest.raises(DataError, match="random_split"):
        mimii_split(clips)


def test_random_split(tmp_path):
    clips = _clips(tmp_path, {("0dB", "fan", "id_00"): (20, 5), ("0dB", "pump", "id_00"): (11, 2)})
    a = random_split(clips, train_fraction=0.5, seed=3)
    b = random_split(clips, train_fraction=0.5, seed=3)
    c = random_split(clips, train_fraction=0.5, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])
    fan = a[a.machine == "fan"]
    assert (fan.split == "train").sum() == 10 and (fan[fan.label == "abnormal"].split == "test").all()
    assert ((a.machine == "pump") & (a.split == "train")).sum() == round(0.5 * 11)
    # one group's draw does not depend on the other groups
    only_fan = random_split(clips[clips.machine == "fan"], train_fraction=0.5, seed=3)
    assert only_fan["split"].equals(fan["split"])


def test_random_split_errors(tmp_path):
    clips = _clips(tmp_path, {("0dB", "fan", "id_00"): (1, 1)})
    with pytest.raises(DataError, match=r"1 normal clip\(s\); a split needs at least 2"):
        random_split(clips, train_fraction=0.9)  # no train_fraction can help: the advice does not offer one
    three = _clips(tmp_path / "three", {("0dB", "fan", "id_00"): (3, 1)})
    with pytest.raises(DataError, match=r"none to train on; use train_fraction=0.18 or more"):
        random_split(three, train_fraction=0.1)
    assert (random_split(three, train_fraction=0.18)["split"] == "train").sum() == 1
    for bad in (0.0, 1.0, -0.1, "half", True):
        with pytest.raises(ParameterError):
            random_split(clips, train_fraction=bad)
    with pytest.raises(ParameterError):
        random_split(clips, seed=-1)


def test_split_input_checks(tmp_path):
    clips = _clips(tmp_path, {("0dB", "fan", "id_00"): (4, 1)})
    with pytest.raises(ParameterError, match="lacks column"):
        mimii_split(clips.drop(columns=["label"]))
    bad = clips.copy()
    bad.loc[0, "label"] = "weird"
    with pytest.raises(ParameterError, match="weird"):
        mimii_split(bad)
    with pytest.raises(ParameterError):
        mimii_split(clips.to_dict())
    with pytest.raises(DataError, match="empty"):
        random_split(clips.iloc[:0])
