"""Synthetic DCASE-style data with a domain shift (beyond the paper).

DCASE Task 2 from 2021 on trains on many *source*-domain clips and a handful
of *target*-domain clips, recorded under another operating condition, and
tests on both. This module writes soundad's synthetic machine sounds
(:func:`soundad.data.synthesize_machine_sound`, mixed with
:func:`soundad.data.synthesize_factory_noise` by
:func:`soundad.data.mix_at_snr`) in the DCASE layouts
(:mod:`soundad.data.dcase`), so that the domain-shift effect can be shown and
tested offline:

- ``layout="dcase2020"``: ``<machine>/train/normal_id_XX_NNNNNNNN.wav`` and
  ``<machine>/test/{normal,anomaly}_id_XX_NNNNNNNN.wav``; no domains.
- ``layout="dcase2023"``: ``<machine>/{train,test}/section_XX_{source,target}_
  {train,test}_{normal,anomaly}_NNNN_spd_<percent>.wav``; the target domain
  runs the machine at ``target_speed`` times the source speed (every shaft
  rate, pulse rate and resonance of the clip moves up by that factor, as
  when a motor is driven faster), and the training set holds only
  ``n_target_train`` target clips.

Sections map to soundad's model IDs: ``section_00`` is the machine of
``id_00``. The speed change is made by resampling a clip synthesised
``target_speed`` times longer (:func:`scipy.signal.resample_poly`, which
low-passes before decimating), so that it plays back faster in the same
number of samples. Everything is deterministic: same arguments, same files.
"""

from __future__ import annotations

import os
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from soundad._io import atomic_path
from soundad.errors import ParameterError
from soundad.params import check_int, check_number

from .machines import check_machines, check_model_ids, synthesize_machine_sound
from .noise import mix_at_snr, synthesize_factory_noise

__all__ = ["SYNTH_LAYOUTS", "shift_speed", "write_dcase_synthetic"]

#: Layouts :func:`write_dcase_synthetic` writes.
SYNTH_LAYOUTS = ("dcase2020", "dcase2023")


def _seed(*parts) -> int:
    """A 31-bit seed from any mix of names and numbers (stable across runs)."""
    return zlib.crc32("/".join(map(str, parts)).encode("utf-8")) & 0x7FFFFFFF


def shift_speed(make, *, n: int, speed: float) -> np.ndarray:
    """A clip of ``n`` samples played ``speed`` times faster than ``make`` makes it.

    Parameters
    ----------
    make : callable ``(n_samples: int) -> np.ndarray``
        Makes a clip of the given length (e.g. a wrapped
        :func:`soundad.data.synthesize_machine_sound`).
    n : int > 0
        Length of the result [samples].
    speed : float > 0
        Playback speed factor; 1 returns ``make(n)`` unchanged. Every frequency
        of the clip is multiplied by ``speed``.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
    """
    speed = check_number("speed", speed, low=0.2, high=5.0)
    if float(speed) == 1.0:
        return np.asarray(make(n), dtype=np.float32)
    ratio = Fraction(float(speed)).limit_denominator(50)
    long = np.asarray(make(int(np.ceil(n * float(ratio))) + 64), dtype=np.float64)
    y = resample_poly(long, ratio.denominator, ratio.numerator)[:n]
    return np.pad(y, (0, n - len(y))).astype(np.float32)


def _write(path: Path, y: np.ndarray, sr: int) -> None:
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(y, -1.0, 1.0), sr, format="WAV", subtype="PCM_16")


def _clip(machine, model_id, *, split, domain, label, speed, seed, index, duration, sr, snr_db) -> np.ndarray:
    n = int(round(duration * sr))
    clip_seed = _seed(seed, machine, model_id, split, domain, label, index)

    def make(length: int) -> np.ndarray:
        return synthesize_machine_sound(machine, model_id=model_id, anomaly="random" if label == "anomaly" else None,
                                        duration=length / sr, sr=sr, seed=clip_seed)

    clean = shift_speed(make, n=n, speed=speed)
    noise = synthesize_factory_noise(duration=n / sr, sr=sr, seed=seed, segment=clip_seed)
    return mix_at_snr(clean, noise[:n], snr_db=snr_db)


