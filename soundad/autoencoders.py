"""Autoencoder baselines (chapter 05, ``notebooks/05_autoencoders``).

Before transfer learning, the usual way to find anomalous machine sounds was to
train an autoencoder on normal sounds only and use its reconstruction error as
the anomaly score: what it never saw, it reconstructs badly. Two baselines:

* :class:`DenseAutoencoderDetector`: the MIMII / DCASE 2020 baseline, a small
  fully connected autoencoder on 5 stacked log-mel frames (320 values, from
  :func:`dense_ae_frames`): 320-64-64-8-64-64-320 with ReLU, MSE loss; the
  clip score is the mean frame error (:func:`soundad.detectors.clip_scores`).
* :class:`ConvAutoencoderDetector`: a convolutional autoencoder on whole mel
  windows ``(n_mels, length)``, the comparison baseline of Müller et al. (2021).

Both are scikit-learn style: ``fit(X)`` on normal data, then
``score_samples(X)`` = **minus** the per-sample reconstruction error (higher =
more normal, like every detector in :mod:`soundad.detectors`), so
:func:`soundad.detectors.anomaly_scores` turns them into anomaly scores
unchanged. Training is seeded without touching torch's global random state,
deterministic on CPU, stops early on a held-back part of the normal data and
shows the loss in a tqdm progress bar.

Notes
-----
* On CUDA the dense autoencoder was seen to repeat exactly, but the conv
  autoencoder's scores can differ in the 4th-5th digit between two fits
  (cuDNN picks non-deterministic convolution kernels); AUCs are unaffected
  in practice.
* These networks are tiny: on a busy CPU, ``torch.set_num_threads(1)`` can
  train them several times faster than the default thread count.
"""

from __future__ import annotations

import copy
import math
import sys
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from soundad.backbones import resolve_device
from soundad.detectors import _CONTAMINATION, _QuantileOffsetMixin, _validate, check_finite
from soundad.errors import ParameterError

__all__ = [
    "ConvAutoencoder",
    "ConvAutoencoderDetector",
    "DenseAutoencoder",
    "DenseAutoencoderDetector",
    "dense_ae_frames",
    "resolve_device",
]


# --------------------------------------------------------------------------- #
# input features of the dense baseline
# --------------------------------------------------------------------------- #
def dense_ae_frames(
    y: np.ndarray,
    *,
    sr: int,
    n_mels: int = 64,
    n_fft: int = 1024,
    hop_length: int = 512,
    frames: int = 5,
    power: float = 2.0,
) -> np.ndarray:
    """Stacked log-mel frames, the input of the MIMII / DCASE 2020 dense autoencoder.

    The log-mel spectrogram is ``20 / power * log10(mel + eps)`` (dB for power
    spectra) without normalisation to the maximum; each output row is
    ``frames`` consecutive frames laid end to end, frame by frame:
    ``row[t] = [mel[:, t], mel[:, t + 1], ..., mel[:, t + frames - 1]]``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio signal.
    sr : int > 0 [Hz]
        Sample rate of ``y``.
    n_mels : int > 0, default=64
        Mel bands.
    n_fft : int > 0 [samples], default=1024
        FFT window length.
    hop_length : int > 0 [samples], default=512
        Hop between frames.
    frames : int > 0, default=5
        Consecutive frames stacked into one vector.
    power : float > 0, default=2.0
        Exponent of the magnitude spectrogram (2 = power).

    Returns
    -------
    vectors : np.ndarray [shape=(n_frames - frames + 1, n_mels * frames)] float32
        With the defaults and 10 s at 16 kHz: ``(309, 320)``.

    Raises
    ------
    ParameterError
        Bad parameters, a non-finite or multi-channel signal, or a clip
        shorter than ``frames`` frames.
    """
    import librosa

    for name, value in (("sr", sr), ("n_mels", n_mels), ("n_fft", n_fft), ("hop_length", hop_length), ("frames", frames)):
        if not isinstance(value, Integral) or value <= 0:
            raise ParameterError(f"{name}={value!r}; expected a positive integer")
    if not power > 0:
        raise ParameterError(f"power={power!r}; expected a positive number")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"y has shape {y.shape}; expected a mono signal of shape (n,)")
    if not np.isfinite(y).all():
        raise ParameterError("y contains NaN or inf samples; expected a finite signal")
    mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=power
    )
    log_mel = 20.0 / power * np.log10(mel + sys.float_info.epsilon)
    n_vectors = log_mel.shape[1] - frames + 1
    if n_vectors < 1:
        raise ParameterError(
            f"y has {log_mel.shape[1]} frames ({y.size} samples at hop_length={hop_length}); "
            f"expected at least frames={frames}"
        )
    vectors = np.empty((n_vectors, n_mels * frames), dtype=np.float32)
    for t in range(frames):
        vectors[:, n_mels * t : n_mels * (t + 1)] = log_mel[:, t : t + n_vectors].T
    return vectors


