"""Input of the dense autoencoder baseline: stacked log-mel frames (chapter 05).

The dense autoencoder has its own mel settings, one :class:`~soundad.features.MelConfig`:
:data:`DENSE_AE_MEL`. It keeps the STFT of the transfer-learning path
(``n_fft``, ``hop_length``, ``power``, the full band at 16 kHz) but, like the
MIMII / DCASE 2020 baseline, 64 mel bands (320 inputs for 5 frames) where the
images use ``MelConfig().n_mels`` = 128.
"""

from __future__ import annotations

import sys

import numpy as np

from soundad.errors import ParameterError
from soundad.features import MelConfig
from soundad.params import check_int

__all__ = ["DENSE_AE_MEL", "dense_ae_frames"]

#: Mel settings of the MIMII / DCASE 2020 dense autoencoder baseline: 64 bands,
#: 1024-sample FFT, hop 512, power spectrogram, 0-8000 Hz at 16 kHz. ``top_db``
#: is not used: the baseline's log-mel is not normalised to the clip's maximum.
DENSE_AE_MEL = MelConfig(n_mels=64)


def dense_ae_frames(
    y: np.ndarray,
    *,
    sr: int,
    mel: MelConfig = DENSE_AE_MEL,
    frames: int = 5,
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
        Sample rate of ``y``; must equal ``mel.sr``.
    mel : MelConfig, default=DENSE_AE_MEL
        Mel settings (``sr``, ``n_fft``, ``hop_length``, ``n_mels``, ``fmin``,
        ``fmax``, ``power``; ``top_db`` is not used).
    frames : int > 0, default=5
        Consecutive frames stacked into one vector.

    Returns
    -------
    vectors : np.ndarray [shape=(n_frames - frames + 1, mel.n_mels * frames)] float32
        With the defaults and 10 s at 16 kHz: ``(309, 320)``.

    Raises
    ------
    ParameterError
        Bad settings, a sample rate other than ``mel.sr``, a non-finite or
        multi-channel signal, or a clip shorter than ``frames`` frames.
    """
    import librosa

    if not isinstance(mel, MelConfig):
        raise ParameterError(f"mel={mel!r}; expected a soundad.features.MelConfig")
    mel.validate()
    check_int("frames", frames, low=1)
    if sr != mel.sr:
        raise ParameterError(f"sr={sr!r}; expected mel.sr={mel.sr} Hz (resample the audio, "
                             "or pass a MelConfig with this sample rate)")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"y has shape {y.shape}; expected a mono signal of shape (n,)")
    if not np.isfinite(y).all():
        raise ParameterError("y contains NaN or inf samples; expected a finite signal")
    spec = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=mel.n_fft, hop_length=mel.hop_length, n_mels=mel.n_mels,
        fmin=mel.fmin, fmax=mel.fmax, power=mel.power,
    )
    log_mel = 20.0 / mel.power * np.log10(spec + sys.float_info.epsilon)
    n_vectors = log_mel.shape[1] - frames + 1
    if n_vectors < 1:
        raise ParameterError(
            f"y has {log_mel.shape[1]} frames ({y.size} samples at hop_length={mel.hop_length}); "
            f"expected at least frames={frames}"
        )
    vectors = np.empty((n_vectors, mel.n_mels * frames), dtype=np.float32)
    for t in range(frames):
        vectors[:, mel.n_mels * t : mel.n_mels * (t + 1)] = log_mel[:, t : t + n_vectors].T
    return vectors
