"""Synthetic machine sounds in MIMII's layout: the offline default (chapter 01).

When neither MIMII nor its sample is at hand, the book runs on sounds made
here. They are no substitute for recordings, but they are built like the
machines they imitate, so that the anomalies are physical rather than
arbitrary:

======  ==========================================  ==========================================
type    normal sound                                anomalies (one per abnormal clip)
======  ==========================================  ==========================================
fan     blade-pass tone and harmonics (shaft rate   ``imbalance``: shaft-rate amplitude
        × blade count) plus airflow noise           modulation and 1×/2× shaft tones;
                                                    ``rubbing``: broadband bursts once per turn
pump    pressure pulses (damped pipe resonances)    ``leak``: high-frequency hiss;
        + motor harmonics + flow noise              ``cavitation``: random crackle in the
                                                    low-pressure phase of each pulse
slider  strokes back and forth: servo whine whose   ``rail_damage``: clicks when the carriage
        pitch follows the speed, rolling noise,     passes damaged spots;
        a thud at each end                          ``squeal``: a high, wavering tone in motion
valve   open/close clicks (damped resonances),      ``irregular_timing``: jittered cycles and
        flow noise while open                       bouncing clicks; ``changed_click``: the
                                                    click's resonances shifted and slower to
                                                    decay (contamination)
======  ==========================================  ==========================================

Each model ID is a slightly different machine (its own shaft rate, blade
count, resonances, harmonic weights …), fixed by ``(machine, model_id)``;
every clip varies speed, phase, levels and jitter. Both normal and abnormal
clips are brought to levels drawn from the same distribution, so loudness
alone does not give anomalies away.

Factory noise (pink and brown noise, mains hum, a distant drone and distant
impacts) is mixed in the way MIMII describes it: for every (machine, model
ID) one noise gain makes the *mean* power of that model's clips stand
``snr`` dB above the mean power of the noise segments. The same machine clip
and noise segment are used at every SNR, only the gain changes, so -6 dB is
strictly harder than 6 dB.

Everything is deterministic: the same arguments and ``seed`` give
byte-identical WAV files.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve

from soundad._io import atomic_path, atomic_write_text
from soundad.errors import DataError, ParameterError

from .layout import MACHINES, MODEL_IDS, SNRS, normalise_snr

__all__ = [
    "ANOMALIES",
    "MANIFEST_NAME",
    "synthesize_factory_noise",
    "synthesize_machine_sound",
    "write_synthetic_dataset",
]

#: Anomaly kinds each machine type can show.
ANOMALIES = {
    "fan": ("imbalance", "rubbing"),
    "pump": ("leak", "cavitation"),
    "slider": ("rail_damage", "squeal"),
    "valve": ("irregular_timing", "changed_click"),
}
#: File written last into a synthetic dataset's root; it records the settings.
MANIFEST_NAME = "soundad-synthetic.json"

#: RMS level [dBFS] of a clean machine clip (mean over a model's clips).
_MACHINE_LEVEL_DB = -32.0
#: Spread [dB] of clip levels around a model's mean, the same for both labels.
_LEVEL_SPREAD_DB = 1.0
#: Spread [dB] of noise-segment levels.
_NOISE_SPREAD_DB = 0.8
#: Range of anomaly severities drawn per abnormal clip.
_SEVERITY = (0.3, 1.0)
_MIN_SR = 4000
_FORMAT_VERSION = 1


# --------------------------------------------------------------------------- small tools
def _key(*parts) -> list[int]:
    """Turn ints and strings into seed material for :class:`numpy.random.SeedSequence`."""
    out = []
    for part in parts:
        if isinstance(part, (Integral, np.integer)) and not isinstance(part, bool):
            out.append(int(part) & 0xFFFFFFFF)
        else:
            out.append(zlib.crc32(str(part).encode("utf-8")))
    return out


def _rng(*parts) -> np.random.Generator:
    return np.random.default_rng(_key(*parts))


def _unit(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x))))
    return x / rms if rms > 0 else x


def _bandpass_gain(f: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    """Butterworth-like magnitude response of a band-pass, evaluated at ``f`` [Hz]."""
    f = np.maximum(f, 1e-3)
    high = 1.0 / np.sqrt(1.0 + (lo / f) ** (2 * order)) if lo > 0 else 1.0
    low = 1.0 / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return high * low


def _colored_noise(
    rng: np.random.Generator, n: int, sr: float, gain: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Gaussian noise of unit RMS whose amplitude spectrum follows ``gain(f)``."""
    m = n // 2 + 1
    spec = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec *= gain(f)
    spec[0] = 0.0
    return _unit(np.fft.irfft(spec, n))