# --------------------------------------------------------------------------- #
# networks
# --------------------------------------------------------------------------- #
class DenseAutoencoder(nn.Module):
    """Fully connected autoencoder ``D-64-64-8-64-64-D`` (ReLU; linear output).

    Parameters
    ----------
    n_features : int
        Input (and output) size ``D``, 320 for the MIMII baseline.
    hidden : tuple of int, default=(64, 64)
        Encoder layer sizes; the decoder mirrors them.
    latent : int, default=8
        Bottleneck size.
    """

    def __init__(self, n_features: int, hidden=(64, 64), latent: int = 8):
        super().__init__()
        sizes = [n_features, *hidden, latent, *reversed(hidden)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], n_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, D)
        return self.net(x)


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for mel windows ``(N, n_mels, length)``.

    The window is treated as a one-channel image, zero-padded (bottom/right)
    to a multiple of ``2 ** len(channels)``, encoded by stride-2 convolutions
    (3x3, ReLU) and a linear bottleneck, decoded by stride-2 transposed
    convolutions (4x4) and cropped back to ``(n_mels, length)``.

    Parameters
    ----------
    n_mels, length : int
        Size of one window [mel bands, frames].
    channels : tuple of int, default=(16, 32, 64, 64)
        Channels of the encoder convolutions; the decoder mirrors them.
    latent : int, default=64
        Bottleneck size.
    """

    def __init__(self, n_mels: int, length: int, channels=(16, 32, 64, 64), latent: int = 64):
        super().__init__()
        factor = 2 ** len(channels)
        self.n_mels, self.length = n_mels, length
        self.padded = (math.ceil(n_mels / factor) * factor, math.ceil(length / factor) * factor)
        self.code_shape = (channels[-1], self.padded[0] // factor, self.padded[1] // factor)
        encoder: list[nn.Module] = []
        for c_in, c_out in zip((1, *channels[:-1]), channels):
            encoder += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*encoder)
        n_code = int(np.prod(self.code_shape))
        self.to_latent = nn.Linear(n_code, latent)
        self.from_latent = nn.Sequential(nn.Linear(latent, n_code), nn.ReLU())
        decoder: list[nn.Module] = []
        outs = (*reversed(channels[:-1]), 1)
        for i, (c_in, c_out) in enumerate(zip(reversed(channels), outs)):
            decoder.append(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))
            if i < len(channels) - 1:
                decoder.append(nn.ReLU())
        self.decoder = nn.Sequential(*decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, n_mels, length) -> same
        n = x.shape[0]
        x = F.pad(x[:, None], (0, self.padded[1] - self.length, 0, self.padded[0] - self.n_mels))
        code = self.to_latent(self.encoder(x).reshape(n, -1))
        out = self.decoder(self.from_latent(code).reshape(n, *self.code_shape))
        return out[:, 0, : self.n_mels, : self.length]


# --------------------------------------------------------------------------- #
# detectors
# --------------------------------------------------------------------------- #
_TRAINING_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "contamination": _CONTAMINATION,
    "random_state": [Interval(Integral, 0, None, closed="left"), None],
    "device": [StrOptions({"auto", "cpu", "cuda"})],
    "progress": ["boolean"],
}


class _AutoencoderDetector(_QuantileOffsetMixin, OutlierMixin, BaseEstimator):
    """Shared training loop and scoring of the autoencoder detectors."""

    _name = "autoencoder"

    # -- to be provided by subclasses ------------------------------------- #
    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        raise NotImplementedError

    def _stat_axes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _build_network(self, shape: tuple[int, ...]) -> nn.Module:
        raise NotImplementedError

    # -- training ---------------------------------------------------------- #
    def _batches(self, X: np.ndarray, indices: np.ndarray):
        for start in range(0, len(indices), self.batch_size):
            batch = torch.from_numpy(X[indices[start : start + self.batch_size]])
            yield ((batch.to(self.device_) - self._mean_t) / self._std_t)

    def _mean_loss(self, X: np.ndarray, indices: np.ndarray) -> float:
        total = 0.0
        with torch.no_grad():
            for batch in self._batches(X, indices):
                total += F.mse_loss(self.network_(batch), batch, reduction="sum").item()
        return total / (len(indices) * int(np.prod(X.shape[1:])))

    def fit(self, X, y=None):
        """Train on normal data, stopping early on a held-back part of it.

        Parameters
        ----------
        X : array-like
            Normal training samples (see the class docstring for the shape).
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._check_X(X, reset=True)
        n = X.shape[0]
        rng = np.random.default_rng(self.random_state)
        torch_seed = int(rng.integers(2**31 - 1))
        self.device_ = resolve_device(self.device, mps=False)

        # standardisation learned on all normal training data
        axes = self._stat_axes()
        mean = X.mean(axis=axes, dtype=np.float64)
        std = X.std(axis=axes, dtype=np.float64)
        std = np.where(std > 1e-8 * max(1.0, float(np.abs(mean).max())), std, 1.0)
        self.mean_ = mean.astype(np.float32)
        self.std_ = std.astype(np.float32)
        self._restore_tensors()

        # hold back part of the normal data for early stopping
        order = rng.permutation(n)
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            val_idx, train_idx = np.array([], dtype=np.int64), order
        else:
            val_idx, train_idx = np.sort(order[:n_val]), order[n_val:]

        with torch.random.fork_rng(devices=[]):  # seed init without touching global state
            torch.manual_seed(torch_seed)
            network = self._build_network(X.shape[1:])
        self.network_ = network.to(self.device_)
        generator = torch.Generator().manual_seed(torch_seed)
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)

        self.history_ = []
        best_loss, best_state, waited = math.inf, None, 0
        self.best_epoch_ = 0
        bar = tqdm(range(1, self.max_epochs + 1), desc=self._name, unit="epoch", disable=not self.progress, leave=False)
        for epoch in bar:
            self.network_.train()
            perm = train_idx[torch.randperm(len(train_idx), generator=generator).numpy()]
            total, count = 0.0, 0
            for batch in self._batches(X, perm):
                optimiser.zero_grad()
                loss = F.mse_loss(self.network_(batch), batch)
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
                count += len(batch)
            train_loss = total / count
            self.network_.eval()
            val_loss = self._mean_loss(X, val_idx) if len(val_idx) else train_loss
            self.history_.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
            bar.set_postfix(loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}")
            if val_loss < best_loss:
                best_loss, waited, self.best_epoch_ = val_loss, 0, epoch
                best_state = copy.deepcopy(self.network_.state_dict())
            else:
                waited += 1
                if waited >= self.patience:
                    break
        bar.close()
        self.network_.load_state_dict(best_state)
        self.network_.eval()
        self.n_epochs_ = len(self.history_)
        self.best_loss_ = float(best_loss)
        self._set_offset(X)
        return self

    def reconstruct(self, X) -> np.ndarray:
        """Reconstruction of ``X`` in the input's units (de-standardised).

        Parameters
        ----------
        X : array-like, same shape rules as ``fit``

        Returns
        -------
        np.ndarray, same shape as ``X``, float32
        """
        check_is_fitted(self, "network_")
        X = self._check_X(X, reset=False)
        out = []
        with torch.no_grad():
            for batch in self._batches(X, np.arange(X.shape[0])):
                out.append((self.network_(batch) * self._std_t + self._mean_t).cpu().numpy())
        return np.concatenate(out) if out else np.empty_like(X)

    def score_samples(self, X) -> np.ndarray:
        """Minus the reconstruction error (MSE over a sample's values, standardised units).

        Higher = more normal, like every detector in :mod:`soundad.detectors`;
        :func:`soundad.detectors.anomaly_scores` gives the error itself.

        Parameters
        ----------
        X : array-like, same shape rules as ``fit``

        Returns
        -------
        scores : np.ndarray [shape=(n_samples,)] float64
        """
        check_is_fitted(self, "network_")
        X = self._check_X(X, reset=False)
        errors = []
        with torch.no_grad():
            for batch in self._batches(X, np.arange(X.shape[0])):
                err = (self.network_(batch) - batch).pow(2).reshape(len(batch), -1).mean(dim=1)
                errors.append(err.cpu().numpy())
        errors = np.concatenate(errors) if errors else np.empty(0, dtype=np.float32)
        return -errors.astype(np.float64)

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_mean_t", "_std_t"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "mean_" in state:
            self._restore_tensors()

    def _restore_tensors(self):
        """Standardisation statistics as tensors on ``device_``, shaped to broadcast."""
        shape = (-1,) if self._stat_axes() == (0,) else (-1, 1)
        self._mean_t = torch.from_numpy(self.mean_.reshape(shape)).to(self.device_)
        self._std_t = torch.from_numpy(self.std_.reshape(shape)).to(self.device_)


