"""Tests for soundad.features: mel spectrograms, windows and images."""

import matplotlib
import numpy as np
import pytest
import torch

from soundad.errors import ParameterError
from soundad.features import (
    ImageConfig,
    MelConfig,
    WindowConfig,
    colormap_lut,
    compute_mel,
    frames_to_seconds,
    seconds_to_frames,
    sliding_windows,
    windows_to_images,
)

SR = 16000


def tone(seconds=2.0, freq=1000.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_defaults_are_paper_like():
    mel = MelConfig()
    assert (mel.sr, mel.fmin, mel.fmax, mel.top_db) == (16000, 0.0, 8000.0, 80.0)
    image = ImageConfig()
    assert (image.colormap, image.vmin, image.vmax) == ("viridis", -80.0, 0.0)


def test_compute_mel_shape_range_and_peak_band():
    y = tone(2.0, freq=1000.0)
    mel = compute_mel(y, sr=SR)
    assert mel.dtype == np.float32
    assert mel.shape == (128, 1 + len(y) // 512)
    assert mel.max() == pytest.approx(0.0)
    assert mel.min() >= -80.0 - 1e-4
    # The loudest band sits where the 1 kHz tone is (row 0 = lowest band).
    import librosa

    freqs = librosa.mel_frequencies(n_mels=128, fmin=0.0, fmax=8000.0)
    peak = int(np.argmax(mel[:, mel.shape[1] // 2]))
    assert abs(freqs[peak] - 1000.0) < 100.0


def test_compute_mel_silence_is_finite():
    mel = compute_mel(np.zeros(SR, dtype=np.float32), sr=SR)
    assert np.all(np.isfinite(mel))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sr": 22050}, "sr=22050"),
        ({"config": MelConfig(fmax=9000.0)}, "Nyquist"),
        ({"config": MelConfig(n_mels=0)}, "n_mels"),
    ],
)
def test_compute_mel_rejects_bad_parameters(kwargs, match):
    kwargs = {"sr": SR, **kwargs}
    with pytest.raises(ParameterError, match=match):
        compute_mel(tone(0.5), **kwargs)


def test_compute_mel_rejects_bad_audio():
    with pytest.raises(ParameterError, match="NaN"):
        compute_mel(np.full(SR, np.nan, dtype=np.float32), sr=SR)
    with pytest.raises(ParameterError, match="mono"):
        compute_mel(np.zeros((2, SR), dtype=np.float32), sr=SR)


def test_seconds_frames_conversion():
    assert seconds_to_frames(2.048) == 64
    assert frames_to_seconds(64) == pytest.approx(2.048)
    assert WindowConfig.from_seconds(2.048, 1.024) == WindowConfig(length=64, hop=32)
    with pytest.raises(ParameterError):
        seconds_to_frames(0.0)


def test_sliding_windows_shape_and_content():
    mel = np.arange(4 * 10, dtype=np.float32).reshape(4, 10)
    windows = sliding_windows(mel, length=4, hop=3)
    assert windows.shape == (3, 4, 4)  # starts 0, 3, 6; frames 8-9 partly dropped
    np.testing.assert_array_equal(windows[1], mel[:, 3:7])
    assert windows.flags["C_CONTIGUOUS"]


def test_window_longer_than_clip_names_both_lengths():
    with pytest.raises(ParameterError, match=r"64 frames.*32 frames"):
        sliding_windows(np.zeros((128, 32), dtype=np.float32), length=64, hop=32)


def test_colormap_lut_matches_matplotlib():
    lut = colormap_lut("viridis")
    assert lut.shape == (256, 3)
    np.testing.assert_allclose(lut[0], matplotlib.colormaps["viridis"](0.0)[:3], atol=1e-6)
    np.testing.assert_allclose(lut[255], matplotlib.colormaps["viridis"](1.0)[:3], atol=1e-6)
    with pytest.raises(ParameterError, match="colormap"):
        colormap_lut("no-such-map")


def test_images_equal_matplotlib_colours_without_resize():
    rng = np.random.default_rng(0)
    windows = rng.uniform(-90.0, 5.0, size=(3, 32, 32)).astype(np.float32)
    images = windows_to_images(windows, config=ImageConfig(size=32))
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.float32
    norm = matplotlib.colors.Normalize(vmin=-80.0, vmax=0.0)
    expected = matplotlib.colormaps["viridis"](norm(windows[:, ::-1, :]))[..., :3]  # flipped for display
    np.testing.assert_allclose(images.numpy().transpose(0, 2, 3, 1), expected, atol=1e-6)


def test_images_resized_normalised_and_gray():
    windows = np.linspace(-80.0, 0.0, 2 * 16 * 8, dtype=np.float32).reshape(2, 16, 8)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    images = windows_to_images(windows, config=ImageConfig(size=40), mean=mean, std=std)
    assert images.shape == (2, 3, 40, 40) and images.is_contiguous()
    raw = windows_to_images(windows, config=ImageConfig(size=40))
    expected = (raw - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    torch.testing.assert_close(images, expected)
    gray = windows_to_images(windows, config=ImageConfig(colormap="gray", size=40))
    torch.testing.assert_close(gray[:, 0], gray[:, 1])
    torch.testing.assert_close(gray[:, 0], gray[:, 2])
    cl = windows_to_images(windows, config=ImageConfig(size=40), mean=mean, std=std, channels_last=True)
    assert cl.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl, images, rtol=0, atol=0)


def test_images_reject_bad_input():
    with pytest.raises(ParameterError, match="shape"):
        windows_to_images(np.zeros((16, 8), dtype=np.float32))
    with pytest.raises(ParameterError, match="vmin < vmax"):
        windows_to_images(np.zeros((1, 16, 8), dtype=np.float32), config=ImageConfig(vmin=0.0, vmax=-80.0))
    with pytest.raises(ParameterError, match="both mean and std"):
        windows_to_images(np.zeros((1, 16, 8), dtype=np.float32), mean=(0.5, 0.5, 0.5))


def test_compute_mel_is_librosa_melspectrogram_exactly():
    import librosa

    from soundad.features import mel_filter_bank

    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(3 * SR) + tone(3.0, freq=440.0)).astype(np.float32)
    for config in (MelConfig(), MelConfig(n_fft=512, hop_length=256, n_mels=64, fmin=50.0, fmax=7000.0, power=1.0)):
        ref = librosa.power_to_db(
            librosa.feature.melspectrogram(y=y, sr=SR, n_fft=config.n_fft, hop_length=config.hop_length,
                                           n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax,
                                           power=config.power),
            ref=np.max, top_db=config.top_db)
        assert np.array_equal(compute_mel(y, sr=SR, config=config), ref.astype(np.float32))
    basis = mel_filter_bank(sr=SR, n_fft=1024, n_mels=128, fmax=8000.0)
    assert basis is mel_filter_bank(sr=SR, n_fft=1024, n_mels=128, fmax=8000)  # built once
    assert not basis.flags.writeable
    assert np.array_equal(basis, librosa.filters.mel(sr=SR, n_fft=1024, n_mels=128, fmax=8000.0))