def _band_noise(rng, n, sr, lo, hi, order=2) -> np.ndarray:
    hi = min(hi, 0.45 * sr)
    lo = min(lo, 0.5 * hi)
    return _colored_noise(rng, n, sr, lambda f: _bandpass_gain(f, lo, hi, order))


def _drift(rng, n, sr, *, rate=2.0, depth=0.003) -> np.ndarray:
    """A slow random wander (about ``rate`` changes per second), std ``depth``."""
    n_ctrl = int(np.ceil(n / sr * rate)) + 2
    ctrl = rng.standard_normal(n_ctrl)
    ctrl = np.convolve(ctrl, np.ones(3) / np.sqrt(3.0), mode="same")
    t = np.arange(n) / sr
    return depth * np.interp(t, np.arange(n_ctrl) / rate, ctrl)


def _harmonics(phase: np.ndarray, ks, weights, phases, f0: float, sr: float) -> np.ndarray:
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

def _modes(sr, freqs, taus, amps, *, length=None) -> np.ndarray:
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


def _events(n: int, sr: float, times, amps, kernel: np.ndarray) -> np.ndarray:
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


def _add(base: np.ndarray, part: np.ndarray, ratio: float) -> np.ndarray:
    """Add ``part`` at ``ratio`` times the RMS of ``base``."""
    return base + ratio * np.sqrt(np.mean(base**2)) * _unit(part)


# --------------------------------------------------------------------------- machines
@dataclass(frozen=True)
class _Clip:
    n: int
    sr: float
    rng: np.random.Generator
    anomaly: str | None
    severity: float

    @property
    def t(self) -> np.ndarray:
        return np.arange(self.n) / self.sr


def _id_number(model_id: str) -> int:
    try:
        return int(model_id.split("_", 1)[1])
    except (IndexError, ValueError):
        raise ParameterError(f"model id {model_id!r} must look like 'id_00'") from None


def _model_rng(machine: str, model_id: str) -> np.random.Generator:
    # Fixed per (machine, model_id), independent of the seed: "fan id_00" is one machine.
    return _rng("soundad-model", machine, _id_number(model_id))


def _fan(c: _Clip, model_id: str) -> np.ndarray:
    m = _model_rng("fan", model_id)
    shaft = m.uniform(18.0, 32.0)  # shaft rate [Hz]
    blades = int(m.choice([5, 6, 7, 9, 11]))
    n_harm = 10
    alpha = m.uniform(0.8, 1.5)
    weights = np.arange(1, n_harm + 1) ** -alpha * m.uniform(0.6, 1.4, n_harm)
    air_lo, air_hi = m.uniform(150.0, 400.0), m.uniform(2500.0, 5000.0)
    air_ratio = m.uniform(0.5, 1.0)

    r = c.rng
    f_shaft = shaft * (1.0 + 0.01 * r.standard_normal()) * (1.0 + _drift(r, c.n, c.sr))
    shaft_phase = 2 * np.pi * np.cumsum(f_shaft) / c.sr + r.uniform(0, 2 * np.pi)
    w = weights * np.exp(0.1 * r.standard_normal(n_harm))
    tonal = _unit(
        _harmonics(blades * shaft_phase, np.arange(1, n_harm + 1), w, r.uniform(0, 2 * np.pi, n_harm), blades * shaft, c.sr)
    )
    air = _band_noise(r, c.n, c.sr, air_lo, air_hi) * (1.0 + 0.2 * np.sin(blades * shaft_phase))
    air_gain = air_ratio * np.exp(0.1 * r.standard_normal())
    s = c.severity
    if c.anomaly == "imbalance":
        depth = 0.8 * s
        mod = 1.0 + depth * np.sin(shaft_phase + r.uniform(0, 2 * np.pi))
        y = tonal * mod + air_gain * air * mod
        shaft_tones = _harmonics(shaft_phase, [1, 2, 3], [1.0, 0.5, 0.25], r.uniform(0, 2 * np.pi, 3), shaft, c.sr)
        return _add(y, shaft_tones, 0.9 * s)
    y = tonal + air_gain * air
    if c.anomaly == "rubbing":
        n_rev = int(np.ceil(c.n / c.sr * shaft)) + 1
        times = (np.arange(n_rev) + r.uniform()) / shaft + 0.0005 * r.standard_normal(n_rev)
        hit = r.uniform(size=n_rev) < 0.7
        env = _events(c.n, c.sr, times[hit], r.lognormal(0.0, 0.4, int(hit.sum())), np.exp(-np.arange(int(0.02 * c.sr)) / (0.004 * c.sr)))
        burst = env * _band_noise(r, c.n, c.sr, 1500.0, 6000.0)
        return _add(y, burst, 0.8 * s)
    return y


