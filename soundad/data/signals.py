"""Building blocks of the synthetic machine sounds (chapter 01): seeded noise, tones, resonances.

Plain numpy functions shared by the sound models of :mod:`soundad.data.machines`
and the factory noise of :mod:`soundad.data.noise`. Signals are 1-D float
arrays of ``n`` samples at ``sr`` Hz; frequencies are in Hz, times in seconds.
Every random draw comes from a generator passed in, so that the same seed
gives the same samples.
"""

from __future__ import annotations

import zlib
from numbers import Integral
from typing import Callable

import numpy as np
from scipy.signal import fftconvolve

__all__ = [
    "add_at_ratio",
    "band_noise",
    "bandpass_gain",
    "colored_noise",
    "drift",
    "events",
    "harmonics",
    "modes",
    "seed_key",
    "seeded_rng",
    "unit_rms",
]


def seed_key(*parts) -> list[int]:
    """Turn ints and strings into seed material for :class:`numpy.random.SeedSequence`."""
    out = []
    for part in parts:
        if isinstance(part, (Integral, np.integer)) and not isinstance(part, bool):
            out.append(int(part) & 0xFFFFFFFF)
        else:
            out.append(zlib.crc32(str(part).encode("utf-8")))
    return out


def seeded_rng(*parts) -> np.random.Generator:
    """A generator seeded by ``parts`` (ints and strings, see :func:`seed_key`)."""
    return np.random.default_rng(seed_key(*parts))


def unit_rms(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to an RMS of 1 (unchanged if silent)."""
    rms = float(np.sqrt(np.mean(np.square(x))))
    return x / rms if rms > 0 else x


def bandpass_gain(f: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    """Butterworth-like magnitude response of a band-pass, evaluated at ``f`` [Hz]."""
    f = np.maximum(f, 1e-3)
    high = 1.0 / np.sqrt(1.0 + (lo / f) ** (2 * order)) if lo > 0 else 1.0
    low = 1.0 / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return high * low


def colored_noise(
    rng: np.random.Generator, n: int, sr: float, gain: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Gaussian noise of unit RMS whose amplitude spectrum follows ``gain(f)``."""
    m = n // 2 + 1
    spec = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec *= gain(f)
    spec[0] = 0.0
    return unit_rms(np.fft.irfft(spec, n))


def band_noise(rng, n, sr, lo, hi, order=2) -> np.ndarray:
    """Unit-RMS noise band-limited to about ``[lo, hi]`` Hz (clipped below 0.45·sr)."""
    hi = min(hi, 0.45 * sr)
    lo = min(lo, 0.5 * hi)
    return colored_noise(rng, n, sr, lambda f: bandpass_gain(f, lo, hi, order))


def drift(rng, n, sr, *, rate=2.0, depth=0.003) -> np.ndarray:
    """A slow random wander (about ``rate`` changes per second), std ``depth``."""
    n_ctrl = int(np.ceil(n / sr * rate)) + 2
    ctrl = rng.standard_normal(n_ctrl)
    ctrl = np.convolve(ctrl, np.ones(3) / np.sqrt(3.0), mode="same")
    t = np.arange(n) / sr
    return depth * np.interp(t, np.arange(n_ctrl) / rate, ctrl)


def harmonics(phase: np.ndarray, ks, weights, phases, f0: float, sr: float) -> np.ndarray:
    """Sum of ``weights[k] * sin(ks[k] * phase + phases[k])`` for integer ``ks``.

    Partials above 0.45·sr are dropped. Powers of one complex exponential
    give all partials for the cost of a single ``exp`` (no per-partial ``sin``).
    """
    ks = np.asarray(ks, dtype=int)
    weights, phases = np.asarray(weights, dtype=float), np.asarray(phases, dtype=float)
    keep = ks * f0 < 0.45 * sr
    z = np.exp(1j * phase)
    power = np.ones_like(z)
    out = np.zeros_like(z)
    k_now = 0
    for k, w, p in sorted(zip(ks[keep], weights[keep], phases[keep])):
        while k_now < k:
            power *= z
            k_now += 1
        out += (w * np.exp(1j * p)) * power
    return out.imag


def modes(sr, freqs, taus, amps, *, length=None) -> np.ndarray:
    """Impulse response of damped resonances: Σ a·exp(-t/τ)·sin(2πft)."""
    freqs, taus, amps = (np.asarray(v, dtype=float) for v in (freqs, taus, amps))
    keep = freqs < 0.45 * sr
    freqs, taus, amps = freqs[keep], taus[keep], amps[keep]
    if length is None:
        length = 6.0 * float(taus.max()) if taus.size else 0.01
    t = np.arange(max(int(length * sr), 2)) / sr
    if not freqs.size:
        return np.zeros_like(t)
    return amps @ (np.exp(-t[None, :] / taus[:, None]) * np.sin(2 * np.pi * freqs[:, None] * t[None, :]))


def events(n: int, sr: float, times, amps, kernel: np.ndarray) -> np.ndarray:
    """Place ``kernel`` at ``times`` [s] with ``amps`` (one FFT convolution)."""
    times = np.asarray(times, dtype=float)
    amps = np.broadcast_to(np.asarray(amps, dtype=float), times.shape)
    idx = np.round(times * sr).astype(np.int64)
    ok = (idx >= 0) & (idx < n)
    train = np.zeros(n)
    np.add.at(train, idx[ok], amps[ok])
    if not np.any(ok):
        return train
    return fftconvolve(train, kernel)[:n]


def add_at_ratio(base: np.ndarray, part: np.ndarray, ratio: float) -> np.ndarray:
    """Add ``part`` at ``ratio`` times the RMS of ``base``."""
    return base + ratio * np.sqrt(np.mean(base**2)) * unit_rms(part)
