"""Tests of soundad.autoencoders: input frames, learning, determinism, conventions."""

import pickle

import librosa
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from soundad.autoencoders import (
    ConvAutoencoder,
    ConvAutoencoderDetector,
    DenseAutoencoderDetector,
    dense_ae_frames,
    resolve_device,
)
from soundad.detectors import anomaly_scores, clip_scores
from soundad.errors import ParameterError
from soundad.features import MelConfig


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks train faster on one thread, especially on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def low_rank(n, rng, *, basis, noise=0.1):
    """Normal samples: a few hidden factors mixed into many dimensions (learnable)."""
    return (rng.normal(size=(n, basis.shape[0])) @ basis + noise * rng.normal(size=(n, basis.shape[1]))).astype(
        np.float32
    )


def sine_windows(n, rng, *, n_mels=20, length=24, anomalous=False):
    """Mel-like windows: smooth sweeps (normal) or white noise (anomalous)."""
    t = np.linspace(0, 1, length)
    freq = rng.uniform(1, 3, size=(n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    windows = np.sin(2 * np.pi * freq * t + phase) * np.linspace(1, 0, n_mels)[None, :, None]
    if anomalous:
        windows = rng.normal(size=windows.shape)
    return (windows + 0.05 * rng.normal(size=windows.shape)).astype(np.float32)


TINY_DENSE = dict(max_epochs=8, batch_size=64, progress=False, device="cpu")
TINY_CONV = dict(channels=(8, 16), latent=16, max_epochs=8, batch_size=32, progress=False, device="cpu")


# --------------------------------------------------------------------------- #
# dense_ae_frames
# --------------------------------------------------------------------------- #
def test_dense_ae_frames_shape_layout_and_values():
    sr = 16000
    t = np.arange(10 * sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * np.random.default_rng(0).normal(size=t.size)).astype(np.float32)
    vectors = dense_ae_frames(y, sr=sr)
    assert vectors.shape == (309, 320)  # 313 frames - 4
    assert vectors.dtype == np.float32
    # consecutive rows overlap: frame t+1 is the second block of row t and the first of row t+1
    np.testing.assert_array_equal(vectors[0, 64:128], vectors[1, :64])
    np.testing.assert_array_equal(vectors[0, 256:320], vectors[4, 0:64])
    # values: 10 log10 of the mel power spectrogram (dB, not normalised to the max)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=64, power=2.0)
    np.testing.assert_allclose(vectors[:, :64], 10 * np.log10(mel[:, :309].T + np.finfo(float).eps), rtol=1e-5, atol=1e-4)


def test_dense_ae_frames_bad_input():
    with pytest.raises(ParameterError, match="expected at least frames=5"):
        dense_ae_frames(np.zeros(1024, dtype=np.float32), sr=16000)
    with pytest.raises(ParameterError, match="mono"):
        dense_ae_frames(np.zeros((2, 16000), dtype=np.float32), sr=16000)
    with pytest.raises(ParameterError, match="n_mels must be a positive integer, got 0"):
        dense_ae_frames(np.zeros(16000, dtype=np.float32), sr=16000, mel=MelConfig(n_mels=0))
    with pytest.raises(ParameterError, match="frames=0; expected an integer >= 1"):
        dense_ae_frames(np.zeros(16000, dtype=np.float32), sr=16000, frames=0)
    with pytest.raises(ParameterError, match="sr=8000; expected mel.sr=16000"):
        dense_ae_frames(np.zeros(16000, dtype=np.float32), sr=8000)
    with pytest.raises(ParameterError, match="expected a soundad.features.MelConfig"):
        dense_ae_frames(np.zeros(16000, dtype=np.float32), sr=16000, mel={"n_mels": 64})
    with pytest.raises(ParameterError, match="NaN"):
        dense_ae_frames(np.full(16000, np.nan, dtype=np.float32), sr=16000)


# --------------------------------------------------------------------------- #
# scikit-learn conventions
# --------------------------------------------------------------------------- #
@parametrize_with_checks([DenseAutoencoderDetector(max_epochs=2, progress=False, device="cpu")])
def test_dense_autoencoder_passes_sklearn_checks(estimator, check):
    check(estimator)


# ConvAutoencoderDetector takes 3-D mel windows, so scikit-learn's checks (2-D X)
# do not apply; the conventions they test are checked by hand below.
def test_conv_autoencoder_sklearn_conventions():
    det = ConvAutoencoderDetector(**TINY_CONV)
    assert clone(det).get_params() == det.get_params()
    with pytest.raises(NotFittedError):
        det.score_samples(np.zeros((2, 20, 24), dtype=np.float32))
    X = sine_windows(60, np.random.default_rng(0))
    fitted = det.fit(X)
    assert fitted is det
    assert det.input_shape_ == (20, 24) and det.mean_.shape == (20,)
    assert not hasattr(clone(det), "network_")
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.score_samples(X[:5]), det.score_samples(X[:5]))
    pred = det.predict(X)
    assert set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)