def _plan(layout, n_normal, n_abnormal, n_target_train):
    """(split, domain, label, count) of one machine section."""
    if layout == "dcase2020":
        return [("train", None, "normal", n_normal), ("test", None, "normal", n_abnormal),
                ("test", None, "anomaly", n_abnormal)]
    return [("train", "source", "normal", n_normal), ("train", "target", "normal", n_target_train),
            *[("test", d, lab, n_abnormal) for d in ("source", "target") for lab in ("normal", "anomaly")]]


def write_dcase_synthetic(
    out: str | os.PathLike,
    *,
    layout: str = "dcase2023",
    machines: Sequence[str] = ("fan", "valve"),
    model_ids: Sequence[str] = ("id_00",),
    n_normal: int = 20,
    n_abnormal: int = 10,
    n_target_train: int | None = None,
    target_speed: float = 1.25,
    snr_db: float = 6.0,
    duration: float = 2.0,
    sr: int = 16000,
    seed: int = 0,
) -> Path:
    """Write synthetic machine sounds in a DCASE Task 2 layout.

    Parameters
    ----------
    out : str or path-like
        Directory to write into (created if missing); files of the same name
        are replaced (each atomically), other files are left alone.
    layout : {"dcase2020", "dcase2023"}, default="dcase2023"
    machines : sequence of {"fan", "pump", "slider", "valve"} or comma-separated str, default=("fan", "valve")
    model_ids : sequence of str, default=("id_00",)
        Model IDs ``"id_XX"``; in the 2023 layout ``id_XX`` is written as
        ``section_XX``.
    n_normal : int >= 1, default=20
        Normal training clips per machine and ID (source domain for 2023).
    n_abnormal : int >= 1, default=10
        Anomalous test clips per machine and ID (per domain for 2023); the
        test set holds as many normal clips.
    n_target_train : int >= 1 or None, default=None
        2023: target-domain training clips; None: ``max(1, n_normal // 10)``
        (DCASE 2022/2023 give 990 source and 10 target clips per section).
    target_speed : float, default=1.25
        2023: speed of the target domain relative to the source domain.
    snr_db : float [dB], default=6.0
        Level of the machine over the factory noise of each clip.
    duration : float > 0 [s], default=2.0
    sr : int [Hz], default=16000
    seed : int >= 0, default=0

    Returns
    -------
    root : pathlib.Path
        ``out``, ready for :func:`soundad.data.read_layout`.
    """
    if layout not in SYNTH_LAYOUTS:
        raise ParameterError(f"layout={layout!r}; expected one of {', '.join(SYNTH_LAYOUTS)}")
    machines = check_machines(machines)  # a list or "fan,valve"; MIMII's four types, none twice
    n_normal = check_int("n_normal", n_normal, low=1)
    n_abnormal = check_int("n_abnormal", n_abnormal, low=1)
    n_target = check_int("n_target_train", n_target_train, low=1, allow_none=True)
    n_target = max(1, n_normal // 10) if n_target is None else n_target
    model_ids = check_model_ids(model_ids)
    root = Path(out).expanduser()
    speeds = {None: 1.0, "source": 1.0, "target": float(target_speed)}
    for machine in machines:
        for model_id in model_ids:
            number = model_id.split("_", 1)[-1]
            for split, domain, label, count in _plan(layout, n_normal, n_abnormal, n_target):
                speed = speeds[domain]
                for i in range(count):
                    if layout == "dcase2020":
                        name = f"{label}_{model_id}_{i:08d}.wav"
                    else:
                        name = f"section_{number}_{domain}_{split}_{label}_{i:04d}_spd_{round(100 * speed)}.wav"
                    y = _clip(machine, model_id, split=split, domain=domain, label=label, speed=speed, seed=seed,
                              index=i, duration=duration, sr=sr, snr_db=snr_db)
                    _write(root / machine / split / name, y, sr)
    return root
