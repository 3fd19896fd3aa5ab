"""The mel front end of chapter 02 in torch: batched, on any device.

:func:`soundad.features.compute_mel` (librosa, numpy) turns one clip into a
log-mel spectrogram on the CPU. On a GPU that becomes the bottleneck: the
network runs ~20,000 windows/s, the CPU workers' decode + STFT + mel about
8,000. This module does the same computation with torch on whatever device
the backbone uses, for a whole batch of clips at once, so loader workers only
read and decode audio (on a CPU, where it is also the default because it is
faster there, the loader hands over audio already resampled by soxr):

    audio [shape=(B, n), float32, native rate]
      --resample (if the rate differs)--> --STFT--> |.|^power --mel matrix--> dB
      --sliding windows--> windows [shape=(B, n_windows, n_mels, length)]

Each step follows librosa's conventions:

- STFT: ``center=True`` with zero padding (librosa >= 0.10's
  ``pad_mode="constant"``), a periodic Hann window of ``n_fft`` samples
  (``scipy.signal.get_window("hann", n_fft, fftbins=True)``), ``hop_length``;
  ``1 + n // hop_length`` frames.
- mel: librosa's filter bank itself (:func:`soundad.features.mel_filter_bank`)
  as a matrix.
- dB: ``librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db=...)`` with the
  maximum taken per clip.

Both are float32 computations with different FFT and matrix-product kernels,
so they agree to float32 rounding, not bit for bit: the tests bound the
difference at 1e-3 dB on real MIMII clips.

Resampling (:func:`resample`) is a windowed-sinc (Kaiser) polyphase filter,
not librosa's default soxr: the two differ in their anti-aliasing filters;
the tests bound the difference of the resulting mel dB (MIMII itself is
recorded at the 16 kHz the paper uses, so its clips are never resampled).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from soundad.errors import ParameterError
from soundad.features import MelConfig, WindowConfig, mel_filter_bank
from soundad.params import check_int

__all__ = ["mel_db", "mel_windows", "batched_clip_windows", "resample", "AMIN"]

#: librosa.power_to_db's floor on power values (and on the reference).
AMIN = 1e-10

_CONSTANTS: dict = {}


def _constants(config: MelConfig, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The Hann window and the mel matrix for ``config`` on ``device`` (built once per pair)."""
    key = (config, str(device))
    if key not in _CONSTANTS:
        window = torch.hann_window(config.n_fft, periodic=True, dtype=torch.float32)
        basis = torch.from_numpy(np.array(mel_filter_bank(sr=config.sr, n_fft=config.n_fft, n_mels=config.n_mels,
                                                          fmin=config.fmin, fmax=config.fmax), dtype=np.float32))
        _CONSTANTS[key] = (window.to(device), basis.to(device))
    return _CONSTANTS[key]


def mel_db(audio: torch.Tensor, *, config: MelConfig = MelConfig()) -> torch.Tensor:
    """Log-mel spectrograms in dB of a batch of clips, like :func:`soundad.features.compute_mel`.

    Parameters
    ----------
    audio : torch.Tensor [shape=(B, n) or (n,), float]
        Mono clips of equal length at ``config.sr`` Hz (full scale 1.0), on
        the device to compute on. int16 is accepted and scaled by 1/32768.
    config : MelConfig

    Returns
    -------
    mel : torch.Tensor [shape=(B, n_mels, 1 + n // hop_length), dtype=float32]
        ``10 log10(S / max S)`` per clip, clipped to ``[-top_db, 0]``; a
        silent clip gives zeros. ``(n_mels, frames)`` without the batch axis
        if ``audio`` was 1-D.
    """
    config.validate()
    single = audio.ndim == 1
    x = audio[None] if single else audio
    if x.ndim != 2 or x.shape[-1] == 0:
        raise ParameterError(f"mel_db expects audio of shape (B, n) with n > 0, got {tuple(audio.shape)}")
    if x.dtype == torch.int16:
        x = x.to(torch.float32) * (1 / 32768)
    x = x.to(torch.float32)
    window, basis = _constants(config, x.device)
    spec = torch.stft(x, n_fft=config.n_fft, hop_length=config.hop_length, window=window, center=True,
                      pad_mode="constant", return_complex=True)
    if config.power == 2.0:  # re^2 + im^2: no square root, and several times faster than abs() on a CPU
        power = torch.view_as_real(spec).square_().sum(-1)  # (B, 1 + n_fft // 2, frames)
    else:
        power = spec.abs().pow_(config.power)
    mel = torch.matmul(basis, power)  # (B, n_mels, frames)
    db = torch.log10(mel.clamp_min_(AMIN)).mul_(10.0)
    ref = db.amax(dim=(1, 2), keepdim=True)  # 10 log10(max(amin, max S)), as log10 is monotonic
    db = db.sub_(ref).clamp_min_(-float(config.top_db))  # the maximum is now 0 dB
    return db[0] if single else db


