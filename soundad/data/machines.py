"""Sound models of the four MIMII machine types (chapter 01, synthetic data).

Each machine type is a function of a :class:`ClipSpec` (length, rate, random
generator, anomaly and its severity) and a model ID; see
:mod:`soundad.data.synth` for what the sounds and their anomalies are. Each
model ID is a slightly different machine, fixed by ``(machine, model_id)``
alone; the clip's generator varies speed, phase, levels and jitter.
:func:`synthesize_machine_sound` makes one clean clip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from soundad.errors import ParameterError
from soundad.params import check_int, check_number

from .layout import MACHINES
from .signals import add_at_ratio, band_noise, drift, events, harmonics, modes, seeded_rng, unit_rms

__all__ = [
    "ANOMALIES",
    "MACHINE_LEVEL_DB",
    "MACHINE_SOUNDS",
    "MIN_SR",
    "SEVERITY",
    "ClipSpec",
    "check_clip_settings",
    "check_machines",
    "check_rate_and_duration",
    "check_model_ids",
    "pick_anomaly",
    "synthesize_machine_sound",
]

#: Anomaly kinds each machine type can show.
ANOMALIES = {
    "fan": ("imbalance", "rubbing"),
    "pump": ("leak", "cavitation"),
    "slider": ("rail_damage", "squeal"),
    "valve": ("irregular_timing", "changed_click"),
}
#: RMS level [dBFS] of a clean machine clip (mean over a model's clips).
MACHINE_LEVEL_DB = -32.0
#: Range of anomaly severities drawn per abnormal clip.
SEVERITY = (0.3, 1.0)
#: Lowest sample rate [Hz] the sound models support.
MIN_SR = 4000


@dataclass(frozen=True)
class ClipSpec:
    """One clip to render: ``n`` samples at ``sr`` Hz, its generator, anomaly kind (or None) and severity."""

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
    return seeded_rng("soundad-model", machine, _id_number(model_id))


def _fan(c: ClipSpec, model_id: str) -> np.ndarray:
    m = _model_rng("fan", model_id)
    shaft = m.uniform(18.0, 32.0)  # shaft rate [Hz]
    blades = int(m.choice([5, 6, 7, 9, 11]))
    n_harm = 10
    alpha = m.uniform(0.8, 1.5)
    weights = np.arange(1, n_harm + 1) ** -alpha * m.uniform(0.6, 1.4, n_harm)
    air_lo, air_hi = m.uniform(150.0, 400.0), m.uniform(2500.0, 5000.0)
    air_ratio = m.uniform(0.5, 1.0)

    r = c.rng
    f_shaft = shaft * (1.0 + 0.01 * r.standard_normal()) * (1.0 + drift(r, c.n, c.sr))
    shaft_phase = 2 * np.pi * np.cumsum(f_shaft) / c.sr + r.uniform(0, 2 * np.pi)
    w = weights * np.exp(0.1 * r.standard_normal(n_harm))
    tonal = unit_rms(
        harmonics(blades * shaft_phase, np.arange(1, n_harm + 1), w, r.uniform(0, 2 * np.pi, n_harm), blades * shaft, c.sr)
    )
    air = band_noise(r, c.n, c.sr, air_lo, air_hi) * (1.0 + 0.2 * np.sin(blades * shaft_phase))
    air_gain = air_ratio * np.exp(0.1 * r.standard_normal())
    s = c.severity
    if c.anomaly == "imbalance":
        depth = 0.8 * s
        mod = 1.0 + depth * np.sin(shaft_phase + r.uniform(0, 2 * np.pi))
        y = tonal * mod + air_gain * air * mod
        shaft_tones = harmonics(shaft_phase, [1, 2, 3], [1.0, 0.5, 0.25], r.uniform(0, 2 * np.pi, 3), shaft, c.sr)
        return add_at_ratio(y, shaft_tones, 0.9 * s)
    y = tonal + air_gain * air
    if c.anomaly == "rubbing":
        n_rev = int(np.ceil(c.n / c.sr * shaft)) + 1
        times = (np.arange(n_rev) + r.uniform()) / shaft + 0.0005 * r.standard_normal(n_rev)
        hit = r.uniform(size=n_rev) < 0.7
        env = events(c.n, c.sr, times[hit], r.lognormal(0.0, 0.4, int(hit.sum())), np.exp(-np.arange(int(0.02 * c.sr)) / (0.004 * c.sr)))
        burst = env * band_noise(r, c.n, c.sr, 1500.0, 6000.0)
        return add_at_ratio(y, burst, 0.8 * s)
    return y


def _pump(c: ClipSpec, model_id: str) -> np.ndarray:
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
    pulses = events(c.n, c.sr, times, 1.0 + 0.1 * r.standard_normal(n_pulse), modes(c.sr, mode_f, mode_tau, mode_a))
    motor_phase = 2 * np.pi * np.cumsum(motor * (1.0 + drift(r, c.n, c.sr))) / c.sr
    hum = harmonics(motor_phase, np.arange(1, 7), motor_w, r.uniform(0, 2 * np.pi, 6), motor, c.sr)
    flow = band_noise(r, c.n, c.sr, 40.0, flow_hi)
    y = unit_rms(pulses) + 0.4 * np.exp(0.1 * r.standard_normal()) * unit_rms(hum) + 0.6 * np.exp(0.1 * r.standard_normal()) * flow
    s = c.severity
    if c.anomaly == "leak":
        hiss = band_noise(r, c.n, c.sr, r.uniform(2500.0, 3500.0), 7000.0) * (1.0 + drift(r, c.n, c.sr, rate=1.0, depth=0.2))
        return add_at_ratio(y, hiss, 0.5 * s)
    if c.anomaly == "cavitation":
        n_try = r.poisson(r.uniform(400.0, 1200.0) * c.n / c.sr)
        when = r.uniform(0.0, c.n / c.sr, n_try)
        low_pressure = 0.5 * (1.0 - np.cos(2 * np.pi * f * (when - times[0])))
        when = when[r.uniform(size=n_try) < low_pressure]
        kernel = modes(c.sr, r.uniform(2500.0, 6000.0, 2), r.uniform(0.0003, 0.0008, 2), [1.0, 0.7])
        crackle = events(c.n, c.sr, when, r.lognormal(0.0, 0.6, when.size), kernel)
        return add_at_ratio(y, crackle, 0.7 * s)
    return y


def _slider(c: ClipSpec, model_id: str) -> np.ndarray:
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
    tone = speed * harmonics(whine_phase, [1, 2, 3, 4], [1.0, 0.5, 0.3, 0.2], r.uniform(0, 2 * np.pi, 4), whine, c.sr)
    roll = speed * band_noise(r, c.n, c.sr, 400.0, roll_hi)
    n_end = int(np.ceil(2 * c.n / c.sr / T)) + 2
    ends = (np.pi * np.arange(n_end) - phi) * T / (2 * np.pi)
    thuds = events(c.n, c.sr, ends, 1.0 + 0.1 * r.standard_normal(n_end), modes(c.sr, thud_f, thud_tau, [1.0, 0.6]))
    y = unit_rms(tone) + 0.7 * np.exp(0.1 * r.standard_normal()) * unit_rms(roll) + 0.5 * np.exp(0.1 * r.standard_normal()) * unit_rms(thuds)
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
        kernel = modes(c.sr, r.uniform(2000.0, 5000.0, 2), r.uniform(0.001, 0.002, 2), [1.0, 0.8])
        clicks = events(c.n, c.sr, crossings, r.lognormal(0.0, 0.3, crossings.size), kernel)
        return add_at_ratio(y, clicks, 0.9 * s)
    if c.anomaly == "squeal":
        f_sq = r.uniform(2000.0, 4000.0)
        vib = 1.0 + 0.015 * np.sin(2 * np.pi * r.uniform(5.0, 10.0) * c.t + r.uniform(0, 2 * np.pi))
        squeal = speed**2 * np.sin(2 * np.pi * np.cumsum(f_sq * vib) / c.sr)
        return add_at_ratio(y, squeal, 0.5 * s)
    return y


def _valve(c: ClipSpec, model_id: str) -> np.ndarray:
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
    open_k = modes(c.sr, freqs, taus, [1.0, 0.7, 0.5])
    close_k = modes(c.sr, freqs * close_scale, taus, [0.6, 1.0, 0.5])
    amp = lambda k: 1.0 + 0.1 * r.standard_normal(k)  # noqa: E731
    clicks = events(c.n, c.sr, opens, amp(n_cyc), open_k) + events(c.n, c.sr, closes, amp(n_cyc), close_k)
    if c.anomaly == "irregular_timing":  # a bouncing plunger clicks twice
        bounce = r.uniform(size=n_cyc) < s
        when = closes[bounce] + r.uniform(0.015, 0.03, int(bounce.sum()))
        clicks = clicks + events(c.n, c.sr, when, 0.8 * amp(int(bounce.sum())), close_k)
    # flow runs while the valve is open: count opens minus closes before each sample
    t = c.t
    is_open = (np.searchsorted(np.sort(opens), t, side="right") - np.searchsorted(np.sort(closes), t, side="right")) > 0
    ramp = np.ones(int(0.01 * c.sr)) / int(0.01 * c.sr)
    gate = np.convolve(is_open.astype(float), ramp, mode="same")
    flow = gate * band_noise(r, c.n, c.sr, flow_lo, flow_hi)
    return unit_rms(clicks) + 0.5 * np.exp(0.1 * r.standard_normal()) * unit_rms(flow)


MACHINE_SOUNDS = {"fan": _fan, "pump": _pump, "slider": _slider, "valve": _valve}

def pick_anomaly(machine: str, anomaly, rng: np.random.Generator) -> str | None:
    """The anomaly kind for ``anomaly``: None (normal), ``"random"`` (drawn with ``rng``) or a named kind."""
    if anomaly is None:
        return None
    kinds = ANOMALIES[machine]
    if anomaly == "random":
        return kinds[int(rng.integers(len(kinds)))]
    if anomaly not in kinds:
        raise ParameterError(f"anomaly {anomaly!r} is not one of {machine}'s kinds {kinds} (or None, 'random')")
    return anomaly


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
    machine, sr, n = check_clip_settings(machine, sr, duration)
    check_model_ids([model_id], name="model_id")
    check_int("seed", seed, low=0)
    rng = seeded_rng("soundad-clip", seed, machine, model_id, "single")
    kind = pick_anomaly(machine, anomaly, rng)
    if severity is None:
        sev = float(rng.uniform(*SEVERITY))
    else:
        sev = check_number("severity", severity, low=0.0, high=1.0, closed="right")
    y = MACHINE_SOUNDS[machine](ClipSpec(n, float(sr), rng, kind, sev), model_id)
    return (unit_rms(y) * 10 ** (MACHINE_LEVEL_DB / 20)).astype(np.float32)


def check_clip_settings(machine: str, sr, duration) -> tuple[str, int, int]:
    """``(machine, sr, n_samples)`` after checking the machine type, ``sr`` [Hz] and ``duration`` [s]."""
    if machine not in MACHINE_SOUNDS:
        raise ParameterError(f"unknown machine type {machine!r}; expected one of {MACHINES}")
    sr, n = check_rate_and_duration(sr, duration)
    return machine, sr, n


def check_rate_and_duration(sr, duration) -> tuple[int, int]:
    """``(sr, n_samples)`` after checking ``sr`` [Hz] (an integer >= MIN_SR) and ``duration`` [s] (0.1 to 600)."""
    sr = check_int("sr", sr, low=MIN_SR)
    duration = check_number("duration", duration, low=0.1, high=600.0)
    return sr, int(round(duration * sr))


def check_machines(machines: str | Iterable[str]) -> list[str]:
    """Machine types (keys of :data:`MACHINE_SOUNDS`) from a list or a comma-separated string; none twice."""

    def check(machine) -> None:
        if not isinstance(machine, str) or machine not in MACHINE_SOUNDS:
            raise ParameterError(f"unknown machine type {machine!r}; expected one of {MACHINES}")

    return _name_list(machines, "machines", f"machines must name at least one of {MACHINES}", check)


def check_model_ids(model_ids: str | Iterable[str], *, name: str = "model_ids") -> list[str]:
    """Model IDs (``"id_NN"``) from a list or a comma-separated string; none missing, none twice."""

    def check(model_id) -> None:
        if not isinstance(model_id, str) or not re.fullmatch(r"id_\d+", model_id):
            raise ParameterError(f"{name}: model ID {model_id!r} must look like 'id_00'")

    return _name_list(model_ids, name, f"{name} must name at least one model ID, e.g. ['id_00']", check)


def _name_list(values: str | Iterable[str], name: str, empty: str, check) -> list[str]:
    """``values`` as a list (a string is split on commas), refused when empty (message ``empty``),
    when ``check`` raises for an item, or when an item comes twice."""
    if isinstance(values, str):
        values = [v for v in values.split(",") if v]
    values = list(values)
    if not values:
        raise ParameterError(empty)
    for value in values:
        check(value)
    if len(set(values)) != len(values):
        raise ParameterError(f"{name} has duplicates: {values}")
    return values
