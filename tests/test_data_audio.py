"""soundad.data.load_audio: channels, rates, and every way a file can be broken."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundad.data import load_audio, read_layout
from soundad.errors import DataError, ParameterError


def _write(path: Path, data: np.ndarray, sr: int = 16000, **kw) -> Path:
    sf.write(str(path), data, sr, **kw)
    return path


@pytest.fixture
def stereo(tmp_path) -> Path:
    t = np.arange(1600) / 16000
    data = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), -0.25 * np.ones_like(t)], axis=1)
    return _write(tmp_path / "stereo.wav", data, subtype="PCM_16")


def test_channels_and_dtype(stereo):
    y0, sr = load_audio(stereo)
    y1, _ = load_audio(stereo, channel=1)
    ym, _ = load_audio(stereo, channel="mean")
    assert sr == 16000 and y0.dtype == np.float32 and y0.shape == (1600,)
    assert np.max(np.abs(y0)) == pytest.approx(0.5, abs=1e-3)
    assert np.allclose(y1, -0.25, atol=1e-4)
    assert np.allclose(ym, (y0 + y1) / 2, atol=1e-6)


def test_resample_only_when_asked(stereo):
    y, sr = load_audio(stereo, sr=8000)
    assert sr == 8000 and y.dtype == np.float32 and abs(len(y) - 800) <= 1
    y, sr = load_audio(stereo, sr=16000)
    assert sr == 16000 and len(y) == 1600


def test_silent_clip_reads_as_zeros(tmp_path):
    path = _write(tmp_path / "silent.wav", np.zeros(4000, dtype=np.int16), subtype="PCM_16")
    y, sr = load_audio(path)
    assert y.shape == (4000,) and not y.any()


def test_strict_rate(tmp_path):
    path = _write(tmp_path / "r22.wav", np.zeros(100), sr=22050, subtype="PCM_16")
    y, sr = load_audio(path)  # not strict: fine
    assert sr == 22050
    with pytest.raises(DataError, match=r"r22\.wav.*22050 Hz, expected 16000 Hz"):
        load_audio(path, strict=True)
    assert load_audio(path, strict=True, expected_sr=22050)[1] == 22050


def test_channel_out_of_range(stereo):
    with pytest.raises(ParameterError, match=r"channel=2 .*2 channel\(s\)"):
        load_audio(stereo, channel=2)
    for bad in (-1, "left", 1.0, True, None):
        with pytest.raises(ParameterError):
            load_audio(stereo, channel=bad)
    for bad in (0, -8000, "fast"):
        with pytest.raises(ParameterError):
            load_audio(stereo, sr=bad)


def test_broken_files(tmp_path, stereo):
    with pytest.raises(DataError, match="does not exist"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.wav.*empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("hello, I am not audio at all")
    with pytest.raises(DataError, match=r"text\.wav.*not a WAV"):
        load_audio(tmp_path / "text.wav")
    flac = _write(tmp_path / "clip.flac", np.zeros(100), format="FLAC")  # FLAC is read (the embedded sample)
    assert load_audio(flac, strict=False)[0].shape == (100,)
    ogg = _write(tmp_path / "clip.ogg", np.zeros(1000), format="OGG")
    with pytest.raises(DataError, match="not a WAV"):
        load_audio(ogg)
    data = stereo.read_bytes()
    (tmp_path / "trunc.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"trunc\.wav.*truncated"):
        load_audio(tmp_path / "trunc.wav")
    (tmp_path / "header.wav").write_bytes(data[:30])
    with pytest.raises(DataError, match="header.wav"):
        load_audio(tmp_path / "header.wav")
    garbled = bytearray(data)
    garbled[20:36] = b"\xff" * 16  # destroy the fmt chunk's fields
    (tmp_path / "garbled.wav").write_bytes(bytes(garbled))
    with pytest.raises(DataError, match="garbled.wav"):
        load_audio(tmp_path / "garbled.wav")
    no_frames = _write(tmp_path / "noframes.wav", np.zeros((0,), dtype=np.int16), subtype="PCM_16")
    with pytest.raises(DataError, match="no samples"):
        load_audio(no_frames)


def test_mimii_sample(mimii_sample_root):
    clips = read_layout(mimii_sample_root)
    assert len(clips) == 40
    assert clips.label.value_counts().to_dict() == {"normal": 20, "abnormal": 20}
    assert set(clips.snr) == {"0dB"} and set(clips.machine) == {"fan"} and set(clips.model_id) == {"id_00"}
    path = clips.path.iloc[0]
    assert sf.info(path).channels == 8
    y0, sr = load_audio(path, strict=True)
    y3, _ = load_audio(path, channel=3)
    ym, _ = load_audio(path, channel="mean")
    assert sr == 16000 and y0.dtype == np.float32 and y0.shape == (160000,)
    assert not np.array_equal(y0, y3)  # different microphones
    full, _ = sf.read(path, dtype="float32")
    assert np.array_equal(y3, full[:, 3]) and np.allclose(ym, full.mean(axis=1), atol=1e-6)
    with pytest.raises(ParameterError, match="8 channel"):
        load_audio(path, channel=8)


def test_pcm16_channel_is_libsndfiles_float_conversion_exactly(tmp_path):
    # every 16-bit value, spread over 8 channels, including -32768 and 32767
    values = np.arange(-32768, 32768, dtype=np.int16)
    rng = np.random.default_rng(0)
    data = rng.permutation(values).reshape(-1, 8)
    path = _write(tmp_path / "eight.wav", data, subtype="PCM_16")
    full, _ = sf.read(str(path), dtype="float32", always_2d=True)
    for channel in range(8):
        y, _ = load_audio(path, channel=channel)
        assert y.dtype == np.float32 and np.array_equal(y, full[:, channel]), channel
    ym, _ = load_audio(path, channel="mean")
    assert np.array_equal(ym, full.mean(axis=1, dtype=np.float64).astype(np.float32))
