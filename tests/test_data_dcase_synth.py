"""soundad.data.dcase_synth and `soundad synth --layout` (issue 15)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from soundad.cli import main
from soundad.data import load_audio, read_layout
from soundad.data.dcase_synth import shift_speed, write_dcase_synthetic
from soundad.dcase_scores import dcase_scores
from soundad.errors import ParameterError
from soundad.features import compute_mel


def test_shift_speed_multiplies_every_frequency():
    sr, n = 16000, 16000

    def tone(length):
        return np.sin(2 * np.pi * 1000.0 * np.arange(length) / sr)

    y = shift_speed(tone, n=n, speed=1.25)
    assert y.shape == (n,) and y.dtype == np.float32
    peak = np.argmax(np.abs(np.fft.rfft(y))) * sr / n
    assert peak == pytest.approx(1250.0, abs=2.0)  # 1000 Hz played 1.25 times faster
    with pytest.raises(ParameterError, match="speed"):
        shift_speed(tone, n=n, speed=0.0)


@pytest.fixture(scope="module")
def dcase2023(tmp_path_factory):
    root = tmp_path_factory.mktemp("dc23")
    return write_dcase_synthetic(root, layout="dcase2023", machines=("fan", "valve"), n_normal=10, n_abnormal=5,
                                 duration=1.0, seed=0)


def test_dcase2023_synth_layout_counts_and_attributes(dcase2023):
    clips = read_layout(dcase2023)
    counts = clips.groupby(["machine", "split", "domain", "label"]).size()
    assert counts[("fan", "train", "source", "normal")] == 10
    assert counts[("fan", "train", "target", "normal")] == 1  # n_normal // 10, like DCASE's 990:10
    for domain in ("source", "target"):
        for label in ("normal", "abnormal"):
            assert counts[("valve", "test", domain, label)] == 5
    assert set(clips["model_id"]) == {"section_00"}
    assert set(clips.loc[clips.domain == "target", "attr_spd"]) == {"125"}
    assert set(clips.loc[clips.domain == "source", "attr_spd"]) == {"100"}


def test_target_domain_shift_lowers_target_auc(dcase2023):
    """A detector fitted on (mostly source) normal training clips: target AUC < source AUC.

    Features: the clip's mean log-mel spectrum; score: distance to the nearest
    normal training clip. Measured: fan 1.00 vs 0.60, valve 0.94 vs 0.54.
    """
    clips = read_layout(dcase2023)
    for machine in ("fan", "valve"):
        c = clips[clips.machine == machine]
        X = np.stack([compute_mel(load_audio(p, sr=16000)[0], sr=16000).mean(axis=1) for p in c["path"]])
        train = (c["split"] == "train").to_numpy()
        distance = NearestNeighbors(n_neighbors=1).fit(X[train]).kneighbors(X[~train])[0][:, 0]
        row = dcase_scores(c[~train].assign(score=distance)).iloc[0]
        assert row["auc_source"] - row["auc_target"] >= 0.3, (machine, row.to_dict())


def test_synth_is_deterministic_and_dcase2020_has_no_domain(tmp_path):
    kwargs = dict(layout="dcase2020", machines=("pump",), n_normal=3, n_abnormal=2, duration=0.5, seed=4)
    digests = []
    for name in ("a", "b"):
        root = write_dcase_synthetic(tmp_path / name, **kwargs)
        digests.append({p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
                        for p in root.rglob("*.wav")})
    assert digests[0] == digests[1] and len(digests[0]) == 3 + 2 + 2
    clips = read_layout(tmp_path / "a")
    assert "domain" not in clips.columns and set(clips["snr"]) == {"dcase2020"}


def test_bad_arguments_are_parameter_errors(tmp_path):
    with pytest.raises(ParameterError, match="layout"):
        write_dcase_synthetic(tmp_path, layout="dcase2019")
    with pytest.raises(ParameterError, match="ToyCar"):
        write_dcase_synthetic(tmp_path, machines=("ToyCar",))
    with pytest.raises(ParameterError, match="duplicates"):
        write_dcase_synthetic(tmp_path, machines=("fan", "fan"))


def test_machines_as_a_comma_separated_string(tmp_path):
    root = write_dcase_synthetic(tmp_path, machines="fan,valve", n_normal=2, n_abnormal=1, duration=2.1)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["fan", "valve"]


def test_cli_synth_layout(tmp_path, capsys):
    rc = main(["synth", str(tmp_path / "d"), "--layout", "dcase2023", "--machines", "fan", "--clips", "10",
               "--abnormal", "2", "--duration", "2.1"])
    assert rc == 0
    clips = read_layout(tmp_path / "d")
    assert set(clips["domain"]) == {"source", "target"} and len(clips) == 10 + 1 + 8
    out = capsys.readouterr().out
    assert "section_00" in out