# --------------------------------------------------------------------------- #
# learning and scores
# --------------------------------------------------------------------------- #
def test_dense_autoencoder_learns_normal_structure():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(4, 320))
    train = low_rank(1500, rng, basis=basis)
    test = np.vstack([low_rank(100, rng, basis=basis), 2 * rng.normal(size=(100, 320)).astype(np.float32)])
    y = np.r_[np.zeros(100), np.ones(100)]
    ae = DenseAutoencoderDetector(**TINY_DENSE).fit(train)
    scores = anomaly_scores(ae, test)
    assert roc_auc_score(y, scores) > 0.95
    assert scores[y == 1].mean() > scores[y == 0].mean()
    assert ae.history_[-1]["train_loss"] < ae.history_[0]["train_loss"]
    # the score is the per-sample MSE in standardised units
    recon = ae.reconstruct(test[:3])
    expected = (((recon - test[:3]) / ae.std_) ** 2).mean(axis=1)
    np.testing.assert_allclose(scores[:3], expected, rtol=1e-4)


def test_dense_autoencoder_clip_score_is_mean_frame_error():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(3, 40))
    ae = DenseAutoencoderDetector(**TINY_DENSE).fit(low_rank(400, rng, basis=basis))
    frames = low_rank(6, rng, basis=basis)
    clips = clip_scores(anomaly_scores(ae, frames), ["a"] * 3 + ["b"] * 3)
    np.testing.assert_allclose(clips["a"], anomaly_scores(ae, frames[:3]).mean())


def test_conv_autoencoder_learns_and_keeps_odd_sizes():
    rng = np.random.default_rng(0)
    train = sine_windows(400, rng, n_mels=13, length=7)
    test = np.vstack([sine_windows(50, rng, n_mels=13, length=7), sine_windows(50, rng, n_mels=13, length=7, anomalous=True)])
    y = np.r_[np.zeros(50), np.ones(50)]
    ae = ConvAutoencoderDetector(**TINY_CONV).fit(train)
    assert ae.reconstruct(test[:2]).shape == (2, 13, 7)
    scores = anomaly_scores(ae, test)
    assert roc_auc_score(y, scores) > 0.95