def _pump(c: _Clip, model_id: str) -> np.ndarray:
    m = _model_rng("pump", model_id)
    rate = m.uniform(8.0, 18.0)  # pressure pulses per second
    mode_f = m.uniform(150.0, 900.0, 3)
    mode_tau = m.uniform(0.01, 0.04, 3)
    mode_a = m.uniform(0.5, 1.0, 3)
    motor = m.uniform(23.0, 29.0)
    motor_w = np.arange(1, 7) ** -1.0 * m.uniform(0.5, 1.5, 6)
    flow_hi = m.uniform(800.0, 1500.0)

    r = c.rng
    f = rate * (1.0 + 0.01 * r.standard_normal())
    n_pulse = int(np.ceil(c.n / c.sr * f)) + 2
    times = (np.arange(n_pulse) + r.uniform()) / f + 0.015 / f * r.standard_normal(n_pulse)
    pulses = _events(c.n, c.sr, times, 1.0 + 0.1 * r.standard_normal(n_pulse), _modes(c.sr, mode_f, mode_tau, mode_a))
    motor_phase = 2 * np.pi * np.cumsum(motor * (1.0 + _drift(r, c.n, c.sr))) / c.sr
    hum = _harmonics(motor_phase, np.arange(1, 7), motor_w, r.uniform(0, 2 * np.pi, 6), motor, c.sr)
    flow = _band_noise(r, c.n, c.sr, 40.0, flow_hi)
    y = _unit(pulses) + 0.4 * np.exp(0.1 * r.standard_normal()) * _unit(hum) + 0.6 * np.exp(0.1 * r.standard_normal()) * flow
    s = c.severity
    if c.anomaly == "leak":
        hiss = _band_noise(r, c.n, c.sr, r.uniform(2500.0, 3500.0), 7000.0) * (1.0 + _drift(r, c.n, c.sr, rate=1.0, depth=0.2))
        return _add(y, hiss, 0.5 * s)
    if c.anomaly == "cavitation":
        n_try = r.poisson(r.uniform(400.0, 1200.0) * c.n / c.sr)
        when = r.uniform(0.0, c.n / c.sr, n_try)
        low_pressure = 0.5 * (1.0 - np.cos(2 * np.pi * f * (when - times[0])))
        when = when[r.uniform(size=n_try) < low_pressure]
        kernel = _modes(c.sr, r.uniform(2500.0, 6000.0, 2), r.uniform(0.0003, 0.0008, 2), [1.0, 0.7])
        crackle = _events(c.n, c.sr, when, r.lognormal(0.0, 0.6, when.size), kernel)
        return _add(y, crackle, 0.7 * s)
    return y