class DenseAutoencoderDetector(_AutoencoderDetector):
    """The MIMII / DCASE 2020 baseline: a dense autoencoder on stacked log-mel frames.

    Parameters
    ----------
    hidden : tuple of int, default=(64, 64)
        Encoder layer sizes (decoder mirrors them): 320-64-64-8-64-64-320.
    latent : int >= 1, default=8
        Bottleneck size.
    max_epochs : int >= 1, default=30
        Most passes over the training frames (the baseline used 50-100 on a GPU).
    batch_size : int >= 1, default=256
    learning_rate : float > 0, default=1e-3
        Adam learning rate.
    validation_fraction : float in [0, 1), default=0.1
        Part of the normal training data held back for early stopping
        (0 = no early stopping, train for ``max_epochs``).
    patience : int >= 1, default=5
        Epochs without a better validation loss before stopping.
    contamination : float in (0, 0.5], default=0.1
        Fraction of training samples flagged by ``predict``; sets ``offset_``.
    random_state : int >= 0 or None, default=0
        Seed of the split, the weight initialisation and the batch order.
        Training is deterministic on CPU for a fixed seed.
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        Show a tqdm bar with the training and validation loss.

    Attributes
    ----------
    network_ : DenseAutoencoder
        The trained network (weights of the best validation epoch).
    mean_, std_ : np.ndarray [shape=(n_features,)]
        Per-feature standardisation learned in ``fit``.
    history_ : list of dict
        ``epoch``, ``train_loss``, ``val_loss`` per epoch (standardised MSE).
    n_epochs_, best_epoch_ : int
    offset_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(500, 320)).astype("float32")
    >>> ae = DenseAutoencoderDetector(max_epochs=2, progress=False).fit(X)
    >>> ae.score_samples(X[:4]).shape
    (4,)
    """

    _name = "dense AE"
    _parameter_constraints = {
        "hidden": [tuple, list],
        "latent": [Interval(Integral, 1, None, closed="left")],
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        hidden=(64, 64),
        latent=8,
        max_epochs=30,
        batch_size=256,
        learning_rate=1e-3,
        validation_fraction=0.1,
        patience=5,
        contamination=0.1,
        random_state=0,
        device="auto",
        progress=True,
    ):
        self.hidden = hidden
        self.latent = latent
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _check_X(self, X, *, reset):
        X = _validate(self, X, reset=reset)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _stat_axes(self):
        return (0,)

    def _build_network(self, shape):
        return DenseAutoencoder(shape[0], hidden=tuple(self.hidden), latent=self.latent)