def test_conv_network_shapes_for_paper_windows():
    net = ConvAutoencoder(128, 64)
    assert net(torch.zeros(2, 128, 64)).shape == (2, 128, 64)
    net = ConvAutoencoder(100, 50, channels=(4, 8, 8))  # padded to 104 x 56 inside
    assert net(torch.zeros(1, 100, 50)).shape == (1, 100, 50)


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_same_seed_same_scores_and_global_rng_untouched(kind):
    rng = np.random.default_rng(2)
    if kind == "dense":
        X = low_rank(300, rng, basis=rng.normal(size=(3, 30)))
        make = lambda seed: DenseAutoencoderDetector(**{**TINY_DENSE, "max_epochs": 3}, random_state=seed)
    else:
        X = sine_windows(120, rng)
        make = lambda seed: ConvAutoencoderDetector(**{**TINY_CONV, "max_epochs": 3}, random_state=seed)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = make(5).fit(X).score_samples(X)
    b = make(5).fit(X).score_samples(X)
    c = make(6).fit(X).score_samples(X)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fits_in_threads_of_one_process_give_the_serial_scores():
    """A Dask worker runs cells in threads: seeding the initial weights must not race."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    X = low_rank(200, rng, basis=rng.normal(size=(3, 30)))

    def fit(seed):
        return DenseAutoencoderDetector(**{**TINY_DENSE, "max_epochs": 1}, random_state=seed).fit(X).score_samples(X)

    seeds = list(range(12))
    serial = [fit(seed) for seed in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(fit, seeds))
    for seed, a, b in zip(seeds, serial, threaded):
        np.testing.assert_array_equal(a, b, err_msg=f"random_state={seed}")


def test_early_stopping_keeps_best_epoch():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 16)).astype(np.float32)  # pure noise: nothing to learn for long
    ae = DenseAutoencoderDetector(max_epochs=200, patience=2, learning_rate=1e-2, progress=False, device="cpu").fit(X)
    assert ae.n_epochs_ < 200
    val = [h["val_loss"] for h in ae.history_]
    assert ae.best_epoch_ == int(np.argmin(val)) + 1
    assert ae.n_epochs_ == ae.best_epoch_ + 2
    assert ae.best_loss_ == pytest.approx(min(val))
    full = DenseAutoencoderDetector(max_epochs=4, validation_fraction=0.0, progress=False, device="cpu").fit(X)
    assert full.n_epochs_ == 4


def test_progress_bar_shows_loss(capsys):
    X = np.random.default_rng(4).normal(size=(100, 8)).astype(np.float32)
    DenseAutoencoderDetector(max_epochs=2, device="cpu").fit(X)
    assert "loss=" in capsys.readouterr().err
    DenseAutoencoderDetector(max_epochs=2, device="cpu", progress=False).fit(X)
    assert capsys.readouterr().err == ""


def test_autoencoder_bad_input():
    rng = np.random.default_rng(5)
    conv = ConvAutoencoderDetector(**TINY_CONV)
    with pytest.raises(ParameterError, match=r"expected mel windows of shape \(n_windows, n_mels, length\)"):
        conv.fit(rng.normal(size=(10, 20)))
    conv.fit(sine_windows(40, rng))
    with pytest.raises(ParameterError, match=r"fitted on \(20, 24\)"):
        conv.score_samples(sine_windows(2, rng, n_mels=16))
    bad = sine_windows(10, rng)
    bad[4, 3, 2] = np.nan
    with pytest.raises(ParameterError, match=r"windows 4\b"):
        conv.score_samples(bad)
    dense = DenseAutoencoderDetector(**TINY_DENSE)
    X = rng.normal(size=(50, 6))
    X[1, 5] = np.inf
    with pytest.raises(ParameterError, match=r"inf .*windows 1\).*feature dimensions 5\)"):
        dense.fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_clear_error():
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ParameterError, match="no CUDA device"):
        DenseAutoencoderDetector(device="cuda", progress=False).fit(np.zeros((10, 4), dtype=np.float32))


def test_dense_ae_mel_is_one_melconfig_with_the_mimii_baseline_values():
    import inspect

    from soundad.autoencoders import DENSE_AE_MEL

    # MIMII / DCASE 2020 baseline: 64 bands, n_fft 1024, hop 512, power 2, full band at 16 kHz.
    assert isinstance(DENSE_AE_MEL, MelConfig)
    assert (DENSE_AE_MEL.sr, DENSE_AE_MEL.n_mels, DENSE_AE_MEL.n_fft, DENSE_AE_MEL.hop_length,
            DENSE_AE_MEL.power, DENSE_AE_MEL.fmin, DENSE_AE_MEL.fmax) == (16000, 64, 1024, 512, 2.0, 0.0, 8000.0)
    # Only the number of bands differs from the images' mel settings.
    assert {k for k in vars(MelConfig()) if getattr(MelConfig(), k) != getattr(DENSE_AE_MEL, k)} == {"n_mels"}
    assert inspect.signature(dense_ae_frames).parameters["mel"].default is DENSE_AE_MEL


def test_dense_ae_frames_with_an_explicit_melconfig_gives_the_same_numbers():
    from soundad.autoencoders import DENSE_AE_MEL

    y = np.random.default_rng(0).normal(scale=0.1, size=3 * 16000).astype(np.float32)
    default = dense_ae_frames(y, sr=16000)
    np.testing.assert_array_equal(dense_ae_frames(y, sr=16000, mel=MelConfig(n_mels=64)), default)
    # librosa's own defaults (fmin 0, fmax sr/2) are the config's full band: same numbers.
    spec = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, hop_length=512, n_mels=64, power=2.0)
    np.testing.assert_allclose(default[:, :64], 10 * np.log10(spec[:, : len(default)].T + np.finfo(float).eps),
                               rtol=1e-5, atol=1e-4)
    wide = dense_ae_frames(y, sr=16000, mel=MelConfig(n_mels=32), frames=3)
    assert wide.shape == (default.shape[0] + 2, 32 * 3)
    assert DENSE_AE_MEL.n_mels * 5 == default.shape[1]


def test_baseline_inputs_use_the_dense_mel_settings(tmp_path):
    import soundfile as sf

    from soundad.autoencoders import baseline_inputs

    y = np.random.default_rng(1).normal(scale=0.1, size=2 * 16000).astype(np.float32)
    sf.write(tmp_path / "a.wav", y, 16000)
    clips = pd.DataFrame({"clip_id": ["a"], "path": [str(tmp_path / "a.wav")]})
    frames = baseline_inputs(clips, ["dense_ae"])["dense_ae"]["a"]
    assert frames.shape[1] == 64 * 5
    narrow = baseline_inputs(clips, ["dense_ae"], dense_mel=MelConfig(n_mels=16))["dense_ae"]["a"]
    assert narrow.shape == (frames.shape[0], 16 * 5)
