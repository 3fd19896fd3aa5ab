"""run_grid: the reproduction grid as a short pipeline of named steps (see :mod:`soundad.reproduce`).

1. check the arguments and load the clips (data errors first: they need no torch);
2. :func:`~soundad.reproduce.plan.make_plan`: which backbone configs, detectors and baselines;
3. :func:`~soundad.reproduce.plan.split_groups`: every group of every repeated split;
4. :class:`GridRun`: for each backbone config the features once (feature cache), then each
   missing detector cell; then each missing baseline cell; serially or on an executor;
5. :func:`write_outputs`: results.csv, scores.csv, summary.md, figures and DCASE tables.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from soundad.data.groups import train_normal_mask
from soundad.data.selection import load_clips
from soundad.errors import DataError, ParameterError
from soundad.params import check_int
from soundad.report import draw_figures, write_summary

from .cells import CellStore, cell_fingerprint
from .plan import GridGroups, GridPlan, Method, Unit, make_plan, repeat_seed, split_groups
from .tables import collect_scores, results_table, write_csv
from .tasks import baseline_cell, detector_cell, rows_by_clip, run_baseline, run_detector

__all__ = ["GridRun", "run_grid", "write_outputs"]


class ProgressLog:
    """``[reproduce] ...`` lines on stderr, when enabled."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(message, file=sys.stderr, flush=True)


def announce_groups(grid: GridGroups, *, data_name: str, n_clips: int, split: str, repeats: int,
                    log: ProgressLog) -> None:
    """Say how the data was split; warn about each group that cannot be evaluated; fail if none can."""
    n_train = int(train_normal_mask(grid.first).sum())
    log(
        f"[reproduce] data {data_name!r}: {n_clips} clips in {len(grid.groups) // repeats} groups; "
        f"split={grid.rule!r}" + (" (chosen by split='auto')" if split == "auto" else "")
        + f": {n_train} normal training clips" + (f"; {repeats} repeated splits" if repeats > 1 else "")
    )
    for message in dict.fromkeys(f"group {u.name}: {s}" for u, s in grid.status.items() if s != "ok"):
        warnings.warn(message, UserWarning, stacklevel=3)
        log(f"[reproduce] {message}")
    if not grid.usable:
        raise DataError(
            f"no group of {data_name!r} can be evaluated: each group needs normal training clips and "
            "both normal and abnormal test clips; " + "; ".join(f"{u.name}: {s}" for u, s in grid.status.items())
        )


