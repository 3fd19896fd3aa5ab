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

The stages live in small modules: :mod:`soundad.data.signals` (seeded noise,
tones, resonances), :mod:`soundad.data.machines` (the four sound models and
their anomalies), :mod:`soundad.data.noise` (factory noise and the mixing
rule); this module writes a dataset from them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from soundad._io import atomic_path, atomic_write_text
from soundad.errors import DataError
from soundad.params import check_int

from .groups import parse_snrs, snr_db
from .layout import MACHINES, MODEL_IDS, SNRS
from .machines import (
    ANOMALIES,
    MACHINE_LEVEL_DB,
    MACHINE_SOUNDS,
    SEVERITY,
    ClipSpec,
    check_machines,
    check_model_ids,
    check_rate_and_duration,
    pick_anomaly,
    synthesize_machine_sound,
)
from .noise import factory_noise, mix_at_snr, synthesize_factory_noise
from .signals import seeded_rng, unit_rms

__all__ = [
    "ANOMALIES",
    "MANIFEST_NAME",
    "mix_at_snr",
    "synthesize_factory_noise",
    "synthesize_machine_sound",
    "write_synthetic_dataset",
]

#: File written last into a synthetic dataset's root; it records the settings.
MANIFEST_NAME = "soundad-synthetic.json"

#: Spread [dB] of clip levels around a model's mean, the same for both labels.
_LEVEL_SPREAD_DB = 1.0
#: Spread [dB] of noise-segment levels.
_NOISE_SPREAD_DB = 0.8
_FORMAT_VERSION = 1