class ConvAutoencoderDetector(_AutoencoderDetector):
    """Convolutional autoencoder on mel windows, the baseline of Müller et al. (2021).

    Input: mel windows ``X`` of shape ``(n_windows, n_mels, length)``, e.g.
    from :func:`soundad.features.sliding_windows` (any size: windows are
    padded to a multiple of ``2 ** len(channels)`` inside the network and the
    output is cropped back). Each mel band is standardised with a mean and
    standard deviation learned in ``fit``.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64, 64)
        Encoder convolution channels (stride 2 each); the decoder mirrors them.
    latent : int >= 1, default=64
        Bottleneck size.
    max_epochs : int >= 1, default=20
    batch_size : int >= 1, default=64
    learning_rate : float > 0, default=1e-3
    validation_fraction : float in [0, 1), default=0.1
    patience : int >= 1, default=3
    contamination : float in (0, 0.5], default=0.1
    random_state : int >= 0 or None, default=0
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        See :class:`DenseAutoencoderDetector` for the shared parameters.

    Attributes
    ----------
    network_ : ConvAutoencoder
    mean_, std_ : np.ndarray [shape=(n_mels,)]
        Per-mel-band standardisation learned in ``fit``.
    input_shape_ : tuple of int
        ``(n_mels, length)`` seen in ``fit``.
    history_, n_epochs_, best_epoch_, offset_
        As in :class:`DenseAutoencoderDetector`.
    """

    _name = "conv AE"
    _parameter_constraints = {
        "channels": [tuple, list],
        "latent": [Interval(Integral, 1, None, closed="left")],
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        channels=(16, 32, 64, 64),
        latent=64,
        max_epochs=20,
        batch_size=64,
        learning_rate=1e-3,
        validation_fraction=0.1,
        patience=3,
        contamination=0.1,
        random_state=0,
        device="auto",
        progress=True,
    ):
        self.channels = channels
        self.latent = latent
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _check_X(self, X, *, reset):
        X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64], ensure_all_finite=False)
        if X.ndim != 3:
            raise ParameterError(
                f"X has shape {X.shape}; expected mel windows of shape (n_windows, n_mels, length)"
            )
        if reset:
            self.input_shape_ = tuple(int(v) for v in X.shape[1:])
        elif tuple(X.shape[1:]) != self.input_shape_:
            raise ParameterError(
                f"X has windows of shape {tuple(X.shape[1:])}; the autoencoder was fitted on "
                f"{self.input_shape_} (n_mels, length)"
            )
        check_finite(X.reshape(X.shape[0], -1))
        return np.ascontiguousarray(X, dtype=np.float32)

    def _stat_axes(self):
        return (0, 2)

    def _build_network(self, shape):
        return ConvAutoencoder(shape[0], shape[1], channels=tuple(self.channels), latent=self.latent)
