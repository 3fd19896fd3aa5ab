"""Self-checking exercises of chapter 02 (mel-spectrogram images).

The right answers come from :func:`soundad.features.compute_mel` and
:func:`soundad.features.sliding_windows` applied to a seeded noise clip of the
length the exercise names, so they need no data set.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from soundad.exercises import register
from soundad.features import MelConfig, compute_mel, sliding_windows

__all__ = ["frames_of_clip", "windows_of_clip"]


def _clip(duration: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal(int(round(duration * sr))).astype(np.float32)


def frames_of_clip(*, n_fft: int, hop_length: int, duration: float = 10.0, sr: int = 16000) -> int:
    """Frames of the mel spectrogram of a ``duration`` s clip at ``sr`` Hz."""
    config = dataclasses.replace(MelConfig(), n_fft=n_fft, hop_length=hop_length)
    return int(compute_mel(_clip(duration, sr), sr=sr, config=config).shape[1])


def windows_of_clip(*, length: int, hop: int, duration: float = 10.0, sr: int = 16000) -> int:
    """Windows ``sliding_windows`` cuts from a ``duration`` s clip (default mel settings)."""
    mel = compute_mel(_clip(duration, sr), sr=sr, config=MelConfig())
    return int(sliding_windows(mel, length=length, hop=hop).shape[0])


def _as_int(answer) -> int | None:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() else None


@register(
    "ch02-frames",
    hint="librosa centres its frames: a clip of n samples gives 1 + n // hop_length "
    "frames, whatever n_fft is",
)
def check_frames(answer, **context) -> bool:
    """Frames of a 10 s clip at 16 kHz with n_fft=2048, hop_length=256."""
    return _as_int(answer) == frames_of_clip(n_fft=2048, hop_length=256)


@register(
    "ch02-windows",
    hint="first count the frames of a 10 s clip with the default settings, then use "
    "n = 1 + (T - length) // hop",
)
def check_windows(answer, **context) -> bool:
    """Windows of a 10 s clip with WindowConfig(length=32, hop=16)."""
    return _as_int(answer) == windows_of_clip(length=32, hop=16)