class GridRun:
    """One run of the grid: which cells exist, computing the missing ones, and what was done.

    Parameters
    ----------
    plan : GridPlan
    grid : GridGroups
    out : Path
        Output directory (cells under ``out/cells``).
    cache_dir : Path
        Feature cache.
    executor : concurrent.futures.Executor or None
        Where cells run (None: here, one after another).
    progress, verify_cache : bool
        As in :func:`run_grid`.

    Attributes
    ----------
    computed, reused : list of str
        ``"<method>:<unit name>"`` of each cell computed or found done.
    """

    def __init__(self, plan: GridPlan, grid: GridGroups, *, out: Path, cache_dir: Path, executor, progress: bool,
                 verify_cache: bool):
        self.plan, self.grid, self.store = plan, grid, CellStore(out)
        self.cache_dir, self.executor, self.verify_cache = cache_dir, executor, verify_cache
        self.progress, self.log = progress, ProgressLog(progress)
        self.computed: list[str] = []
        self.reused: list[str] = []
        self.tasks: list = []  # (method, unit, future) on an executor
        models = {m: model for model in plan.models for m in plan.transfer_methods(model)}
        self.fingerprints = {
            (m, u): cell_fingerprint(m, u, grid.groups[u], settings=plan.settings, params=plan.params(m),
                                     model=models.get(m))
            for m in plan.methods for u in grid.usable
        }

    def missing(self, methods: Sequence[Method], units: Sequence[Unit]) -> dict[Unit, list[Method]]:
        """The cells without a valid file, per unit; the others are recorded as reused."""
        todo: dict[Unit, list[Method]] = {}
        for unit in units:
            for method in methods:
                if self.store.read(method, unit, self.fingerprints[(method, unit)]) is None:
                    todo.setdefault(unit, []).append(method)
                else:
                    self.reused.append(f"{method.label}:{unit.name}")
        return todo

    def record(self, method: Method, unit: Unit, result, t0: float) -> None:
        """Write a cell computed here and log it."""
        scores, n_train, n_windows = result
        self.store.write(method, unit, self.fingerprints[(method, unit)], scores=scores, n_train=n_train,
                         n_train_windows=n_windows, seconds=time.perf_counter() - t0)
        self.computed.append(f"{method.label}:{unit.name}")
        self.log(f"[reproduce] computed {method.label} on {unit.name} ({time.perf_counter() - t0:.1f} s)")

    def run_model(self, model) -> None:
        """Features of one backbone config once (every repeat), then each missing detector cell."""
        from soundad.extract import extract_features

        plan, groups = self.plan, self.grid.groups
        todo = self.missing(plan.transfer_methods(model), self.grid.usable)
        name = f"{model.name}/{model.weights}/{model.layer or 'default'}"
        if not todo:
            self.log(f"[reproduce] {name}: all cells done, reusing")
            return
        needed = pd.concat([groups[unit] for unit in todo], ignore_index=True).drop_duplicates("clip_id")
        self.log(f"[reproduce] {name}: features of {len(needed)} clips")
        feats = extract_features(needed, config=model, mel=plan.mel, window=plan.window, image=plan.image,
                                 channel=plan.channel, cache_dir=self.cache_dir, seed=plan.seed,
                                 progress=self.progress, verify_cache=self.verify_cache)
        rows_of = rows_by_clip(feats.clip_ids) if self.executor is None else None
        for unit, methods in todo.items():
            for method in methods:
                seed, params = repeat_seed(plan.seed, unit.repeat), plan.params(method)
                if self.executor is not None:  # tasks read the features back from the cache just filled
                    self.submit(method, unit, detector_cell, cache_dir=self.cache_dir, settings=feats.settings,
                                seed=seed, params=params)
                    continue
                t0 = time.perf_counter()
                self.record(method, unit, run_detector(feats.features, rows_of, groups[unit], method.detector,
                                                       seed=seed, params=params), t0)

    def run_baselines(self) -> None:
        """Each missing baseline cell: inputs once per group, a model per repeat."""
        plan = self.plan
        methods = [Method.baseline(name) for name in plan.baselines]
        for key in self.grid.keys if methods else ():
            todo = self.missing(methods, [u for u in self.grid.usable if u.key == key])
            if not todo:
                continue
            if self.executor is not None:
                for unit, pending in todo.items():
                    for method in pending:
                        self.submit(method, unit, baseline_cell, mel=plan.mel, window=plan.window,
                                    channel=plan.channel, seed=repeat_seed(plan.seed, unit.repeat),
                                    device=plan.device, params=plan.params(method))
                continue
            from soundad.autoencoders import baseline_inputs

            names = sorted({m.backbone for pending in todo.values() for m in pending})
            inputs = baseline_inputs(self.grid.groups[next(iter(todo))], names, mel=plan.mel, window=plan.window,
                                     channel=plan.channel)
            for unit, pending in todo.items():
                for method in pending:
                    t0 = time.perf_counter()
                    result = run_baseline(method.backbone, inputs[method.backbone], self.grid.groups[unit],
                                          seed=repeat_seed(plan.seed, unit.repeat), device=plan.device,
                                          params=plan.params(method), progress=self.progress)
                    self.record(method, unit, result, t0)

    def submit(self, method: Method, unit: Unit, task, **kwargs) -> None:
        future = self.executor.submit(task, method, unit, self.grid.groups[unit], store=self.store,
                                      fingerprint=self.fingerprints[(method, unit)], **kwargs)
        self.tasks.append((method, unit, future))

    def wait(self) -> None:
        """Wait for the executor's tasks, in submission order (the same log on every executor)."""
        for method, unit, future in self.tasks:
            seconds = future.result()  # re-raises a task's error
            self.computed.append(f"{method.label}:{unit.name}")
            self.log(f"[reproduce] computed {method.label} on {unit.name} ({seconds:.1f} s, as a task)")
        self.log(f"[reproduce] {len(self.computed)} cells computed, {len(self.reused)} reused from {self.store.root}")


