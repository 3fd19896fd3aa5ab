"""The torch mel front end (soundad.spectrogram_torch) against the librosa one (soundad.features)."""

import numpy as np
import pytest
import torch

from soundad.data import load_audio
from soundad.errors import ParameterError
from soundad.features import MelConfig, WindowConfig, compute_mel, sliding_windows
from soundad.front_end import resolve_front_end
from soundad.spectrogram_torch import batched_clip_windows, mel_db, mel_windows, resample


@pytest.fixture(scope="module")
def mimii_audio(mimii_sample_root):
    paths = sorted(mimii_sample_root.rglob("*.wav"))
    picked = paths[:2] + paths[-2:]  # normal and abnormal clips
    return picked, [load_audio(p, channel=0)[0] for p in picked]


def test_mel_db_matches_librosa_on_real_clips(mimii_audio):
    _, clips = mimii_audio
    expected = np.stack([compute_mel(y, sr=16000) for y in clips])
    got = mel_db(torch.from_numpy(np.stack(clips))).numpy()
    assert got.shape == expected.shape and got.dtype == np.float32
    # float32 FFTs of two libraries: rounding only (measured max ~5e-5 dB)
    assert np.abs(got - expected).max() < 1e-3
    assert got.max() == 0.0 and got.min() >= -80.0


@pytest.mark.parametrize("config", [MelConfig(n_fft=512, hop_length=160, n_mels=64, fmax=7000.0, top_db=60.0),
                                    MelConfig(power=1.0)])
def test_other_settings_match_librosa(config):
    rng = np.random.default_rng(1)
    y = (rng.standard_normal(24000) * np.linspace(0.01, 1, 24000)).astype(np.float32)
    np.testing.assert_allclose(mel_db(torch.from_numpy(y), config=config).numpy(),
                               compute_mel(y, sr=16000, config=config), atol=1e-3)


def test_silent_clip_and_int16_input():
    assert torch.count_nonzero(mel_db(torch.zeros(4000))) == 0
    pcm = (np.random.default_rng(0).standard_normal(8000) * 3000).astype(np.int16)
    from_int = mel_db(torch.from_numpy(pcm)).numpy()
    expected = compute_mel(pcm.astype(np.float32) / 32768, sr=16000)
    assert np.abs(from_int - expected).max() < 1e-3


def test_windows_match_sliding_windows(mimii_audio):
    _, clips = mimii_audio
    window = WindowConfig()
    got = mel_windows(torch.from_numpy(clips[0])[None], window=window)[0].numpy()
    expected = sliding_windows(compute_mel(clips[0], sr=16000), length=window.length, hop=window.hop)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-3


def test_batched_windows_mix_lengths_and_rates():
    rng = np.random.default_rng(2)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (40000, 36000, 80000)]
    windows, rows = batched_clip_windows([torch.from_numpy(c) for c in clips], sr=[16000, 16000, 32000])
    singles = [mel_windows(torch.from_numpy(clips[0])[None])[0], mel_windows(torch.from_numpy(clips[1])[None])[0],
               mel_windows(resample(torch.from_numpy(clips[2]), orig_sr=32000, target_sr=16000)[None])[0]]
    assert rows == [len(s) for s in singles]
    torch.testing.assert_close(windows, torch.cat(singles), atol=1e-4, rtol=0)


def test_too_short_clip_is_a_parameter_error():
    with pytest.raises(ParameterError, match="longer than the spectrogram"):
        mel_windows(torch.zeros(1, 1000))


@pytest.mark.parametrize("orig_sr", [32000, 44100])
def test_resample_close_to_librosa_below_the_transition_band(mimii_audio, orig_sr):
    """Not soxr sample for sample: the filters differ near Nyquist. Bound the effect on the mel dB."""
    import librosa

    y16 = mimii_audio[1][0]
    source = librosa.resample(y16, orig_sr=16000, target_sr=orig_sr, res_type="soxr_vhq").astype(np.float32)
    ours = resample(torch.from_numpy(source), orig_sr=orig_sr, target_sr=16000)
    theirs = librosa.resample(source, orig_sr=orig_sr, target_sr=16000).astype(np.float32)
    assert ours.shape[-1] == theirs.shape[-1]
    diff = np.abs(mel_db(ours).numpy() - compute_mel(theirs, sr=16000))
    # measured: mean 0.073 dB; bands below the top 8 (< ~7 kHz) within 0.14 dB;
    # the top bands, in the filters' transition band, up to ~8 dB
    assert diff.mean() < 0.1
    assert diff[:120].max() < 0.25


def test_resample_rejects_bad_rates():
    with pytest.raises(ParameterError, match="orig_sr"):
        resample(torch.zeros(10), orig_sr=0, target_sr=16000)
    with pytest.raises(ParameterError, match=r"target_sr=16000.5; expected an integer >= 1"):
        resample(torch.zeros(10), orig_sr=8000, target_sr=16000.5)
    with pytest.raises(ParameterError, match=r"orig_sr=True; expected an integer >= 1"):
        resample(torch.zeros(10), orig_sr=True, target_sr=16000)


def test_unknown_front_end_names_the_choices():
    with pytest.raises(ParameterError, match=r"front_end='numpy'; expected one of 'auto', 'librosa', 'torch'"):
        resolve_front_end("numpy", torch.device("cpu"))


def test_front_end_choice():
    assert resolve_front_end("librosa", torch.device("cuda")) == "librosa"
    assert resolve_front_end("auto", torch.device("cuda")) == "torch"
    assert resolve_front_end("auto", torch.device("cpu")) == "torch"  # measured faster (front_end.py)
    with pytest.raises(ParameterError, match="front_end"):
        resolve_front_end("numpy", torch.device("cpu"))


