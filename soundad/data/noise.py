"""Factory background noise and MIMII's mixing rule (chapter 01, synthetic data).

:func:`synthesize_factory_noise` makes a segment of a factory's noise (pink
and brown noise, mains hum, a distant drone and distant impacts);
:func:`mix_at_snr` adds noise to a machine sound at a signal-to-noise ratio,
with the powers taken as MIMII takes them (means over one model's clips).
"""

from __future__ import annotations

import numpy as np

from soundad.errors import ParameterError
from soundad.params import check_int

from .machines import check_rate_and_duration
from .signals import bandpass_gain, colored_noise, drift, events, harmonics, seeded_rng, unit_rms

__all__ = ["factory_noise", "mix_at_snr", "synthesize_factory_noise"]


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
    sr, n = check_rate_and_duration(sr, duration)
    check_int("seed", seed, low=0)
    check_int("segment", segment, low=0)
    return factory_noise(n, float(sr), seed, seeded_rng("soundad-noise", seed, "segment", segment)).astype(np.float32)


def factory_noise(n: int, sr: float, seed: int, r: np.random.Generator) -> np.ndarray:
    """``n`` samples at ``sr`` Hz of factory ``seed``'s noise (unit RMS); ``r`` draws the segment."""
    f = seeded_rng("soundad-factory", seed)
    hum_w = f.uniform(0.3, 1.0, 6) * np.array([1.0, 0.8, 0.5, 0.3, 0.2, 0.15])
    drone_f = f.uniform(90.0, 140.0)
    impact_rate = f.uniform(0.4, 1.0)  # per second
    pink_lp = f.uniform(5000.0, 7000.0)

    t = np.arange(n) / sr
    tilt = r.uniform(-0.15, 0.15)  # segment-to-segment change of spectral slope
    pink = colored_noise(r, n, sr, lambda fr: np.maximum(fr, 20.0) ** (-0.5 - tilt) * bandpass_gain(fr, 20.0, min(pink_lp, 0.45 * sr)))
    brown = colored_noise(r, n, sr, lambda fr: np.maximum(fr, 15.0) ** -1.0 * bandpass_gain(fr, 15.0, 0.45 * sr))
    mains = 50.0 * (1.0 + 0.0005 * r.standard_normal())
    hum = harmonics(2 * np.pi * mains * t, np.arange(1, 7), hum_w, r.uniform(0, 2 * np.pi, 6), mains, sr)
    drone_phase = 2 * np.pi * np.cumsum(drone_f * (1.0 + drift(r, n, sr, rate=0.5, depth=0.01))) / sr
    drone = (1.0 + 0.3 * np.sin(2 * np.pi * 0.3 * t + r.uniform(0, 2 * np.pi))) * harmonics(
        drone_phase, [1, 2, 3], [1.0, 0.6, 0.3], r.uniform(0, 2 * np.pi, 3), drone_f, sr
    )
    n_imp = r.poisson(impact_rate * n / sr)
    tail = np.arange(int(0.6 * sr)) / sr
    kernel = r.standard_normal(tail.size) * np.exp(-tail / r.uniform(0.08, 0.2))
    kernel /= np.sqrt(np.sum(kernel**2))  # unit energy: the track's power is rate × E[a²]
    impacts = events(n, sr, r.uniform(0, n / sr, n_imp), r.lognormal(0.0, 0.5, n_imp), kernel)
    impacts *= np.sqrt(sr / (impact_rate * np.exp(0.5)))
    if n_imp:
        lp = r.uniform(600.0, 1500.0)  # far away: the air took the highs
        spec = np.fft.rfft(impacts) * bandpass_gain(np.fft.rfftfreq(n, 1.0 / sr), 30.0, lp)
        impacts = np.fft.irfft(spec, n)
    parts = [(pink, 1.0), (brown, 0.5), (unit_rms(hum), 0.3), (unit_rms(drone), 0.3)]
    noise = sum(w * p for p, w in parts) + 0.6 * impacts
    return unit_rms(noise)


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