def write_outputs(run: GridRun, clips: pd.DataFrame, out: Path, *, data_name: str, n_boot: int,
                  notes: Sequence[str], figures: bool) -> pd.DataFrame:
    """Assemble the cells into results.csv and scores.csv; write summary.md, figures and DCASE tables.

    Returns results.csv's table with ``attrs`` ``split_rule``, ``computed_cells``,
    ``reused_cells``, ``overall`` (:func:`soundad.report.interval_table`'s rows: each
    method's mean AUC/pAUC with intervals, from the same resamples as summary.md) and,
    for DCASE layouts, ``dcase_summary``.
    """
    from soundad.dcase_scores import write_dcase_tables  # DCASE layouts: their official scores
    from soundad.report import interval_table
    from soundad.uncertainty import unit_bootstraps

    plan, methods = run.plan, run.plan.methods
    scores, cells = collect_scores(run.store, run.fingerprints, run.grid, methods=methods, data_name=data_name,
                                   seed=plan.seed)
    results = results_table(scores, cells, run.grid, methods=methods, data_name=data_name, seed=plan.seed,
                            n_boot=n_boot)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "results.csv")
    write_csv(scores, out / "scores.csv")
    dcase_summary = write_dcase_tables(scores, clips, out)
    # the clip resamples of summary.md's tables and the heatmap, drawn once
    boots = unit_bootstraps(scores, n_boot=n_boot, seed=plan.seed) if n_boot else None
    write_summary(results, out / "summary.md", title=f"soundad reproduction on {data_name}", notes=notes,
                  scores=scores, n_boot=n_boot, seed=plan.seed, bootstraps=boots)
    if figures:
        draw_figures(results, scores, out / "figures", data_name=data_name, n_boot=n_boot, seed=plan.seed,
                     bootstraps=boots)
    overall = interval_table(results, scores, n_boot=n_boot, seed=plan.seed, bootstraps=boots)
    results.attrs.update(split_rule=run.grid.rule, computed_cells=run.computed, reused_cells=run.reused,
                         overall=overall.to_dict("records"))
    if dcase_summary is not None:
        results.attrs["dcase_summary"] = str(out / "dcase_summary.csv")
    return results


def run_notes(*, rule: str, train_fraction: float, seed: int, repeats: int) -> list[str]:
    """The lines under summary.md's title: split rule, seed, repeats."""
    notes = [f"split: {rule}" + (f" (train_fraction={train_fraction})" if rule == "random" else ""),
             f"seed: {seed}"]
    if repeats > 1:
        notes.append(f"repeats: {repeats} splits (seeds derived from {seed} by soundad.reproduce.repeat_seed)")
    return notes