def _slider(c: _Clip, model_id: str) -> np.ndarray:
    m = _model_rng("slider", model_id)
    period = m.uniform(0.8, 1.8)  # one stroke forth and back [s]
    whine = m.uniform(300.0, 800.0)  # servo tone at full speed [Hz]
    roll_hi = m.uniform(3000.0, 5000.0)
    thud_f = m.uniform(150.0, 500.0, 2)
    thud_tau = m.uniform(0.02, 0.05, 2)

    r = c.rng
    T = period * (1.0 + 0.015 * r.standard_normal())
    phi = r.uniform(0, 2 * np.pi)
    theta = 2 * np.pi * c.t / T + phi
    speed = np.abs(np.sin(theta))
    whine_phase = 2 * np.pi * np.cumsum(whine * speed) / c.sr
    tone = speed * _harmonics(whine_phase, [1, 2, 3, 4], [1.0, 0.5, 0.3, 0.2], r.uniform(0, 2 * np.pi, 4), whine, c.sr)
    roll = speed * _band_noise(r, c.n, c.sr, 400.0, roll_hi)
    n_end = int(np.ceil(2 * c.n / c.sr / T)) + 2
    ends = (np.pi * np.arange(n_end) - phi) * T / (2 * np.pi)
    thuds = _events(c.n, c.sr, ends, 1.0 + 0.1 * r.standard_normal(n_end), _modes(c.sr, thud_f, thud_tau, [1.0, 0.6]))
    y = _unit(tone) + 0.7 * np.exp(0.1 * r.standard_normal()) * _unit(roll) + 0.5 * np.exp(0.1 * r.standard_normal()) * _unit(thuds)
    s = c.severity
    if c.anomaly == "rail_damage":
        spots = r.uniform(0.2, 0.8, int(r.integers(1, 3)))
        crossings = []
        for p in spots:  # carriage position (1 - cos θ)/2 passes p at θ = ±arccos(1 - 2p) + 2πk
            a = np.arccos(1.0 - 2.0 * p)
            k = np.arange(-1, int(np.ceil(c.n / c.sr / T)) + 2)
            crossings.append(((2 * np.pi * k + a) - phi) * T / (2 * np.pi))
            crossings.append(((2 * np.pi * k - a) - phi) * T / (2 * np.pi))
        crossings = np.concatenate(crossings)
        kernel = _modes(c.sr, r.uniform(2000.0, 5000.0, 2), r.uniform(0.001, 0.002, 2), [1.0, 0.8])
        clicks = _events(c.n, c.sr, crossings, r.lognormal(0.0, 0.3, crossings.size), kernel)
        return _add(y, clicks, 0.9 * s)
    if c.anomaly == "squeal":
        f_sq = r.uniform(2000.0, 4000.0)
        vib = 1.0 + 0.015 * np.sin(2 * np.pi * r.uniform(5.0, 10.0) * c.t + r.uniform(0, 2 * np.pi))
        squeal = speed**2 * np.sin(2 * np.pi * np.cumsum(f_sq * vib) / c.sr)
        return _add(y, squeal, 0.5 * s)
    return y


def _valve(c: _Clip, model_id: str) -> np.ndarray:
    m = _model_rng("valve", model_id)
    period = m.uniform(0.6, 1.5)  # open-close cycle [s]
    duty = m.uniform(0.3, 0.6)
    click_f = m.uniform(1000.0, 4000.0, 3)
    click_tau = m.uniform(0.002, 0.008, 3)
    close_scale = m.uniform(0.8, 1.2)
    flow_lo, flow_hi = m.uniform(300.0, 600.0), m.uniform(2000.0, 3500.0)

    r = c.rng
    s = c.severity
    P = period * (1.0 + 0.015 * r.standard_normal())
    n_cyc = int(np.ceil(c.n / c.sr / P)) + 2
    start = (np.arange(-1, n_cyc - 1) + r.uniform()) * P
    jitter = 0.003
    duties = duty * (1.0 + 0.02 * r.standard_normal(n_cyc))
    if c.anomaly == "irregular_timing":
        jitter = 0.15 * P * s
        duties = duty * (1.0 + 0.6 * s * r.standard_normal(n_cyc))
    duties = np.clip(duties, 0.05, 0.9)
    opens = start + jitter * r.standard_normal(n_cyc)
    closes = opens + duties * P + jitter * 0.5 * r.standard_normal(n_cyc)
    freqs, taus = click_f, click_tau
    if c.anomaly == "changed_click":
        factor = r.uniform(0.45, 0.65) if r.uniform() < 0.5 else r.uniform(1.5, 1.8)
        freqs, taus = click_f * (1.0 + (factor - 1.0) * s), click_tau * (1.0 + 3.0 * s)
    open_k = _modes(c.sr, freqs, taus, [1.0, 0.7, 0.5])
    close_k = _modes(c.sr, freqs * close_scale, taus, [0.6, 1.0, 0.5])
    amp = lambda k: 1.0 + 0.1 * r.standard_normal(k)  # noqa: E731
    clicks = _events(c.n, c.sr, opens, amp(n_cyc), open_k) + _events(c.n, c.sr, closes, amp(n_cyc), close_k)
    if c.anomaly == "irregular_timing":  # a bouncing plunger clicks twice
        bounce = r.uniform(size=n_cyc) < s
        when = closes[bounce] + r.uniform(0.015, 0.03, int(bounce.sum()))
        clicks = clicks + _events(c.n, c.sr, when, 0.8 * amp(int(bounce.sum())), close_k)
    # flow runs while the valve is open: count opens minus closes before each sample
    t = c.t
    is_open = (np.searchsorted(np.sort(opens), t, side="right") - np.searchsorted(np.sort(closes), t, side="right")) > 0
    ramp = np.ones(int(0.01 * c.sr)) / int(0.01 * c.sr)
    gate = np.convolve(is_open.astype(float), ramp, mode="same")
    flow = gate * _band_noise(r, c.n, c.sr, flow_lo, flow_hi)
    return _unit(clicks) + 0.5 * np.exp(0.1 * r.standard_normal()) * _unit(flow)


