"""Input of the dense autoencoder baseline: stacked log-mel frames (chapter 05).

The STFT settings (``n_fft``, ``hop_length``, ``power``) default to those of
:class:`soundad.features.MelConfig`, so that they have one name and one
default in soundad. The number of mel bands does not: the MIMII / DCASE 2020
baseline uses :data:`DENSE_AE_N_MELS` = 64 bands (320 inputs for 5 frames),
while the images of the transfer-learning path use ``MelConfig.n_mels`` = 128.
"""

from __future__ import annotations

import sys
from numbers import Integral

import numpy as np

from soundad.errors import ParameterError
from soundad.features import MelConfig

__all__ = ["DENSE_AE_N_MELS", "dense_ae_frames"]

#: Mel bands of the MIMII / DCASE 2020 dense autoencoder baseline.
DENSE_AE_N_MELS = 64


def dense_ae_frames(
    y: np.ndarray,
    *,
    sr: int,
    n_mels: int = DENSE_AE_N_MELS,
    n_fft: int = MelConfig.n_fft,
    hop_length: int = MelConfig.hop_length,
    frames: int = 5,
    power: float = MelConfig.power,
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
    n_mels : int > 0, default=DENSE_AE_N_MELS (64)
        Mel bands (the baseline's, not ``MelConfig.n_mels``).
    n_fft : int > 0 [samples], default=MelConfig.n_fft (1024)
        FFT window length.
    hop_length : int > 0 [samples], default=MelConfig.hop_length (512)
        Hop between frames.
    frames : int > 0, default=5
        Consecutive frames stacked into one vector.
    power : float > 0, default=MelConfig.power (2.0)
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