def mel_windows(audio: torch.Tensor, *, config: MelConfig = MelConfig(),
                window: WindowConfig = WindowConfig()) -> torch.Tensor:
    """Mel dB windows of a batch of equal-length clips, like :func:`soundad.clip_loader.clip_windows`.

    Parameters
    ----------
    audio : torch.Tensor [shape=(B, n), float or int16]
        At ``config.sr`` Hz.
    config, window : MelConfig, WindowConfig

    Returns
    -------
    windows : torch.Tensor [shape=(B, n_windows, n_mels, length), dtype=float32]
        ``n_windows = 1 + (frames - length) // hop``.
    """
    window.validate()
    spec = mel_db(audio if audio.ndim == 2 else audio[None], config=config)
    frames = spec.shape[-1]
    if window.length > frames:
        raise ParameterError(
            f"window length {window.length} frames is longer than the spectrogram's {frames} frames; "
            "use a shorter WindowConfig.length or longer clips"
        )
    return spec.unfold(-1, window.length, window.hop).permute(0, 2, 1, 3).contiguous()


_KERNELS: dict = {}


def _sinc_kernels(orig: int, new: int, *, width: int, rolloff: float, beta: float, device) -> tuple:
    """Polyphase windowed-sinc kernels [shape=(new, 1, taps)] and the padding they need."""
    key = (orig, new, width, rolloff, beta, str(device))
    if key not in _KERNELS:
        cutoff = min(orig, new) * rolloff  # in units of the reduced rates
        half = int(math.ceil(width * orig / cutoff))
        offsets = torch.arange(-half, half + orig, dtype=torch.float64) / orig
        phases = -torch.arange(new, dtype=torch.float64)[:, None] / new
        t = ((phases + offsets[None, :]) * cutoff).clamp(-width, width)
        taper = torch.special.i0(beta * torch.sqrt(1 - (t / width) ** 2)) / torch.special.i0(
            torch.tensor(beta, dtype=torch.float64))
        arg = t * math.pi
        sinc = torch.where(arg == 0, torch.ones_like(arg), torch.sin(arg) / torch.where(arg == 0, 1.0, arg))
        kernels = (sinc * taper * (cutoff / orig)).to(torch.float32)[:, None, :]
        _KERNELS[key] = (kernels.to(device), half)
    return _KERNELS[key]


def resample(audio: torch.Tensor, *, orig_sr: int, target_sr: int, width: int = 16, rolloff: float = 0.99,
             beta: float = 14.77) -> torch.Tensor:
    """Band-limited resampling of a batch of clips on their device (windowed-sinc, Kaiser taper).

    Parameters
    ----------
    audio : torch.Tensor [shape=(B, n) or (n,), float]
    orig_sr, target_sr : int > 0 [Hz]
    width : int > 0 [zero crossings], default=16
        Half-length of the sinc filter; longer is sharper and slower.
    rolloff : float in (0, 1], default=0.99
        Cut-off as a fraction of the lower Nyquist frequency (below it the
        response is flat; above, aliases are suppressed).
    beta : float >= 0, default=14.77
        Kaiser window shape.

    Returns
    -------
    torch.Tensor [shape=(B, ceil(n * target_sr / orig_sr)), dtype=float32]
        Not equal to librosa's default (soxr) sample for sample; see the module docstring.
    """
    orig_sr, target_sr = check_int("orig_sr", orig_sr, low=1), check_int("target_sr", target_sr, low=1)
    if orig_sr == target_sr:
        return audio.to(torch.float32)
    single = audio.ndim == 1
    x = (audio[None] if single else audio).to(torch.float32)
    g = math.gcd(orig_sr, target_sr)
    orig, new = orig_sr // g, target_sr // g
    kernels, half = _sinc_kernels(orig, new, width=width, rolloff=rolloff, beta=beta, device=x.device)
    n = x.shape[-1]
    padded = F.pad(x[:, None, :], (half, half + orig))
    out = F.conv1d(padded, kernels, stride=orig)  # (B, new, blocks): phase k of each output block
    out = out.transpose(1, 2).reshape(x.shape[0], -1)[:, : int(math.ceil(new * n / orig))]
    return out[0] if single else out


def batched_clip_windows(audio: Sequence[torch.Tensor], *, sr: Sequence[int], config: MelConfig = MelConfig(),
                         window: WindowConfig = WindowConfig()) -> tuple[torch.Tensor, list[int]]:
    """Windows of several clips of any lengths and rates, batched where lengths agree.

    Parameters
    ----------
    audio : sequence of torch.Tensor [shape=(n_i,)]
        Decoded clips on the compute device, in order.
    sr : sequence of int [Hz]
        Each clip's sample rate; clips not at ``config.sr`` are resampled.
    config, window : MelConfig, WindowConfig

    Returns
    -------
    windows : torch.Tensor [shape=(sum(rows), n_mels, length), dtype=float32]
        The clips' windows, clip after clip.
    rows : list of int
        Windows per clip.
    """
    clips = [resample(a, orig_sr=int(s), target_sr=config.sr) if int(s) != config.sr else a.to(torch.float32)
             for a, s in zip(audio, sr)]
    out: list = [None] * len(clips)
    by_length: dict[int, list[int]] = {}
    for i, clip in enumerate(clips):
        by_length.setdefault(int(clip.shape[-1]), []).append(i)
    for indices in by_length.values():
        stacked = torch.stack([clips[i] for i in indices])
        for i, w in zip(indices, mel_windows(stacked, config=config, window=window)):
            out[i] = w
    rows = [int(w.shape[0]) for w in out]
    return torch.cat(out) if out else torch.empty(0), rows