_MACHINE_FUNCS = {"fan": _fan, "pump": _pump, "slider": _slider, "valve": _valve}


# --------------------------------------------------------------------------- public generators
def synthesize_machine_sound(
    machine: str,
    *,
    model_id: str = "id_00",
    anomaly: str | None = None,
    severity: float | None = None,
    duration: float = 10.0,
    sr: int = 16000,
    seed: int = 0,
) -> np.ndarray:
    """Make one clean (noise-free) machine clip.

    Parameters
    ----------
    machine : {"fan", "pump", "slider", "valve"}
        Machine type.
    model_id : str, default="id_00"
        Product model, ``"id_NN"``; each ID is a slightly different machine.
    anomaly : str or None, default=None
        ``None`` for a normal clip, ``"random"`` to draw one of the
        machine's kinds, or one of ``ANOMALIES[machine]``.
    severity : float in (0, 1] or None, default=None
        Strength of the anomaly; ``None`` draws it from [0.3, 1] with the seed.
    duration : float > 0 [s], default=10.0
        Clip length.
    sr : int >= 4000 [Hz], default=16000
        Sample rate.
    seed : int >= 0, default=0
        Seed of this clip's random variation (speed, phase, levels …).

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        The clip at an RMS level of -32 dBFS.
    """
    machine, sr, n = _check_common(machine, sr, duration)
    _check_model_ids([model_id])
    _check_seed(seed)
    rng = _rng("soundad-clip", seed, machine, model_id, "single")
    kind = _pick_anomaly(machine, anomaly, rng)
    if severity is None:
        sev = float(rng.uniform(*_SEVERITY))
    else:
        if isinstance(severity, bool) or not isinstance(severity, Real) or not 0.0 < float(severity) <= 1.0:
            raise ParameterError(f"severity must be in (0, 1], got {severity!r}")
        sev = float(severity)
    y = _MACHINE_FUNCS[machine](_Clip(n, float(sr), rng, kind, sev), model_id)
    return (_unit(y) * 10 ** (_MACHINE_LEVEL_DB / 20)).astype(np.float32)


def synthesize_factory_noise(*, duration: float = 10.0, sr: int = 16000, seed: int = 0, segment: int = 0) -> np.ndarray:
    """Make one segment of synthetic factory background noise.

    The factory (its hum, drone and impact rate) is fixed by ``seed``;
    ``segment`` picks a different stretch of it. The noise is a sum of pink
    noise (bulk), brown noise (rumble), 50 Hz mains hum and harmonics, the
    drone of distant machinery, and distant random impacts (low-passed,
    decaying bursts).

    Parameters
    ----------
    duration : float > 0 [s], default=10.0
    sr : int >= 4000 [Hz], default=16000
    seed : int >= 0, default=0
        Which factory.
    segment : int >= 0, default=0
        Which stretch of its noise.

    Returns
    -------
    noise : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Unit-RMS noise (scale it to the level you need).
    """
    _, sr, n = _check_common("fan", sr, duration)
    _check_seed(seed)
    _check_seed(segment, name="segment")
    return _factory_noise(n, float(sr), seed, _rng("soundad-noise", seed, "segment", segment)).astype(np.float32)


