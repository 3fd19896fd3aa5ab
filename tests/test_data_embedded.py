"""The embedded real MIMII sample: package data, exact channel 0, and its place in resolve_data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundad.data import load_audio, read_layout, resolve_data
from soundad.data.embedded import embedded_sample_root, write_embedded_sample
from soundad.errors import ParameterError

SHARED_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mimii-sample"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    for var in ("SOUNDAD_DATA", "SOUNDAD_MIMII_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOUNDAD_OFFLINE", "1")
    monkeypatch.setenv("SOUNDAD_CACHE", str(tmp_path / "cache"))


def test_embedded_sample_layout_size_and_licence():
    root = embedded_sample_root()
    clips = read_layout(root)
    assert len(clips) == 40
    assert clips.label.value_counts().to_dict() == {"abnormal": 20, "normal": 20}
    assert set(clips.snr) == {"0dB"} and set(clips.machine) == {"fan"} and set(clips.model_id) == {"id_00"}
    assert all(p.endswith(".flac") for p in clips.path)
    size = sum(Path(p).stat().st_size for p in clips.path)
    assert size <= 10e6, f"{size / 1e6:.2f} MB"
    licence = (root / "LICENSE.md").read_text(encoding="utf-8")
    for needed in ("Hitachi", "CC BY-SA 4.0", "Purohit", "3384388", "channel) 0"):
        assert needed in licence
    y, sr = load_audio(clips.path[0])
    assert sr == 16000 and y.ndim == 1 and y.shape[0] == 160000


@pytest.mark.skipif(not SHARED_SAMPLE.is_dir(), reason="../shared/data/mimii-sample is not present")
def test_embedded_equals_channel_0_of_the_shared_sample(tmp_path):
    import soundfile as sf

    shipped = read_layout(embedded_sample_root()).set_index("clip_id")
    original = read_layout(SHARED_SAMPLE)
    assert len(original) == len(shipped)
    for clip_id, path in original[["clip_id", "path"]].itertuples(index=False):
        wav, sr = sf.read(path, dtype="int16", always_2d=True)
        flac, sr_flac = sf.read(shipped.loc[clip_id.replace(".wav", ".flac"), "path"], dtype="int16")
        assert sr == sr_flac == 16000
        np.testing.assert_array_equal(flac, wav[:, 0], err_msg=clip_id)
    # the regeneration script writes the same samples
    written = write_embedded_sample(SHARED_SAMPLE, tmp_path)
    assert len(written) == 40
    first = sorted(written)[0]
    again, _ = sf.read(first, dtype="int16")
    np.testing.assert_array_equal(again, sf.read(embedded_sample_root() / first.relative_to(tmp_path),
                                                 dtype="int16")[0])


def test_auto_offline_is_the_embedded_sample(offline):
    source = resolve_data("auto")
    assert source.kind == "embedded" and source.root == embedded_sample_root()
    assert "embedded real MIMII sample" in source.description and "embedded real MIMII sample" in source.name
    assert len(source.clips()) == 40


def test_auto_with_a_need_is_synthetic_and_says_why(offline):
    tiny = {"machines": ("fan", "pump"), "model_ids": ("id_00",), "snrs": ("-6dB", "6dB"), "n_normal": 2,
            "n_abnormal": 1, "duration": 0.5}
    source = resolve_data("auto", need="snrs", synthetic=tiny)
    assert source.kind == "synthetic"
    assert "several SNRs" in source.description and "embedded real MIMII sample" in source.description
    assert source.clips().snr.nunique() == 2
    with pytest.raises(ParameterError, match="need"):
        resolve_data("auto", need="colours")
    with pytest.raises(ParameterError, match="data='auto' only"):
        resolve_data("synthetic", need="snrs")
    assert resolve_data("embedded").kind == "embedded"


def test_auto_uses_soundad_data_that_meets_the_need(offline, monkeypatch):
    monkeypatch.setenv("SOUNDAD_DATA", str(embedded_sample_root()))
    assert resolve_data("auto").kind == "env"
    tiny = {"machines": ("fan",), "model_ids": ("id_00",), "snrs": ("-6dB", "6dB"), "n_normal": 2, "n_abnormal": 1,
            "duration": 0.5}
    fallback = resolve_data("auto", need="snrs", synthetic=tiny)
    assert fallback.kind == "synthetic" and "$SOUNDAD_DATA" in fallback.description