def write_synthetic_dataset(
    out: str | os.PathLike,
    *,
    machines: Sequence[str] = MACHINES,
    snrs: Sequence[str] = SNRS,
    model_ids: Sequence[str] = MODEL_IDS,
    n_normal: int = 100,
    n_abnormal: int = 30,
    duration: float = 10.0,
    sr: int = 16000,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a synthetic machine-sound dataset in MIMII's layout.

    Files land at ``<out>/<snr>/<machine>/<model_id>/{normal,abnormal}/NNNNNNNN.wav``
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
    model_ids : sequence of str, default=("id_00", "id_02", "id_04", "id_06")
        Model IDs (``"id_NN"``).
    n_normal : int >= 1, default=100
        Normal clips per (snr, machine, model_id).
    n_abnormal : int >= 0, default=30
        Abnormal clips per (snr, machine, model_id).
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
        For an unknown machine, a malformed model ID or SNR, or counts, duration,
        rate or seed out of range.
    DataError
        If ``out`` holds a synthetic dataset with other settings and
        ``overwrite`` is False.

    Examples
    --------
    >>> root = write_synthetic_dataset("synth", machines=["fan"], model_ids=["id_00"],
    ...                                n_normal=6, n_abnormal=3, duration=2.0)  # doctest: +SKIP
    """
    settings = _settings(machines, snrs, model_ids, n_normal, n_abnormal, duration, sr, seed)
    root = Path(out).expanduser()
    if _reuse_or_clear(root, settings, overwrite=overwrite):
        return root
    record = _write_clips(root, settings, progress=progress)
    atomic_write_text(root / MANIFEST_NAME, json.dumps(record, indent=1, sort_keys=True))
    return root


def _write_clips(root: Path, settings: dict, *, progress: bool) -> dict:
    """Write every clip; return the manifest record (settings, anomalies, clip IDs)."""
    _, n = check_rate_and_duration(settings["sr"], settings["duration"])
    jobs = [(m, i) for m in settings["machines"] for i in settings["model_ids"]]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs) * (settings["n_normal"] + settings["n_abnormal"]), desc="synthesising clips",
                   unit="clip")
    clip_ids: list[str] = []
    anomalies: dict[str, dict] = {}
    try:
        for machine, model_id in jobs:
            clip_ids += _write_model(root, machine, model_id, settings, n, bar, anomalies)
    finally:
        if bar is not None:
            bar.close()
    return {"settings": settings, "anomalies": anomalies, "clip_ids": sorted(clip_ids)}


def _settings(machines, snrs, model_ids, n_normal, n_abnormal, duration, sr, seed) -> dict:
    """The checked settings a dataset is made with (and recorded by, in its manifest)."""
    machines = check_machines(machines)
    snr_list = parse_snrs(snrs, name="snrs")
    id_list = check_model_ids(model_ids)
    n_normal = check_int("n_normal", n_normal, low=1)
    n_abnormal = check_int("n_abnormal", n_abnormal, low=0)
    sr, _ = check_rate_and_duration(sr, duration)
    return {
        "format": _FORMAT_VERSION,
        "machines": machines,
        "snrs": snr_list,
        "model_ids": id_list,
        "n_normal": n_normal,
        "n_abnormal": n_abnormal,
        "duration": float(duration),
        "sr": sr,
        "seed": check_int("seed", seed, low=0),
    }


def _reuse_or_clear(root: Path, settings: dict, *, overwrite: bool) -> bool:
    """True if ``root`` already holds this dataset; else clear another one there (if ``overwrite``)."""
    manifest = root / MANIFEST_NAME
    if not manifest.exists():
        return False
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    old_settings = dict(old.get("settings") or {})
    if "ids" in old_settings:  # manifests written before the model_ids rename
        old_settings["model_ids"] = old_settings.pop("ids")
    if old_settings == settings:
        return True
    if not overwrite:
        raise DataError(
            f"{str(root)!r} already holds a synthetic dataset made with other settings "
            f"({old.get('settings')}); choose another directory or pass overwrite=True"
        )
    for clip_id in old.get("clip_ids", []):
        (root / clip_id).unlink(missing_ok=True)
    manifest.unlink()
    return False


def _write_model(root: Path, machine: str, model_id: str, settings: dict, n: int, bar, anomalies: dict) -> list[str]:
    """Write every clip of one (machine, model_id) at every SNR; record anomalies in ``anomalies``."""
    seed, sr = settings["seed"], float(settings["sr"])
    plan = [("normal", i) for i in range(settings["n_normal"])] + [
        ("abnormal", i) for i in range(settings["n_abnormal"])]
    # Levels first: MIMII's rule needs the mean clip power of the model before mixing.
    levels, noise_levels, rngs = [], [], []
    for label, index in plan:
        r = seeded_rng("soundad-clip", seed, machine, model_id, label, index)
        levels.append(MACHINE_LEVEL_DB + _LEVEL_SPREAD_DB * r.standard_normal())
        noise_levels.append(_NOISE_SPREAD_DB * r.standard_normal())
        rngs.append(r)
    clip_power = np.mean(10 ** (np.asarray(levels) / 10))
    noise_power = np.mean(10 ** (np.asarray(noise_levels) / 10))

    func = MACHINE_SOUNDS[machine]
    written = []
    for (label, index), level, noise_level, r in zip(plan, levels, noise_levels, rngs):
        kind = pick_anomaly(machine, "random", r) if label == "abnormal" else None
        severity = float(r.uniform(*SEVERITY))
        clean = unit_rms(func(ClipSpec(n, sr, r, kind, severity), model_id)) * 10 ** (level / 20)
        if kind is not None:
            anomalies[f"{machine}/{model_id}/{label}/{index:08d}.wav"] = {"kind": kind, "severity": round(severity, 4)}
        noise = factory_noise(n, sr, seed, seeded_rng("soundad-noise", seed, machine, model_id, label, index))
        noise *= 10 ** (noise_level / 20)
        for snr in settings["snrs"]:
            mix = mix_at_snr(clean, noise, snr_db=snr_db(snr), clean_power=clip_power, noise_power=noise_power)
            clip_id = f"{snr}/{machine}/{model_id}/{label}/{index:08d}.wav"
            _write_wav(root / clip_id, mix, settings["sr"])
            written.append(clip_id)
        if bar is not None:
            bar.update(1)
    return written


def _write_wav(path: Path, y: np.ndarray, sr: int) -> None:
    pcm = np.round(np.clip(y, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), pcm, sr, format="WAV", subtype="PCM_16")