def _factory_noise(n: int, sr: float, seed: int, r: np.random.Generator) -> np.ndarray:
    f = _rng("soundad-factory", seed)
    hum_w = f.uniform(0.3, 1.0, 6) * np.array([1.0, 0.8, 0.5, 0.3, 0.2, 0.15])
    drone_f = f.uniform(90.0, 140.0)
    impact_rate = f.uniform(0.4, 1.0)  # per second
    pink_lp = f.uniform(5000.0, 7000.0)

    t = np.arange(n) / sr
    tilt = r.uniform(-0.15, 0.15)  # segment-to-segment change of spectral slope
    pink = _colored_noise(r, n, sr, lambda fr: np.maximum(fr, 20.0) ** (-0.5 - tilt) * _bandpass_gain(fr, 20.0, min(pink_lp, 0.45 * sr)))
    brown = _colored_noise(r, n, sr, lambda fr: np.maximum(fr, 15.0) ** -1.0 * _bandpass_gain(fr, 15.0, 0.45 * sr))
    mains = 50.0 * (1.0 + 0.0005 * r.standard_normal())
    hum = _harmonics(2 * np.pi * mains * t, np.arange(1, 7), hum_w, r.uniform(0, 2 * np.pi, 6), mains, sr)
    drone_phase = 2 * np.pi * np.cumsum(drone_f * (1.0 + _drift(r, n, sr, rate=0.5, depth=0.01))) / sr
    drone = (1.0 + 0.3 * np.sin(2 * np.pi * 0.3 * t + r.uniform(0, 2 * np.pi))) * _harmonics(
        drone_phase, [1, 2, 3], [1.0, 0.6, 0.3], r.uniform(0, 2 * np.pi, 3), drone_f, sr
    )
    n_imp = r.poisson(impact_rate * n / sr)
    tail = np.arange(int(0.6 * sr)) / sr
    kernel = r.standard_normal(tail.size) * np.exp(-tail / r.uniform(0.08, 0.2))
    kernel /= np.sqrt(np.sum(kernel**2))  # unit energy: the track's power is rate × E[a²]
    impacts = _events(n, sr, r.uniform(0, n / sr, n_imp), r.lognormal(0.0, 0.5, n_imp), kernel)
    impacts *= np.sqrt(sr / (impact_rate * np.exp(0.5)))
    if n_imp:
        lp = r.uniform(600.0, 1500.0)  # far away: the air took the highs
        spec = np.fft.rfft(impacts) * _bandpass_gain(np.fft.rfftfreq(n, 1.0 / sr), 30.0, lp)
        impacts = np.fft.irfft(spec, n)
    parts = [(pink, 1.0), (brown, 0.5), (_unit(hum), 0.3), (_unit(drone), 0.3)]
    noise = sum(w * p for p, w in parts) + 0.6 * impacts
    return _unit(noise)


