"""A labelled audio player for notebooks and the rendered book (re-exported by soundad.plots).

The player is plain HTML, ``<figure>`` + ``<audio controls src="data:audio/wav;base64,...">``
+ ``<figcaption>``, so it works in Jupyter, Colab and the static Jupyter Book pages
(myst-nb copies ``text/html`` outputs into the page) without a server or JavaScript.
The sound is stored inside the page: it is cut to a few seconds and resampled to
16 kHz mono 16-bit, about 32 kB per second of audio.
"""

from __future__ import annotations

import base64
import html
import io
import wave
from math import gcd

import numpy as np

from soundad.errors import ParameterError
from soundad.params import POSITIVE_INT

__all__ = ["listen", "wav_bytes"]

#: Sample rate of the embedded players [Hz]; MIMII is recorded at 16 kHz.
PLAYER_SR = 16000


def wav_bytes(audio, sr: int, *, max_seconds: float | None = 5.0, target_sr: int = PLAYER_SR) -> bytes:
    """Encode mono audio as a 16-bit PCM WAV file in memory.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,)]
        Mono signal, floats in about [-1, 1] (peaks above 1 are scaled down).
    sr : int > 0 [Hz]
        Sample rate of ``audio``.
    max_seconds : float > 0 or None, default=5.0
        Keep only the first seconds (None: all of it).
    target_sr : int > 0 [Hz], default=16000
        Sample rate of the WAV (polyphase resampling when it differs from ``sr``).

    Returns
    -------
    data : bytes
        A complete WAV file.
    """
    y = np.asarray(audio, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(f"audio has shape {y.shape}; expected a mono signal of shape (n,)")
    if y.size == 0:
        raise ParameterError("audio is empty; expected at least one sample")
    if not np.isfinite(y).all():
        raise ParameterError("audio contains NaN or inf; expected finite samples")
    for name, value in (("sr", sr), ("target_sr", target_sr)):
        if not POSITIVE_INT.accepts(value):
            raise ParameterError(f"{name}={value!r}; expected a positive integer sample rate in Hz")
    if max_seconds is not None:
        if max_seconds <= 0:
            raise ParameterError(f"max_seconds={max_seconds!r}; expected a positive duration in seconds or None")
        y = y[: max(1, int(round(max_seconds * sr)))]
    if sr != target_sr:
        from scipy.signal import resample_poly

        common = gcd(int(sr), int(target_sr))
        y = resample_poly(y, int(target_sr) // common, int(sr) // common)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 1.0:
        y = y / peak
    pcm = np.round(np.clip(y, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(target_sr))
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def listen(audio, sr: int, *, label: str, max_seconds: float | None = 5.0):
    """A labelled audio player: ``<figure>`` with ``<audio>`` and a visible caption.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int > 0 [Hz]
        Its sample rate.
    label : str
        The caption: what the clip is, its label, and its score where one
        exists, e.g. ``"fan id_00, abnormal, score 812 (highest-scoring normal: no)"``.
    max_seconds : float > 0 or None, default=5.0
        Length of the embedded excerpt (the page stores the audio itself).

    Returns
    -------
    IPython.display.HTML
        Displayed as the player when it is a cell's last expression (or via
        ``display(...)``); ``.data`` holds the HTML text.
    """
    from IPython.display import HTML

    if not isinstance(label, str) or not label.strip():
        raise ParameterError(f"label={label!r}; expected text saying what the clip is (its label, its score)")
    data = base64.b64encode(wav_bytes(audio, sr, max_seconds=max_seconds)).decode("ascii")
    caption = html.escape(label.strip())
    return HTML(
        '<figure class="soundad-listen" style="margin:0.5em 0">'
        f'<audio controls preload="metadata" title="{caption}" src="data:audio/wav;base64,{data}"></audio>'
        f'<figcaption style="font-size:0.9em">{caption}</figcaption>'
        "</figure>"
    )