def run_grid(
    data, *, models: Sequence[Any] | None = None, backbones: Sequence[str] | None = None,
    weights: Sequence[str] | None = None, layers: Sequence[str | None] | None = None,
    detectors: Sequence[str] = ("gmm", "ocsvm"), baselines: Sequence[str] | None = None, split: str = "auto",
    train_fraction: float = 0.5, seed: int = 0, repeats: int = 1, n_boot: int = 1000, out: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None, device: str = "auto", batch_size: int | None = None,
    channel: int | str = 0, image_size: int | None = None, mel=None, window=None, image=None,
    detector_params: Mapping[str, Mapping[str, Any]] | None = None,
    baseline_params: Mapping[str, Mapping[str, Any]] | None = None, figures: bool = True, progress: bool = True,
    verify_cache: bool = False, executor=None, front_end: str = "auto",
) -> pd.DataFrame:
    """Run every method on every (snr, machine, model_id) group and write the results.

    The outputs, cells and repeats are described in :mod:`soundad.reproduce`.

    Parameters
    ----------
    data : "auto", str, os.PathLike, DataSource or pd.DataFrame
        The clips (:func:`soundad.data.load_clips`).
    models : sequence of BackboneConfig or None, default=None
        The backbones, each with its weights, layer and execution options
        (:class:`soundad.backbones.BackboneConfig`). When given it replaces
        ``backbones``, ``weights``, ``layers``, ``batch_size`` and ``front_end``.
    backbones, weights, layers : sequences or None
        The product form of ``models``: every backbone (default
        ``(DEFAULT_BACKBONE,)``) with every weights (default ``("imagenet",
        "random")``) and layer (default ``(None,)``: the penultimate layer).
    detectors : sequence of str, default=("gmm", "ocsvm")
        :data:`soundad.detectors.DETECTORS` names, each run on every model.
    baselines : sequence of str or None, default=None
        Autoencoder baselines; None: all of :data:`soundad.autoencoders.BASELINES`; ``()``: none.
    split, train_fraction : str, float
        Train/test rule and the random rule's training share (:func:`soundad.data.choose_split`).
    seed, repeats, n_boot : int
        The one seed (split, detectors, autoencoders; same seed, same results.csv);
        repeated splits (>= 1, repeat ``r`` seeded by :func:`repeat_seed`);
        bootstrap resamples of the intervals (>= 0; 0: none).
    out, cache_dir : path
        Output directory (reusing it resumes) and feature cache (default ``out/feature-cache``).
    device, batch_size, front_end : str, int or None, str
        Torch device of the autoencoders (and, in the product form, of the backbones);
        product form: windows per forward pass and mel front end.
    channel, image_size, mel, window, image
        Microphone channel and feature settings (:mod:`soundad.features`);
        ``image_size`` is a shortcut for ``ImageConfig(size=...)``.
    detector_params, baseline_params : mapping of str to mapping, optional
        Extra parameters per detector / baseline name, e.g. ``{"conv_ae": {"max_epochs": 8}}``.
    figures, progress, verify_cache : bool
        Draw ``out/figures``; progress on stderr; rehash every audio file.
    executor : concurrent.futures.Executor or None, default=None
        Run each cell as a task there (:mod:`soundad.executors`); workers need the same file system.

    Returns
    -------
    results : pd.DataFrame
        results.csv, with ``attrs`` as :func:`write_outputs` sets them.

    Raises ``DataError`` for empty or malformed data or no group that can be
    evaluated, ``ParameterError`` for an unknown name or a bad setting.
    """
    repeats, n_boot = check_int("repeats", repeats, low=1), check_int("n_boot", n_boot, low=0)
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise ParameterError(f"executor must be a concurrent.futures.Executor or None, got {type(executor).__name__}")
    out = Path(out)
    clips, data_name = load_clips(data)  # data errors first: they need no torch
    plan = make_plan(models=models, backbones=backbones, weights=weights, layers=layers, detectors=detectors,
                     baselines=baselines, device=device, batch_size=batch_size, front_end=front_end, channel=channel,
                     image_size=image_size, mel=mel, window=window, image=image, detector_params=detector_params,
                     baseline_params=baseline_params, seed=seed)
    grid = split_groups(clips, split=split, train_fraction=train_fraction, seed=seed, repeats=repeats)
    announce_groups(grid, data_name=data_name, n_clips=len(clips), split=split, repeats=repeats,
                    log=ProgressLog(progress))
    run = GridRun(plan, grid, out=out, cache_dir=Path(cache_dir) if cache_dir is not None else out / "feature-cache",
                  executor=executor, progress=progress, verify_cache=verify_cache)
    for model in plan.models:
        run.run_model(model)
    run.run_baselines()
    run.wait()
    notes = run_notes(rule=grid.rule, train_fraction=train_fraction, seed=seed, repeats=repeats)
    return write_outputs(run, clips, out, data_name=data_name, n_boot=n_boot, notes=notes, figures=figures)