# --------------------------------------------------------------------------- dataset writer
def write_synthetic_dataset(
    out: str | os.PathLike,
    *,
    machines: Sequence[str] = MACHINES,
    snrs: Sequence[str] = SNRS,
    ids: Sequence[str] = MODEL_IDS,
    n_normal: int = 100,
    n_abnormal: int = 30,
    duration: float = 10.0,
    sr: int = 16000,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a synthetic machine-sound dataset in MIMII's layout.

    Files land at ``<out>/<snr>/<machine>/<id>/{normal,abnormal}/NNNNNNNN.wav``
    (mono, 16-bit PCM), numbered from ``00000000`` per folder as in MIMII.
    A manifest (``soundad-synthetic.json``) is written last: it records the
    settings, every clip written and, per abnormal clip, the anomaly's kind
    and severity (keys like ``"fan/id_00/abnormal/00000000.wav"``, the same
    at every SNR). Calling again with the same settings finds it and returns
    at once.

    Parameters
    ----------
    out : str or path-like
        Root directory (created if needed).
    machines : sequence of str, default=("fan", "pump", "slider", "valve")
        Machine types to generate.
    snrs : sequence of str, default=("-6dB", "0dB", "6dB")
        SNRs to mix at; any spelling :func:`normalise_snr` accepts.
    ids : sequence of str, default=("id_00", "id_02", "id_04", "id_06")
        Model IDs (``"id_NN"``).
    n_normal : int >= 1, default=100
        Normal clips per (snr, machine, id).
    n_abnormal : int >= 0, default=30
        Abnormal clips per (snr, machine, id).
    duration : float in [0.1, 600] [s], default=10.0
        Length of every clip.
    sr : int >= 4000 [Hz], default=16000
        Sample rate.
    seed : int >= 0, default=0
        One seed for everything; the same seed gives byte-identical files.
    overwrite : bool, default=False
        If ``out`` holds a synthetic dataset made with other settings, replace
        its files (True) or stop with an error (False).
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    root : Path
        ``out``, ready for :func:`read_layout`.

    Raises
    ------
    ParameterError
        For an unknown machine, a malformed id or SNR, or counts, duration,
        rate or seed out of range.
    DataError
        If ``out`` holds a synthetic dataset with other settings and
        ``overwrite`` is False.

    Examples
    --------
    >>> root = write_synthetic_dataset("synth", machines=["fan"], ids=["id_00"],
    ...                                n_normal=6, n_abnormal=3, duration=2.0)  # doctest: +SKIP
    """
    machines = _check_machines(machines)
    snr_list = _check_snrs(snrs)
    id_list = _check_model_ids(ids)
    _check_count(n_normal, "n_normal", minimum=1)
    _check_count(n_abnormal, "n_abnormal", minimum=0)
    _, sr, n = _check_common(machines[0], sr, duration)
    _check_seed(seed)

    root = Path(out).expanduser()
    settings = {
        "format": _FORMAT_VERSION,
        "machines": list(machines),
        "snrs": snr_list,
        "ids": id_list,
        "n_normal": int(n_normal),
        "n_abnormal": int(n_abnormal),
        "duration": float(duration),
        "sr": int(sr),
        "seed": int(seed),
    }
    manifest = root / MANIFEST_NAME
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if old.get("settings") == settings:
            return root
        if not overwrite:
            raise DataError(
                f"{str(root)!r} already holds a synthetic dataset made with other settings "
                f"({old.get('settings')}); choose another directory or pass overwrite=True"
            )
        for clip_id in old.get("clip_ids", []):
            (root / clip_id).unlink(missing_ok=True)
        manifest.unlink()

    jobs = [(m, i) for m in machines for i in id_list]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs) * (n_normal + n_abnormal), desc="synthesising clips", unit="clip")
    clip_ids: list[str] = []
    anomalies: dict[str, dict] = {}
    try:
        for machine, model_id in jobs:
            clip_ids += _write_model(
                root, machine, model_id, snr_list, int(n_normal), int(n_abnormal), n, float(sr), int(seed), bar, anomalies
            )
    finally:
        if bar is not None:
            bar.close()
    record = {"settings": settings, "anomalies": anomalies, "clip_ids": sorted(clip_ids)}
    atomic_write_text(manifest, json.dumps(record, indent=1, sort_keys=True))
    return root


def _write_model(root, machine, model_id, snrs, n_normal, n_abnormal, n, sr, seed, bar, anomalies) -> list[str]:
    """Write every clip of one (machine, model_id) at every SNR."""
    plan = [("normal", i) for i in range(n_normal)] + [("abnormal", i) for i in range(n_abnormal)]
    # Levels first: MIMII's rule needs the mean clip power of the model before mixing.
    levels, noise_levels, rngs = [], [], []
    for label, index in plan:
        r = _rng("soundad-clip", seed, machine, model_id, label, index)
        levels.append(_MACHINE_LEVEL_DB + _LEVEL_SPREAD_DB * r.standard_normal())
        noise_levels.append(_NOISE_SPREAD_DB * r.standard_normal())
        rngs.append(r)
    clip_power = np.mean(10 ** (np.asarray(levels) / 10))
    noise_power = np.mean(10 ** (np.asarray(noise_levels) / 10))

    func = _MACHINE_FUNCS[machine]
    written = []
    for (label, index), level, noise_level, r in zip(plan, levels, noise_levels, rngs):
        kind = _pick_anomaly(machine, "random", r) if label == "abnormal" else None
        severity = float(r.uniform(*_SEVERITY))
        clean = _unit(func(_Clip(n, sr, r, kind, severity), model_id)) * 10 ** (level / 20)
        if kind is not None:
            anomalies[f"{machine}/{model_id}/{label}/{index:08d}.wav"] = {"kind": kind, "severity": round(severity, 4)}
        noise = _factory_noise(n, sr, seed, _rng("soundad-noise", seed, machine, model_id, label, index))
        noise *= 10 ** (noise_level / 20)
        for snr in snrs:
            mix = mix_at_snr(clean, noise, snr_db=int(snr[:-2]), clean_power=clip_power, noise_power=noise_power)
            clip_id = f"{snr}/{machine}/{model_id}/{label}/{index:08d}.wav"
            _write_wav(root / clip_id, mix, int(sr))
            written.append(clip_id)
        if bar is not None:
            bar.update(1)
    return written


def mix_at_snr(
    clean: np.ndarray,
    noise: np.ndarray,
    *,
    snr_db: float,
    clean_power: float | None = None,
    noise_power: float | None = None,
    normalise: bool = True,
) -> np.ndarray:
    """Mix a machine sound with background noise at a signal-to-noise ratio.

    The noise is scaled by ``g = sqrt(P_clean / (P_noise * 10^(snr_db/10)))`` so
    that ``10 log10(P_clean / P(g * noise)) = snr_db``. MIMII's rule takes both
    powers as *means over one machine model's clips* (pass them as
    ``clean_power`` and ``noise_power``); by default they are the powers of the
    two arrays given, i.e. the SNR of this one clip.

    Parameters
    ----------
    clean : np.ndarray [shape=(n,)]
        The machine sound.
    noise : np.ndarray [shape=(n,)]
        Background noise, same length.
    snr_db : float [dB]
        Target signal-to-noise ratio.
    clean_power, noise_power : float > 0 or None
        Mean powers [amplitude²] the rule uses; ``None``: ``mean(x**2)`` of the array.
    normalise : bool, default=True
        Scale the mixture by ``1 / sqrt(1 + 10^(-snr_db/10))``, which keeps its mean
        power near the clean level at every SNR (so loudness does not reveal the SNR).

    Returns
    -------
    mix : np.ndarray [shape=(n,)]
    """
    clean = np.asarray(clean)
    noise = np.asarray(noise)
    if clean.shape != noise.shape or clean.ndim != 1:
        raise ParameterError(f"clean and noise must be 1-D arrays of one length, got {clean.shape} and {noise.shape}")
    p_clean = float(np.mean(clean.astype(np.float64) ** 2)) if clean_power is None else float(clean_power)
    p_noise = float(np.mean(noise.astype(np.float64) ** 2)) if noise_power is None else float(noise_power)
    if not (p_clean > 0 and p_noise > 0 and np.isfinite(p_clean) and np.isfinite(p_noise)):
        raise ParameterError(f"mix_at_snr needs positive finite powers, got clean {p_clean} and noise {p_noise}")
    gain = np.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))
    mix = clean + gain * noise
    if normalise:
        mix = mix / np.sqrt(1.0 + 10 ** (-snr_db / 10))
    return mix


def _write_wav(path: Path, y: np.ndarray, sr: int) -> None:
    pcm = np.round(np.clip(y, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), pcm, sr, format="WAV", subtype="PCM_16")


# --------------------------------------------------------------------------- checks
def _pick_anomaly(machine: str, anomaly, rng: np.random.Generator):
    if anomaly is None:
        return None
    kinds = ANOMALIES[machine]
    if anomaly == "random":
        return kinds[int(rng.integers(len(kinds)))]
    if anomaly not in kinds:
        raise ParameterError(f"anomaly {anomaly!r} is not one of {machine}'s kinds {kinds} (or None, 'random')")
    return anomaly


def _check_machines(machines: Iterable[str]) -> list[str]:
    if isinstance(machines, str):
        machines = [m for m in machines.split(",") if m]
    machines = list(machines)
    if not machines:
        raise ParameterError(f"machines must name at least one of {MACHINES}")
    for m in machines:
        if m not in _MACHINE_FUNCS:
            raise ParameterError(f"unknown machine type {m!r}; expected one of {MACHINES}")
    if len(set(machines)) != len(machines):
        raise ParameterError(f"machines has duplicates: {machines}")
    return machines


def _check_snrs(snrs) -> list[str]:
    if isinstance(snrs, (str, int)):
        snrs = [s for s in str(snrs).split(",") if s]
    out = []
    for s in snrs:
        try:
            out.append(normalise_snr(s))
        except DataError as exc:
            raise ParameterError(str(exc)) from None
    if not out:
        raise ParameterError("snrs must name at least one SNR, e.g. ['-6dB', '0dB', '6dB']")
    if len(set(out)) != len(out):
        raise ParameterError(f"snrs has duplicates: {out}")
    return out


def _check_model_ids(ids) -> list[str]:
    if isinstance(ids, str):
        ids = [i for i in ids.split(",") if i]
    ids = list(ids)
    if not ids:
        raise ParameterError("ids must name at least one model id, e.g. ['id_00']")
    for i in ids:
        if not isinstance(i, str) or not i.startswith("id_") or not i[3:].isdigit():
            raise ParameterError(f"model id {i!r} must look like 'id_00'")
    if len(set(ids)) != len(ids):
        raise ParameterError(f"ids has duplicates: {ids}")
    return ids


def _check_count(value, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_seed(seed, name: str = "seed") -> None:
    if isinstance(seed, bool) or not isinstance(seed, (Integral, np.integer)) or seed < 0:
        raise ParameterError(f"{name} must be a non-negative integer, got {seed!r}")


def _check_common(machine: str, sr, duration) -> tuple[str, int, int]:
    if machine not in _MACHINE_FUNCS:
        raise ParameterError(f"unknown machine type {machine!r}; expected one of {MACHINES}")
    if isinstance(sr, bool) or not isinstance(sr, (Integral, np.integer)) or sr < _MIN_SR:
        raise ParameterError(f"sr must be an integer sample rate >= {_MIN_SR} Hz, got {sr!r}")
    if isinstance(duration, bool) or not isinstance(duration, Real) or not 0.1 <= float(duration) <= 600.0:
        raise ParameterError(f"duration must be between 0.1 and 600 seconds, got {duration!r}")
    return machine, int(sr), int(round(float(duration) * int(sr)))