def test_backbone_features_agree_between_front_ends(mimii_audio):
    """Same clips through EfficientNet-Lite0 (ImageNet weights) from either front end.

    The dB values differ by float32 rounding (~1e-5 dB), but the colour map is a
    256-step lookup: a pixel whose value lies within that rounding of a step
    boundary takes the neighbouring colour. So a few pixels per window differ by
    one colour step, and features differ by more than the dB values alone would
    suggest: measured per-window relative L2 difference mean ~4e-5, max ~2.5e-4.
    """
    from soundad.extract import extract_features

    paths, _ = mimii_audio
    kw = dict(backbone="efficientnet_lite0", weights="imagenet", device="cpu", progress=False, num_workers=0)
    ref = extract_features(paths[:3], front_end="librosa", **kw)
    got = extract_features(paths[:3], front_end="torch", **kw)
    assert got.settings["numerics"]["front_end"] == "torch" and "front_end" not in ref.settings["numerics"]
    np.testing.assert_array_equal(got.clip_ids, ref.clip_ids)
    rel = np.linalg.norm(got.features - ref.features, axis=1) / np.linalg.norm(ref.features, axis=1)
    assert np.median(rel) < 1e-4
    assert rel.max() < 1e-3


def test_on_a_cpu_the_torch_front_end_resamples_with_soxr_as_librosa_does(mimii_audio, tmp_path):
    """A 32 kHz clip: decoded at 16 kHz by soxr, then the torch mel; the librosa front end's windows."""
    import librosa
    import soundfile as sf

    from soundad.clip_loader import clip_windows
    from soundad.extract import extract_features
    from soundad.front_end import ClipAudio

    _, ys = mimii_audio
    path = tmp_path / "clip_32k.wav"
    sf.write(path, librosa.resample(ys[0], orig_sr=16000, target_sr=32000), 32000, subtype="PCM_16")
    first, rates, audio = ClipAudio([str(path)], mel=MelConfig(), window=WindowConfig(), channel=0,
                                    decode_sr=16000).load(0)
    assert (first, rates) == (0, [16000])
    windows, rows = batched_clip_windows(audio, sr=rates)
    ref = clip_windows(path)
    assert rows == [len(ref)]
    assert np.abs(windows.numpy() - ref).max() < 1e-3  # [dB]; the sinc resampler differs by up to 8 dB

    kw = dict(backbone="resnet18", weights="random", device="cpu", progress=False)
    with pytest.warns(UserWarning, match="32000"):
        got = extract_features([path], **kw)  # "auto": the torch front end on a CPU
    ref = extract_features([path], front_end="librosa", **kw)
    assert got.settings["numerics"]["front_end"] == "torch"
    rel = np.linalg.norm(got.features - ref.features, axis=1) / np.linalg.norm(ref.features, axis=1)
    assert np.median(rel) < 1e-4


def test_measure_front_ends_times_both_on_the_same_windows(mimii_audio, tmp_path):
    import librosa
    import soundfile as sf

    from soundad.clip_loader import clip_windows
    from soundad.front_end import measure_front_ends

    paths, ys = mimii_audio
    other = tmp_path / "clip_22k.wav"
    sf.write(other, librosa.resample(ys[1], orig_sr=16000, target_sr=22050), 22050, subtype="PCM_16")
    clips = [str(paths[0]), str(other)]
    out = measure_front_ends(clips, batch=2, repeats=1)
    assert set(out) == {"librosa", "torch", "windows"}
    assert out["windows"] == sum(len(clip_windows(p)) for p in clips)
    assert out["librosa"] > 0 and out["torch"] > 0
    with pytest.raises(ParameterError, match="batch"):
        measure_front_ends(clips, batch=0)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


@needs_cuda
@pytest.mark.parametrize("config", [MelConfig(), MelConfig(n_fft=512, hop_length=160, n_mels=64, fmax=7000.0,
                                                           top_db=60.0)])
def test_mel_db_on_cuda_matches_librosa(config):
    rng = np.random.default_rng(3)
    y = (rng.standard_normal(160000) * np.linspace(0.01, 1, 160000)).astype(np.float32)  # 10 s
    got = mel_db(torch.from_numpy(y).cuda(), config=config)
    assert got.is_cuda
    np.testing.assert_allclose(got.cpu().numpy(), compute_mel(y, sr=16000, config=config), atol=1e-3)


@needs_cuda
def test_batched_windows_on_cuda_match_the_cpu():
    rng = np.random.default_rng(4)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (40000, 80000)]
    cpu, rows = batched_clip_windows([torch.from_numpy(c) for c in clips], sr=[16000, 32000])
    gpu, gpu_rows = batched_clip_windows([torch.from_numpy(c).cuda() for c in clips], sr=[16000, 32000])
    assert gpu_rows == rows and gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-3, rtol=0)


@needs_cuda
def test_backbone_features_agree_between_front_ends_on_cuda(tmp_path):
    """As on the CPU: the device front end gives the librosa one's features within 1e-4 (median)."""
    from soundad.extract import extract_features
    from test_extract import write_clips

    clips = write_clips(tmp_path / "audio", n=3, seconds=4.0)
    kw = dict(backbone="efficientnet_lite0", weights="imagenet", device="cuda", progress=False)
    ref = extract_features(clips, front_end="librosa", **kw)
    got = extract_features(clips, front_end="torch", **kw)
    rel = np.linalg.norm(got.features - ref.features, axis=1) / np.linalg.norm(ref.features, axis=1)
    assert np.median(rel) < 1e-4
    assert rel.max() < 1e-3
