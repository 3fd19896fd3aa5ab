"""Load one channel of a WAV clip as float32 (chapter 01).

MIMII clips are 8-channel, 16-bit, 16 kHz WAV files of 10 s. Müller et al.
use one microphone (channel 0); averaging the channels is the other common
choice. :func:`load_audio` reads with :mod:`soundfile` (no resampling unless
asked) and checks the file first, so that a truncated download fails loudly
instead of silently giving a shorter clip.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from soundad.errors import DataError, ParameterError
from soundad.params import Interval, Options, check_number, check_value

__all__ = ["load_audio", "check_clip_headers"]

_WAV_FORMATS = {"WAV", "WAVEX", "FLAC"}  # FLAC: the embedded MIMII sample (soundad.data.embedded)
# Sample-rate warnings already given in this process (check_clip_headers).
_RATE_WARNINGS_SHOWN: set[str] = set()


def load_audio(
    path: str | os.PathLike,
    *,
    channel: int | str = 0,
    sr: float | None = None,
    strict: bool = False,
    expected_sr: int = 16000,
) -> tuple[np.ndarray, int]:
    """Read one channel (or the channel mean) of a WAV file.

    Parameters
    ----------
    path : str or path-like
        A WAV file (RIFF/WAVE, any PCM or float subtype, any channel count).
    channel : int >= 0 or "mean", default=0
        Which microphone to return; ``"mean"`` averages all channels.
    sr : float > 0 [Hz] or None, default=None
        Resample to this rate with :func:`librosa.resample`; ``None`` keeps
        the file's own rate (no resampling).
    strict : bool, default=False
        If True, a file whose rate differs from ``expected_sr`` is an error.
    expected_sr : int > 0 [Hz], default=16000
        The rate ``strict`` checks against (MIMII's 16 kHz).

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        The signal, full scale = 1.0. A silent clip gives zeros (no error).
    sr : int [Hz]
        Its sample rate (``sr`` if resampled, else the file's).

    Raises
    ------
    DataError
        If the file is missing, empty, not a WAV file, truncated (fewer bytes
        than its header announces), corrupt, holds no samples, or (with
        ``strict``) has another sample rate. The message names the file.
    ParameterError
        If ``channel`` is not a valid channel of this file (or not an int /
        "mean"), or ``sr``/``expected_sr`` is not a positive number.

    Examples
    --------
    >>> y, sr = load_audio("0dB/fan/id_00/normal/00000000.wav")  # doctest: +SKIP
    >>> y.shape, y.dtype, sr  # doctest: +SKIP
    ((160000,), dtype('float32'), 16000)
    """
    _check_channel_arg(channel)
    check_number("sr", sr, low=0.0, closed="neither", allow_none=True)
    check_number("expected_sr", expected_sr, low=0.0, closed="neither")
    path = Path(path)
    _check_riff(path)
    y, file_sr = _read_channel(path, channel, strict=strict, expected_sr=expected_sr)
    if not np.all(np.isfinite(y)):
        raise DataError(f"{str(path)!r} contains NaN or infinite samples, expected finite audio")
    if sr is not None and float(sr) != file_sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=float(sr)).astype(np.float32, copy=False)
        file_sr = int(round(float(sr)))
    return y, file_sr


def _read_channel(path: Path, channel, *, strict: bool, expected_sr: float) -> tuple[np.ndarray, int]:
    """``(samples of `channel` or the mean of all, float32; the file's rate [Hz])``, checking format and rate."""
    try:
        with sf.SoundFile(str(path)) as handle:
            if handle.format not in _WAV_FORMATS:
                raise DataError(f"{str(path)!r} is a {handle.format} file, expected a WAV file")
            file_sr = int(handle.samplerate)
            n_channels = int(handle.channels)
            if handle.frames == 0:
                raise DataError(f"{str(path)!r} holds no samples, expected a clip of at least one sample")
            if strict and file_sr != int(expected_sr):
                raise DataError(
                    f"{str(path)!r} has a sample rate of {file_sr} Hz, expected {int(expected_sr)} Hz "
                    "(pass strict=False to accept it, or sr=... to resample)"
                )
            _check_channel_in(path, channel, n_channels)
            if channel != "mean" and handle.subtype == "PCM_16" and n_channels > 1:
                # MIMII's case: read the 16-bit integers and convert only the channel asked
                # for. libsndfile's own conversion is x * (1 / 32768) in float32, exact
                # for every 16-bit value, so y is bit-identical -- and 8 channels of a 10-s
                # clip are read in a fifth of the time.
                pcm = handle.read(dtype="int16", always_2d=True)
                return pcm[:, int(channel)].astype(np.float32) * np.float32(1 / 32768), file_sr
            data = handle.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DataError(f"{str(path)!r} cannot be decoded as a WAV file: {exc}") from None
    if channel == "mean":
        return data.mean(axis=1, dtype=np.float64).astype(np.float32), file_sr
    return np.ascontiguousarray(data[:, int(channel)], dtype=np.float32), file_sr


def _check_channel_arg(channel) -> None:
    check_value("channel", channel, Interval(int, 0, None), Options("mean"))


def _check_channel_in(path, channel, n_channels: int) -> None:
    """ParameterError if ``channel``, an index, is not one of the file's ``n_channels`` ("mean" and None fit)."""
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool) and not 0 <= channel < n_channels:
        raise ParameterError(f"channel={channel} is out of range for {str(path)!r}, which has {n_channels} "
                             f"channel(s): expected 0..{n_channels - 1} or 'mean'")


def _check_riff(path: Path) -> None:
    """Check that ``path`` is a complete RIFF/WAVE file, else raise DataError.

    libsndfile quietly reads a truncated file as a shorter clip; here the
    size the ``data`` chunk announces is compared with the bytes present.
    """
    if not path.exists():
        raise DataError(f"audio file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"audio path {str(path)!r} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"audio file {str(path)!r} is empty (0 bytes), expected a WAV file")
    with open(path, "rb") as handle:
        head = handle.read(12)
        if head[:4] == b"fLaC":  # FLAC (the embedded MIMII sample): libsndfile checks its frames
            return
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            raise DataError(f"{str(path)!r} is not a WAV file: expected a RIFF/WAVE header")
        if head[:4] == b"RF64":  # 64-bit sizes live in a ds64 chunk; leave them to libsndfile
            return
        offset = 12
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                raise DataError(f"{str(path)!r} is truncated or corrupt: no 'data' chunk found in the WAV file")
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            offset += 8
            if chunk_id == b"data":
                available = size - offset
                if chunk_size != 0xFFFFFFFF and available < chunk_size:
                    raise DataError(
                        f"{str(path)!r} is truncated: its header announces {chunk_size} bytes of audio, "
                        f"but only {available} are present (re-download or re-create the file)"
                    )
                return
            offset += chunk_size + (chunk_size & 1)
            if offset > size:
                raise DataError(f"{str(path)!r} is truncated or corrupt: chunk {chunk_id!r} runs past the end")
            handle.seek(offset)


def check_clip_headers(
    paths,
    *,
    sr: int = 16000,
    strict_rate: bool = False,
    min_seconds: float | None = None,
    short_advice: str = "",
    channel: int | str | None = None,
) -> dict[int, int]:
    """Read every WAV header once: warn about (or refuse) other sample rates, refuse too-short clips.

    Reading headers costs well under a millisecond per file, so this runs
    before any feature is computed. Files whose header cannot be read are
    skipped here; :func:`load_audio` names their problem when they are read.

    Parameters
    ----------
    paths : iterable of str or path-like
    sr : int > 0 [Hz], default=16000
        The rate the features are computed at; other rates are resampled.
    strict_rate : bool, default=False
        If True, a clip at another rate is an error instead of one warning.
    min_seconds : float >= 0 [s] or None
        Clips shorter than this are an error (the message ends with
        ``short_advice``).
    channel : int >= 0, "mean" or None
        A channel index every clip must have (None or "mean": no check).

    Returns
    -------
    dict
        Number of clips per sample rate [Hz].

    Warns
    -----
    UserWarning
        Once, if any clip is resampled: the rates found, how many clips have
        each and one example file per rate.
    """
    import soundfile as sf

    counts: dict[int, int] = defaultdict(int)
    example: dict[int, str] = {}
    for path in paths:
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError, OSError):
            continue  # unreadable: load_audio reports it with the precise reason when the clip is read
        rate = int(info.samplerate)
        counts[rate] += 1
        example.setdefault(rate, str(path))
        _check_channel_in(path, channel, int(info.channels))
        seconds = info.frames / rate if rate else 0.0
        if min_seconds is not None and seconds < min_seconds:
            raise DataError(
                f"{str(path)!r} lasts {seconds:.3f} s, shorter than the {min_seconds:.3f} s one mel window needs"
                f"{'; ' + short_advice if short_advice else ''}"
            )
    other = {rate: n for rate, n in counts.items() if rate != int(sr)}
    if other:
        found = ", ".join(f"{n} at {rate} Hz (e.g. {example[rate]!r})" for rate, n in sorted(other.items()))
        if strict_rate:
            raise DataError(f"{sum(other.values())} clip(s) are not at {int(sr)} Hz: {found}; "
                            "resample them, or leave strict_rate=True out to have soundad resample them")
        message = (f"{sum(other.values())} of {sum(counts.values())} clips are not at {int(sr)} Hz and are "
                   f"resampled to {int(sr)} Hz: {found}; pass strict_rate=True to refuse them instead")
        if message not in _RATE_WARNINGS_SHOWN:  # once per run, however many stages read the same clips
            _RATE_WARNINGS_SHOWN.add(message)
            warnings.warn(message, stacklevel=2)
    return dict(counts)
