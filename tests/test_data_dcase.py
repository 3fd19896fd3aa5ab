"""soundad.data.dcase: DCASE Task 2 layouts read through read_layout (issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundad.data import read_layout
from soundad.data.dcase import detect_layout
from soundad.errors import DataError


def _touch_wav(path: Path, n: int = 160) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(n, dtype=np.int16), 16000, format="WAV", subtype="PCM_16")


def test_dcase2020_layout_is_read_with_split_from_the_folders(tmp_path):
    for name in ("train/normal_id_00_00000000.wav", "train/normal_id_00_00000001.wav",
                 "test/normal_id_00_00000000.wav", "test/anomaly_id_00_00000000.wav",
                 "test/anomaly_id_02_00000003.wav"):
        _touch_wav(tmp_path / "ToyCar" / name)
    _touch_wav(tmp_path / "fan" / "train" / "normal_id_06_00000000.wav")
    assert detect_layout(tmp_path) == "dcase2020"
    clips = read_layout(tmp_path)
    assert list(clips.columns[:7]) == ["clip_id", "path", "snr", "machine", "model_id", "label", "split"]
    assert "domain" not in clips.columns
    row = clips.set_index("clip_id").loc["ToyCar/test/anomaly_id_02_00000003.wav"]
    assert (row.snr, row.machine, row.model_id, row.label, row.split) == (
        "dcase2020", "ToyCar", "id_02", "abnormal", "test")
    assert clips["split"].value_counts().to_dict() == {"test": 3, "train": 3}
    assert set(clips["machine"]) == {"ToyCar", "fan"}
    assert all(Path(p).is_file() for p in clips["path"])


def test_dcase2021_layout_parses_section_domain_and_attributes(tmp_path):
    names = [
        "ToyCar/train/section_00_source_train_normal_0000_car_A1_spd_28V_mic_1.wav",
        "ToyCar/train/section_00_target_train_normal_0001_car_B2_spd_31V_mic_1.wav",
        "ToyCar/test/section_00_target_test_anomaly_0000_car_B2_spd_31V_mic_1.wav",
        "slider/test/section_01_source_test_normal_0003_noAttribute.wav",
        "fan/test/section_02_source_test_normal_0004.wav",
        "valve/train/section_00_source_train_normal_0000_pat_00_panel_open_v1pat_02.wav",
        "pump/train/section_00_source_train_normal_0000_strength_1_ambient.wav",  # odd tail: kept raw
    ]
    for name in names:
        _touch_wav(tmp_path / name)
    clips = read_layout(tmp_path).set_index("clip_id")
    row = clips.loc[names[2]]
    assert (row.snr, row.machine, row.model_id, row.label, row.split, row.domain) == (
        "dcase2021-2025", "ToyCar", "section_00", "abnormal", "test", "target")
    assert (row.attributes, row.attr_car, row.attr_spd, row.attr_mic) == ("car_B2_spd_31V_mic_1", "B2", "31V", "1")
    assert clips.loc[names[3], "attributes"] == "" and clips.loc[names[3], "model_id"] == "section_01"
    assert clips.loc[names[4], "attributes"] == "" and clips.loc[names[4], "attr_car"] == ""
    assert clips.loc[names[5], "attr_panel"] == "open" and clips.loc[names[5], "attr_v1pat"] == "02"
    assert clips.loc[names[6], "attributes"] == "strength_1_ambient"
    assert clips.loc[names[6], "attr_car"] == ""
    assert clips["domain"].value_counts().to_dict() == {"source": 5, "target": 2}


def test_mimii_layout_is_still_mimii(synthetic_root):
    assert detect_layout(synthetic_root) == "mimii"
    assert "split" not in read_layout(synthetic_root).columns


def test_unrecognised_folder_gets_one_error_showing_the_three_layouts(tmp_path):
    _touch_wav(tmp_path / "recordings" / "a.wav")
    with pytest.raises(DataError) as err:
        read_layout(tmp_path)
    text = str(err.value)
    assert "recordings/a.wav" in text
    for layout in ("MIMII: <root>/<snr>/<machine>/<model_id>/{normal,abnormal}",
                   "DCASE 2020 Task 2: <root>/<machine>/{train,test}/{normal,anomaly}_id_XX",
                   "DCASE 2021-2025 Task 2: <root>/<machine>/{train,test}/section_XX_{source,target}"):
        assert layout in text


def test_dcase_folder_one_level_too_high_says_where_to_point(tmp_path):
    _touch_wav(tmp_path / "dev_data" / "fan" / "train" / "normal_id_00_00000000.wav")
    with pytest.raises(DataError, match="point at .*dev_data"):
        read_layout(tmp_path)


def test_stray_file_in_a_dcase_folder_is_named(tmp_path):
    _touch_wav(tmp_path / "fan" / "train" / "normal_id_00_00000000.wav")
    _touch_wav(tmp_path / "fan" / "test" / "recording.wav")
    with pytest.raises(DataError, match="fan/test/recording.wav.*dcase2020"):
        read_layout(tmp_path)


def test_mixed_dcase_years_and_mismatched_split_folder_are_errors(tmp_path):
    _touch_wav(tmp_path / "a" / "fan" / "train" / "normal_id_00_00000000.wav")
    _touch_wav(tmp_path / "a" / "pump" / "train" / "section_00_source_train_normal_0000.wav")
    with pytest.raises(DataError, match="mixes DCASE 2020 and DCASE 2021-2025"):
        read_layout(tmp_path / "a")
    _touch_wav(tmp_path / "b" / "pump" / "test" / "section_00_source_train_normal_0000.wav")
    with pytest.raises(DataError, match="named 'train' but sits in the 'test' folder"):
        read_layout(tmp_path / "b")


def test_dcase2021_source_test_and_target_test_folders_are_test_folders(tmp_path):
    _touch_wav(tmp_path / "gearbox" / "train" / "section_00_source_train_normal_0000_volt_1.0.wav")
    _touch_wav(tmp_path / "gearbox" / "source_test" / "section_00_source_test_anomaly_0000.wav")
    _touch_wav(tmp_path / "gearbox" / "target_test" / "section_00_target_test_normal_0000.wav")
    clips = read_layout(tmp_path)
    assert list(clips["split"]) == ["test", "test", "train"]  # sorted by clip_id: source_test, target_test, train
    target = "gearbox/target_test/section_00_target_test_normal_0000.wav"
    assert clips.set_index("clip_id").loc[target, "domain"] == "target"


def test_soundad_data_may_point_at_a_dcase_folder(tmp_path, monkeypatch):
    from soundad.data import resolve_data

    for name in ("train/normal_id_00_00000000.wav", "test/anomaly_id_00_00000000.wav"):
        _touch_wav(tmp_path / "fan" / name)
    monkeypatch.setenv("SOUNDAD_DATA", str(tmp_path))
    source = resolve_data("auto")
    assert source.kind == "env" and "fan id_00, dcase2020" in source.description


def test_unlabelled_evaluation_clips_are_named_and_supplemental_is_skipped(tmp_path):
    _touch_wav(tmp_path / "a" / "fan" / "train" / "section_00_source_train_normal_0000.wav")
    _touch_wav(tmp_path / "a" / "fan" / "supplemental" / "section_00_source_supplemental_0000.wav")
    assert len(read_layout(tmp_path / "a")) == 1
    _touch_wav(tmp_path / "a" / "fan" / "test" / "section_00_0000.wav")
    with pytest.raises(DataError, match="evaluation clip without its normal/anomaly label"):
        read_layout(tmp_path / "a")
