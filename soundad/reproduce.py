"""The reproduction grid of Müller et al. (2021): every method on every group (chapter 06).

:func:`run_grid` runs, over every (snr, machine, model_id) group the data holds,

- each *transfer-learning method* (backbone, weights, layer, detector): the
  features of all windows are extracted once per (backbone, weights, layer)
  through the feature cache; each detector is fitted on the group's normal
  **training** windows only, scores the **test** windows, and a clip's score is
  the mean of its window scores;
- each *autoencoder baseline*: the conv autoencoder on mel windows and the
  dense autoencoder on stacked log-mel frames, trained on the same normal
  training clips;

and evaluates AUC and pAUC, each with a 95 % bootstrap interval, per group
with :func:`soundad.evaluate.evaluate_scores`.

Repeats
-------
``repeats=K`` splits every group K times: repeat 0 with ``seed``, repeat
``r`` with :func:`repeat_seed` ``(seed, r)``, a seed derived from ``seed``
by ``numpy.random.SeedSequence([seed, r])``. That seed also seeds the
repeat's detectors and autoencoders. Features are extracted once per
(backbone, weights, layer); only detectors and autoencoders rerun.

Resuming
--------
The unit of work is a *cell*: one method on one group in one repeat. Each
finished cell is written atomically to
``OUT/cells/<method>/<snr>__<machine>__<id>.json`` (repeat 0) or
``OUT/cells/<method>/<snr>__<machine>__<id>__r<r>.json`` (repeat r >= 1)
(per-clip test scores plus a fingerprint of everything that determines them:
the group's clips and split, the seed, the settings). A rerun with the same
arguments skips every cell whose file is present, readable and has the same
fingerprint, so an interrupted run picks up where it stopped; features come
back from the feature cache. ``results.csv``, ``scores.csv``, ``summary.md``
and the figures are assembled from the cells at the end of every run.

Outputs (under ``out``)
-----------------------
``results.csv``
    One row per (snr, machine, id, repeat, method): ``data, seed, split, snr,
    machine, id, repeat, method, backbone, weights, layer, detector, auc,
    auc_lo, auc_hi, pauc, pauc_lo, pauc_hi, n_train, n_train_windows, n_test,
    n_normal_test, n_abnormal_test, status``; ``*_lo``/``*_hi`` bound the 95 %
    bootstrap interval over the group's test clips (``n_boot`` resamples,
    seeded by ``seed``).
    Baselines fill ``backbone`` with their own name (``"conv_ae"``),
    ``weights="none"``, ``layer="-"`` and ``detector="reconstruction"``. A group
    that cannot be evaluated (its test set lacks a class) keeps a row with
    empty ``auc``/``pauc`` and ``status`` saying why.
``scores.csv``
    One row per (method, repeat, test clip): the clip's labels and its anomaly
    score; the input of :func:`soundad.evaluate.compare` and
    :func:`soundad.claims.check_claims`.
``summary.md``
    Mean AUC/pAUC per method overall, per machine and per SNR, each written
    ``0.72 [0.55, 0.88]`` (see :mod:`soundad.report`), and the spread over
    repeats.
``figures/``
    AUC heatmaps (machine × SNR, one panel per method), ROC curves and score
    histograms, as PNG.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from soundad._io import atomic_path, atomic_write_text
from soundad.data.groups import GROUP_COLUMNS, evaluation_mask, group_key, train_normal_mask
from soundad.data.selection import MIN_TRAIN_CLIPS, choose_split, first_group, group_status, load_clips
from soundad.errors import DataError, ParameterError
from soundad.report import draw_figures, write_summary

__all__ = [
    "BASELINES",
    "GROUP_COLUMNS",
    "MIN_TRAIN_CLIPS",
    "Method",
    "choose_split",
    "first_group",
    "load_clips",
    "repeat_seed",
    "run_grid",
    "write_summary",
]

#: Autoencoder baselines :func:`run_grid` knows.
BASELINES = ("conv_ae", "dense_ae")

_CELL_VERSION = 1
_RESULT_COLUMNS = [
    "data", "seed", "split", "snr", "machine", "id", "repeat", "method", "backbone", "weights", "layer",
    "detector", "auc", "auc_lo", "auc_hi", "pauc", "pauc_lo", "pauc_hi", "n_train", "n_train_windows", "n_test", "n_normal_test",
    "n_abnormal_test", "status",
]
_METHOD_COLUMNS = ["method", "backbone", "weights", "layer", "detector"]


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Method:
    """One column of the grid: what produced a score.

    Attributes
    ----------
    backbone : str
        Backbone name, or the baseline's name (``"conv_ae"``, ``"dense_ae"``).
    weights : str
        ``"imagenet"``, ``"random"``, or ``"none"`` for a baseline.
    layer : str
        Feature layer (``"-"`` for a baseline).
    detector : str
        Detector name, or ``"reconstruction"`` for a baseline.
    """

    backbone: str
    weights: str
    layer: str
    detector: str

    @property
    def is_baseline(self) -> bool:
        return self.detector == "reconstruction"

    @property
    def label(self) -> str:
        """Short readable name, e.g. ``"efficientnet_lite0/imagenet/gmm"`` or ``"conv_ae"``."""
        if self.is_baseline:
            return self.backbone
        parts = [self.backbone, self.weights]
        if self.layer not in ("", "-", "default"):
            parts.append(self.layer)
        parts.append(self.detector)
        return "/".join(parts)

    @property
    def slug(self) -> str:
        """File-system safe name of the cell directory."""
        return self.label.replace("/", "__").replace(".", "_")

    @classmethod
    def baseline(cls, name: str) -> "Method":
        return cls(backbone=name, weights="none", layer="-", detector="reconstruction")


def _group_name(key: Sequence[str]) -> str:
    return "/".join(key)


def _unit_name(unit: tuple[int, Sequence[str]]) -> str:
    """``"0dB/fan/id_00"`` for repeat 0, ``"0dB/fan/id_00 r3"`` for repeat 3."""
    return _group_name(unit[1]) + (f" r{unit[0]}" if unit[0] else "")


def _cell_path(out: Path, method: Method, unit: tuple[int, Sequence[str]]) -> Path:
    repeat, key = unit
    return out / "cells" / method.slug / ("__".join(key) + (f"__r{repeat}" if repeat else "") + ".json")


def repeat_seed(seed: int, repeat: int) -> int:
    """Seed of repeat ``repeat`` of a run with seed ``seed`` (split, detectors, autoencoders).

    Repeat 0 uses ``seed`` itself, so ``repeats=1`` is the run without
    repeats. Repeat ``r >= 1`` uses the first 32-bit word of
    ``numpy.random.SeedSequence([seed, r])``: distinct, reproducible and
    unrelated to the seeds of other runs (seed 0's repeat 1 is not seed 1).

    Parameters
    ----------
    seed : int >= 0
    repeat : int >= 0

    Returns
    -------
    int in [0, 2**32)
    """
    if repeat == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(repeat)]).generate_state(1)[0])


# --------------------------------------------------------------------------- cells


def _fingerprint(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _read_cell(path: Path, fingerprint: str) -> dict | None:
    """The cell's content if the file is complete and made with the same inputs, else None."""
    try:
        cell = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(cell, dict) or cell.get("version") != _CELL_VERSION:
        return None
    if cell.get("fingerprint") != fingerprint or not isinstance(cell.get("scores"), dict):
        return None
    return cell


def _write_cell(path: Path, *, fingerprint: str, method: Method, key: Sequence[str], n_train: int,
                n_train_windows: int, scores: pd.Series, seconds: float) -> dict:
    cell = {
        "version": _CELL_VERSION,
        "fingerprint": fingerprint,
        "method": dataclasses.asdict(method),
        "group": dict(zip(GROUP_COLUMNS, key)),
        "n_train": int(n_train),
        "n_train_windows": int(n_train_windows),
        "seconds": round(float(seconds), 3),
        # repr-exact floats: json round-trips a Python float bit for bit
        "scores": {str(k): float(v) for k, v in scores.sort_index().items()},
    }
    atomic_write_text(path, json.dumps(cell, indent=1, sort_keys=True))
    return cell


# --------------------------------------------------------------------------- the grid


class _Log:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(message, file=sys.stderr, flush=True)


def _as_tuple(value, name: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    value = tuple(value)
    if name != "layers" and not all(isinstance(v, str) and v for v in value):
        raise ParameterError(f"{name} must be names (strings), got {value!r}")
    return value


def run_grid(
    data,
    *,
    backbones: Sequence[str] = ("efficientnet_lite0",),
    weights: Sequence[str] = ("imagenet", "random"),
    layers: Sequence[str | None] = (None,),
    detectors: Sequence[str] = ("gmm", "ocsvm"),
    baselines: Sequence[str] = BASELINES,
    split: str = "auto",
    train_fraction: float = 0.5,
    seed: int = 0,
    repeats: int = 1,
    n_boot: int = 1000,
    out: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    channel: int | str = 0,
    image_size: int | None = None,
    mel=None,
    window=None,
    image=None,
    detector_params: Mapping[str, Mapping[str, Any]] | None = None,
    baseline_params: Mapping[str, Mapping[str, Any]] | None = None,
    figures: bool = True,
    progress: bool = True,
    verify_cache: bool = False,
    executor=None,
    front_end: str = "auto",
) -> pd.DataFrame:
    """Run every method on every (snr, machine, model_id) group and write the results.

    Parameters
    ----------
    data : str, os.PathLike, DataSource or pd.DataFrame
        The clips: a directory in MIMII's layout, ``"auto"``, a DataSource or
        a clips table (see :func:`load_clips`).
    backbones : sequence of str, default=("efficientnet_lite0",)
        Backbone names (:data:`soundad.backbones.BACKBONES`).
    weights : sequence of {"imagenet", "random"}, default=("imagenet", "random")
        Weights of each backbone; ``"random"`` is the untrained control.
    layers : sequence of str or None, default=(None,)
        Feature layers; ``None`` is the backbone's default (penultimate) layer.
    detectors : sequence of str, default=("gmm", "ocsvm")
        Detector names (:data:`soundad.detectors.DETECTORS`).
    baselines : sequence of {"conv_ae", "dense_ae"}, default=BASELINES
        Autoencoder baselines; ``()`` for none.
    split : {"auto", "mimii", "random", "given"}, default="auto"
        Train/test rule, see :func:`choose_split` (DCASE layouts: ``"given"``,
        the folders' split; their DCASE scores go to ``dcase_scores.csv`` and
        ``dcase_summary.csv``, see :mod:`soundad.dcase_scores`). The rule used is printed
        and written to the ``split`` column.
    train_fraction : float in (0, 1), default=0.5
        Random split: share of normal clips used for training.
    seed : int, default=0
        The one seed of the run: split, detectors, autoencoders. Same seed,
        same data, same settings → identical ``results.csv``.
    repeats : int >= 1, default=1
        Repeated splits: each group is split ``repeats`` times, repeat ``r``
        with seed :func:`repeat_seed` ``(seed, r)`` (repeat 0 uses ``seed``),
        which also seeds that repeat's detectors and autoencoders. Features
        are extracted once; only detectors and autoencoders rerun. With
        ``split="mimii"`` every repeat has the same split and only the seeds
        differ. Rows of results.csv and scores.csv carry ``repeat`` (0..K-1).
    n_boot : int >= 0, default=1000
        Bootstrap resamples of the intervals in results.csv and summary.md
        (seeded by ``seed``); 0 leaves the interval columns empty.
    out : str or os.PathLike
        Output directory; reusing it resumes (finished cells are skipped).
    cache_dir : str, os.PathLike or None, default=None
        Feature cache directory passed to :func:`soundad.extract.extract_features`;
        None: ``out/feature-cache``.
    device : {"auto", "cpu", "cuda", "mps"}, default="auto"
        Torch device for feature extraction and the autoencoders.
    batch_size : int or None, default=None
        Windows per forward pass.
    channel : int or "mean", default=0
        Microphone channel of multi-channel WAVs.
    image_size : int or None [px]
        Shortcut for ``image=ImageConfig(size=image_size)``.
    mel, window, image : MelConfig, WindowConfig, ImageConfig or None
        Feature settings (None: the defaults of :mod:`soundad.features`).
    detector_params : mapping of str to mapping, optional
        Extra parameters per detector name, passed to :func:`soundad.detectors.make_detector`.
    baseline_params : mapping of str to mapping, optional
        Extra constructor parameters per baseline name (e.g. ``{"conv_ae": {"max_epochs": 8}}``).
        With many repeats on a CPU the autoencoders dominate the run time: on the
        40-clip sample, 10 repeats took 378 s with the conv AE's default 20 epochs
        and 106 s with ``max_epochs=8`` (2 shared cores; ``--ae-epochs 8``).
    figures : bool, default=True
        Also draw the figures into ``out/figures``.
    progress : bool, default=True
        Progress lines on stderr and progress bars.
    verify_cache : bool, default=False
        Rehash every audio file instead of trusting the fingerprints the
        feature cache memoises by (device, inode, size, mtime_ns); see
        :mod:`soundad.fingerprints`.
    front_end : {"auto", "librosa", "torch"}, default="auto"
        Mel front end of feature extraction (see
        :func:`soundad.extract.extract_features`).
    executor : concurrent.futures.Executor or None, default=None
        Where cells run. ``None``: one after another in this process. Any
        executor (``ProcessPoolExecutor``, Dask's ``Client.get_executor()``,
        ...): each cell is submitted as an independent task. Features are
        extracted here first, into the feature cache; each task reads its
        group's features back from that cache and writes its cell file, so
        workers need the same file system view of ``data``, ``cache_dir`` and
        ``out``. Same seed, same ``results.csv`` either way.

    Returns
    -------
    results : pd.DataFrame
        The table written to ``out/results.csv`` (see the module docstring).
        ``results.attrs`` holds ``split_rule``, ``computed_cells`` and
        ``reused_cells`` (lists of ``"<method>:<snr>/<machine>/<id>"``).

    Raises
    ------
    DataError
        Empty or malformed data directory, or no group that can be evaluated.
    ParameterError
        Unknown backbone, weights, detector or baseline, or a bad setting.
    """
    log = _Log(progress)
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ParameterError(f"repeats={repeats!r}; expected an integer >= 1")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError(f"n_boot={n_boot!r}; expected an integer >= 0")
    repeats, n_boot = int(repeats), int(n_boot)
    out = Path(out)
    clips, data_name = load_clips(data)  # data errors first: they need no torch
    cache_dir = Path(cache_dir) if cache_dir is not None else out / "feature-cache"
    backbones = _as_tuple(backbones, "backbones")
    weights = _as_tuple(weights, "weights")
    layers = _as_tuple(layers, "layers") or (None,)
    detectors = _as_tuple(detectors, "detectors")
    baselines = _as_tuple(baselines, "baselines")
    detector_params = {k: dict(v) for k, v in (detector_params or {}).items()}
    baseline_params = {k: dict(v) for k, v in (baseline_params or {}).items()}
    _check_names(backbones=backbones, weights=weights, detectors=detectors, baselines=baselines)
    if not (backbones and weights and detectors) and not baselines:
        raise ParameterError("nothing to run: give at least one backbone, weights and detector, or a baseline")
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise ParameterError(f"executor must be a concurrent.futures.Executor or None, got {type(executor).__name__}")

    from soundad import features as feature_stage

    mel = mel if mel is not None else feature_stage.MelConfig()
    window = window if window is not None else feature_stage.WindowConfig()
    image = image if image is not None else feature_stage.ImageConfig()
    if image_size is not None:
        image = dataclasses.replace(image, size=int(image_size))

    splits = [choose_split(clips, split=split, train_fraction=train_fraction, seed=repeat_seed(seed, r))
              for r in range(repeats)]
    rule = splits[0][1]
    groups = {
        (r, tuple(str(k) for k in key)): group.sort_values("clip_id", kind="stable")
        for r, (table, _) in enumerate(splits)
        for key, group in table.groupby(list(GROUP_COLUMNS), sort=True)
    }
    status = {unit: group_status(group) for unit, group in groups.items()}
    usable = [unit for unit, s in status.items() if s == "ok"]
    first = splits[0][0]
    n_train_all = first[train_normal_mask(first)].shape[0]
    log(
        f"[reproduce] data {data_name!r}: {len(clips)} clips in {len(groups) // repeats} groups; "
        f"split={rule!r}" + (" (chosen by split='auto')" if split == "auto" else "")
        + f": {n_train_all} normal training clips" + (f"; {repeats} repeated splits" if repeats > 1 else "")
    )
    for message in dict.fromkeys(f"group {_unit_name(u)}: {s}" for u, s in status.items() if s != "ok"):
        warnings.warn(message, UserWarning, stacklevel=2)
        log(f"[reproduce] {message}")
    if not usable:
        raise DataError(
            f"no group of {data_name!r} can be evaluated: each group needs normal training clips and "
            "both normal and abnormal test clips; " + "; ".join(f"{_unit_name(u)}: {s}" for u, s in status.items())
        )

    settings = {
        "mel": dataclasses.asdict(mel), "window": dataclasses.asdict(window),
        "image": dataclasses.asdict(image), "channel": channel, "seed": int(seed),
    }
    group_inputs = {
        unit: groups[unit][["clip_id", "label", "split"]].to_numpy().tolist() for unit in usable
    }
    computed: list[str] = []
    reused: list[str] = []

    def fingerprint(method: Method, unit, params) -> str:
        payload = {"method": dataclasses.asdict(method), "clips": group_inputs[unit],
                   "settings": settings, "params": params}
        if unit[0]:  # repeat 0 keeps the fingerprint of a run without repeats
            payload["repeat"] = [unit[0], repeat_seed(seed, unit[0])]
        return _fingerprint(payload)

    def finish(method, unit, fp, result, t0) -> None:
        scores, n_train, n_windows = result
        _write_cell(_cell_path(out, method, unit), fingerprint=fp, method=method, key=unit[1],
                    n_train=n_train, n_train_windows=n_windows, scores=scores,
                    seconds=time.perf_counter() - t0)
        computed.append(f"{method.label}:{_unit_name(unit)}")
        log(f"[reproduce] computed {method.label} on {_unit_name(unit)} ({time.perf_counter() - t0:.1f} s)")

    tasks: list = []  # (method, unit, future) with an executor

    # transfer-learning methods: features once per (backbone, weights, layer), for every repeat
    for backbone in backbones:
        for weight in weights:
            for layer in layers:
                methods = [Method(backbone, weight, layer or "default", d) for d in detectors]
                todo = {}
                for unit in usable:
                    for method in methods:
                        fp = fingerprint(method, unit, detector_params.get(method.detector, {}))
                        if _read_cell(_cell_path(out, method, unit), fp) is None:
                            todo.setdefault(unit, []).append((method, fp))
                        else:
                            reused.append(f"{method.label}:{_unit_name(unit)}")
                if not todo:
                    log(f"[reproduce] {backbone}/{weight}/{layer or 'default'}: all cells done, reusing")
                    continue
                needed = pd.concat([groups[unit] for unit in todo], ignore_index=True).drop_duplicates("clip_id")
                log(f"[reproduce] {backbone}/{weight}/{layer or 'default'}: features of {len(needed)} clips")
                feats = _extract(needed, backbone=backbone, weights=weight, layer=layer, mel=mel,
                                 window=window, image=image, channel=channel, device=device,
                                 batch_size=batch_size, cache_dir=cache_dir, seed=seed, progress=progress,
                                 verify_cache=verify_cache, front_end=front_end)
                if executor is not None:  # tasks read the features back from the cache just filled
                    for unit, pending in todo.items():
                        for method, fp in pending:
                            tasks.append((method, unit, executor.submit(
                                detector_cell, method, groups[unit], _cell_path(out, method, unit), fp,
                                cache_dir=cache_dir, settings=feats.settings, seed=repeat_seed(seed, unit[0]),
                                params=detector_params.get(method.detector, {}))))
                    continue
                rows_of = pd.Series(np.arange(len(feats.clip_ids))).groupby(np.asarray(feats.clip_ids)).apply(np.asarray)
                for unit, pending in todo.items():
                    for method, fp in pending:
                        t0 = time.perf_counter()
                        result = _run_detector(feats.features, rows_of, groups[unit], method.detector,
                                               seed=repeat_seed(seed, unit[0]),
                                               params=detector_params.get(method.detector, {}))
                        finish(method, unit, fp, result, t0)

    # autoencoder baselines: inputs once per group, a model per repeat
    keys = list(dict.fromkeys(unit[1] for unit in usable))
    for key in keys if baselines else ():
        pending = []
        for unit in (u for u in usable if u[1] == key):
            for name in baselines:
                method = Method.baseline(name)
                fp = fingerprint(method, unit, baseline_params.get(name, {}))
                if _read_cell(_cell_path(out, method, unit), fp) is None:
                    pending.append((method, unit, fp))
                else:
                    reused.append(f"{method.label}:{_unit_name(unit)}")
        if not pending:
            continue
        if executor is not None:
            for method, unit, fp in pending:
                tasks.append((method, unit, executor.submit(
                    baseline_cell, method, groups[unit], _cell_path(out, method, unit), fp, mel=mel,
                    window=window, channel=channel, seed=repeat_seed(seed, unit[0]), device=device,
                    params=baseline_params.get(method.backbone, {}))))
            continue
        from soundad.autoencoders import baseline_inputs

        inputs = baseline_inputs(groups[pending[0][1]], sorted({m.backbone for m, _, _ in pending}), mel=mel,
                                  window=window, channel=channel)
        for method, unit, fp in pending:
            t0 = time.perf_counter()
            result = _run_baseline(method.backbone, inputs[method.backbone], groups[unit],
                                   seed=repeat_seed(seed, unit[0]), device=device,
                                   params=baseline_params.get(method.backbone, {}), progress=progress)
            finish(method, unit, fp, result, t0)

    for method, unit, future in tasks:  # in submission order: the same log on every executor
        seconds = future.result()  # re-raises a task's error
        computed.append(f"{method.label}:{_unit_name(unit)}")
        log(f"[reproduce] computed {method.label} on {_unit_name(unit)} ({seconds:.1f} s, as a task)")
    log(f"[reproduce] {len(computed)} cells computed, {len(reused)} reused from {out / 'cells'}")

    # assemble
    all_methods = [Method(b, w, layer or "default", d) for b in backbones for w in weights for layer in layers
                   for d in detectors] + [Method.baseline(name) for name in baselines]
    scores_table, cells = _collect(out, all_methods, usable, groups, fingerprint, detector_params,
                                   baseline_params, data_name=data_name, seed=seed)
    results = _evaluate(scores_table, cells, all_methods, status, groups, data_name=data_name, seed=seed,
                        rule=rule, n_boot=n_boot)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(results, out / "results.csv")
    _write_csv(scores_table, out / "scores.csv")
    from soundad.dcase_scores import write_dcase_tables  # DCASE layouts (issue 15): official scores

    dcase_summary = write_dcase_tables(scores_table, clips, out)
    notes = [f"split: {rule}" + (f" (train_fraction={train_fraction})" if rule == "random" else ""),
             f"seed: {seed}"]
    if repeats > 1:
        notes.append(f"repeats: {repeats} splits (seeds derived from {seed} by soundad.reproduce.repeat_seed)")
    write_summary(results, out / "summary.md", title=f"soundad reproduction on {data_name}", notes=notes,
                  scores=scores_table, n_boot=n_boot, seed=seed)
    if figures:
        draw_figures(results, scores_table, out / "figures", data_name=data_name, n_boot=n_boot, seed=seed)
    results.attrs.update(split_rule=rule, computed_cells=computed, reused_cells=reused)
    if dcase_summary is not None:
        results.attrs["dcase_summary"] = str(out / "dcase_summary.csv")
    return results


def _check_names(*, backbones, weights, detectors, baselines) -> None:
    bad_weights = [w for w in weights if w not in ("imagenet", "random")]
    if bad_weights:
        raise ParameterError(f"weights {bad_weights} unknown; expected 'imagenet' and/or 'random'")
    bad_baselines = [b for b in baselines if b not in BASELINES]
    if bad_baselines:
        raise ParameterError(f"baselines {bad_baselines} unknown; expected some of {', '.join(BASELINES)}")
    if detectors:
        from soundad.detectors import DETECTORS

        bad = [d for d in detectors if d not in DETECTORS]
        if bad:
            raise ParameterError(f"detectors {bad} unknown; expected some of {', '.join(DETECTORS)}")
    if backbones:
        from soundad.backbones import BACKBONES

        bad = [b for b in backbones if b not in BACKBONES]
        if bad:
            raise ParameterError(f"backbones {bad} unknown; expected some of {', '.join(BACKBONES)}")


def _extract(clips, *, backbone, weights, layer, mel, window, image, channel, device, batch_size, cache_dir,
             seed, progress, verify_cache=False, front_end="auto"):
    from soundad.extract import extract_features

    return extract_features(
        clips, backbone=backbone, weights=weights, layer=layer, mel=mel, window=window, image=image,
        channel=channel, device=device, batch_size=batch_size, cache_dir=cache_dir, seed=seed, progress=progress,
        verify_cache=verify_cache, front_end=front_end,
    )


def detector_cell(method: Method, group: pd.DataFrame, path: Path, fingerprint: str, *, cache_dir,
                  settings: Mapping[str, Any], seed: int, params: Mapping[str, Any]) -> float:
    """One transfer-learning cell as an independent task (see ``run_grid(executor=...)``).

    The group's features are read from the feature cache (``settings``: the
    cache settings of the extraction the grid ran); no model is loaded, so
    the task needs neither a GPU nor the weights. The cell is written
    atomically to ``path``. Returns its run time [s].
    """
    t0 = time.perf_counter()
    features, rows_of = _cached_features(group, cache_dir=cache_dir, settings=settings)
    scores, n_train, n_windows = _run_detector(features, rows_of, group, method.detector, seed=seed,
                                               params=params)
    seconds = time.perf_counter() - t0
    _write_cell(path, fingerprint=fingerprint, method=method, key=group_key(group), n_train=n_train,
                n_train_windows=n_windows, scores=scores, seconds=seconds)
    return seconds


def baseline_cell(method: Method, group: pd.DataFrame, path: Path, fingerprint: str, *, mel, window, channel,
                  seed: int, device: str, params: Mapping[str, Any]) -> float:
    """One autoencoder-baseline cell as an independent task; returns its run time [s]."""
    from soundad.autoencoders import baseline_inputs

    t0 = time.perf_counter()
    inputs = baseline_inputs(group, [method.backbone], mel=mel, window=window, channel=channel)
    scores, n_train, n_windows = _run_baseline(method.backbone, inputs[method.backbone], group, seed=seed,
                                               device=device, params=params, progress=False)
    seconds = time.perf_counter() - t0
    _write_cell(path, fingerprint=fingerprint, method=method, key=group_key(group), n_train=n_train,
                n_train_windows=n_windows, scores=scores, seconds=seconds)
    return seconds


def _cached_features(group: pd.DataFrame, *, cache_dir, settings: Mapping[str, Any]) -> tuple[np.ndarray, pd.Series]:
    """The group's window features from the feature cache, and each clip's rows."""
    from soundad.cache import FeatureCache
    from soundad.fingerprints import FingerprintIndex

    cache = FeatureCache(cache_dir, settings)
    index = FingerprintIndex(cache_dir)
    arrays, rows, start = [], {}, 0
    for clip_id, clip_path in zip(group["clip_id"], group["path"]):
        array = cache.load(index.fingerprint(clip_path))
        if array is None:
            raise DataError(f"the features of {str(clip_path)!r} are not in the feature cache {str(cache_dir)!r}; "
                            "every worker must see the same cache directory (a shared file system)")
        arrays.append(array)
        rows[clip_id] = np.arange(start, start + len(array))
        start += len(array)
    return np.concatenate(arrays), pd.Series(rows)


def _run_detector(features: np.ndarray, rows_of: pd.Series, group: pd.DataFrame, name: str, *, seed: int,
                  params: Mapping[str, Any]) -> tuple[pd.Series, int, int]:
    """Fit detector ``name`` on the group's normal training windows; clip scores of its test clips."""
    from soundad.detectors import anomaly_scores, clip_scores, make_detector

    train_ids = group.loc[train_normal_mask(group), "clip_id"]
    test_ids = group.loc[evaluation_mask(group), "clip_id"]
    train_rows = np.concatenate([rows_of[c] for c in train_ids])
    test_rows = np.concatenate([rows_of[c] for c in test_ids])
    detector = make_detector(name, seed=seed, **params).fit(features[train_rows])
    window_scores = anomaly_scores(detector, features[test_rows])
    test_clip_of_row = np.concatenate([[c] * len(rows_of[c]) for c in test_ids])
    return clip_scores(window_scores, test_clip_of_row, how="mean"), len(train_ids), len(train_rows)


def _run_baseline(name: str, inputs: Mapping[str, np.ndarray], group: pd.DataFrame, *, seed: int, device: str,
                  params: Mapping[str, Any], progress: bool) -> tuple[pd.Series, int, int]:
    from soundad import autoencoders
    from soundad.detectors import anomaly_scores, clip_scores

    cls = autoencoders.ConvAutoencoderDetector if name == "conv_ae" else autoencoders.DenseAutoencoderDetector
    kwargs = _accepted(cls, {"seed": seed, "random_state": seed, "device": device, "progress": progress})
    kwargs.update(params)
    train_ids = list(group.loc[train_normal_mask(group), "clip_id"])
    test_ids = list(group.loc[evaluation_mask(group), "clip_id"])
    X_train = np.concatenate([inputs[c] for c in train_ids])
    X_test = np.concatenate([inputs[c] for c in test_ids])
    test_clip_of_row = np.concatenate([[c] * len(inputs[c]) for c in test_ids])
    detector = cls(**kwargs).fit(X_train)
    return clip_scores(anomaly_scores(detector, X_test), test_clip_of_row, how="mean"), len(train_ids), len(X_train)


def _accepted(cls, candidates: Mapping[str, Any]) -> dict:
    """The subset of ``candidates`` that ``cls.__init__`` takes."""
    import inspect

    names = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in candidates.items() if k in names}


# --------------------------------------------------------------------------- assembling


def _collect(out, methods, usable, groups, fingerprint, detector_params, baseline_params, *, data_name, seed):
    """Read every cell of this configuration back into one per-clip scores table."""
    frames = []
    cells = {}
    for method in methods:
        params = baseline_params.get(method.backbone, {}) if method.is_baseline else detector_params.get(
            method.detector, {})
        for unit in usable:
            cell = _read_cell(_cell_path(out, method, unit), fingerprint(method, unit, params))
            if cell is None:  # pragma: no cover - every cell was just written or checked
                raise DataError(f"cell {_cell_path(out, method, unit)} is missing or stale after the run")
            cells[(method, unit)] = cell
            group = groups[unit].set_index("clip_id")
            ids = list(cell["scores"])
            key = unit[1]
            frames.append(pd.DataFrame({
                "data": data_name, "seed": int(seed), "repeat": int(unit[0]),
                "snr": key[0], "machine": key[1], "model_id": key[2],
                "clip_id": ids, "label": group.loc[ids, "label"].to_numpy(),
                "method": method.label, "backbone": method.backbone, "weights": method.weights,
                "layer": method.layer, "detector": method.detector,
                "score": np.array([cell["scores"][c] for c in ids], dtype=np.float64),
            }))
    scores = pd.concat(frames, ignore_index=True)
    return scores, cells


def _evaluate(scores, cells, methods, status, groups, *, data_name, seed, rule, n_boot) -> pd.DataFrame:
    from soundad.evaluate import evaluate_scores

    evaluated = evaluate_scores(
        scores[["clip_id", "repeat", "snr", "machine", "model_id", "label", "score", *_METHOD_COLUMNS]],
        n_boot=n_boot, seed=seed,
    )
    extra = pd.DataFrame([
        {"method": m.label, "repeat": r, "snr": k[0], "machine": k[1], "model_id": k[2],
         "n_train": c["n_train"], "n_train_windows": c["n_train_windows"]}
        for (m, (r, k)), c in cells.items()
    ])
    results = evaluated.merge(extra, on=["method", "repeat", "snr", "machine", "model_id"], how="left")
    results["status"] = "ok"
    skipped = []
    for (r, key), s in status.items():
        if s == "ok":
            continue
        group = groups[(r, key)]
        test = group[evaluation_mask(group)]
        for m in methods:
            skipped.append({
                "method": m.label, "backbone": m.backbone, "weights": m.weights, "layer": m.layer,
                "detector": m.detector, "repeat": r, "snr": key[0], "machine": key[1], "model_id": key[2],
                "auc": math.nan, "auc_lo": math.nan, "auc_hi": math.nan,
                "pauc": math.nan, "pauc_lo": math.nan, "pauc_hi": math.nan,
                "n_train": int((train_normal_mask(group)).sum()),
                "n_train_windows": 0, "n_test": len(test),
                "n_normal_test": int((test["label"] == "normal").sum()),
                "n_abnormal_test": int((test["label"] == "abnormal").sum()), "status": s,
            })
    if skipped:
        results = pd.concat([results, pd.DataFrame(skipped)], ignore_index=True)
    results = results.rename(columns={"model_id": "id"})
    results["data"] = data_name
    results["seed"] = int(seed)
    results["split"] = rule
    order = {m.label: i for i, m in enumerate(methods)}
    results["_order"] = results["method"].map(order)
    results = results.sort_values(["snr", "machine", "id", "repeat", "_order"], kind="stable").drop(columns="_order")
    results["repeat"] = results["repeat"].astype(int)
    for column in ("n_train", "n_train_windows", "n_test", "n_normal_test", "n_abnormal_test"):
        results[column] = results[column].astype(int)
    columns = _RESULT_COLUMNS + [c for c in results.columns if c not in _RESULT_COLUMNS]
    return results[columns].reset_index(drop=True)


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.17g")
