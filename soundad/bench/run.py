"""One bench run: every measurement per backbone, in order, on one device (chapter 06).

The pipeline and the naive loop are each timed after a one-clip warm-up (its
time is ``startup_s``), so the rates are those of a long run; each is timed
``repeats`` times (the pipeline with a fresh cache each time) and the fastest
run is kept, as for GEMM, forward and the warm rerun. The one-time loading of the backbone is
reported apart (``model_load_s``) and not counted in the pipeline's rate.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from soundad._io import atomic_write_text
from soundad.backbones.config import DEFAULT_BACKBONE
from soundad.bench.memory import measure_rss
from soundad.bench.pipeline import extract_random, naive_loop, prepare_clips
from soundad.bench.projection import MIMII_DURATION, forward_rates, project_full_reproduction
from soundad.bench.report import check_targets, report_json
from soundad.bench.timing import count_flops, measure_forward, measure_gemm, torch_device
from soundad.params import check_int, check_number

__all__ = ["BENCH_BACKBONES", "BenchPlan", "bench_log", "bench_plan", "run_bench", "time_backbone"]

#: What the bench times unless told otherwise: a ResNet beside the default backbone.
BENCH_BACKBONES = ("resnet18", DEFAULT_BACKBONE)


@dataclass(frozen=True)
class BenchPlan:
    """The checked settings of one bench run (see :func:`run_bench` for each)."""

    device: str
    n_clips: int
    naive_clips: int
    duration: float
    batch_size: int
    repeats: int
    seed: int
    mel: Any
    window: Any
    image: Any
    log: Callable[[str], None]
    autocast: bool = False
    compile_mode: str | None = None

    @property
    def configs(self) -> dict:
        """``mel``, ``window`` and ``image`` as keywords of the feature stage."""
        return dict(mel=self.mel, window=self.window, image=self.image)

    @property
    def cuda_options(self) -> dict:
        """``autocast`` and ``compile_mode``: the CUDA forward options of the forward pass and the pipeline."""
        return dict(autocast=self.autocast, compile_mode=self.compile_mode)


def bench_log(progress: bool) -> Callable[[str], None]:
    """The bench's progress lines: ``[bench] ...`` on stderr, or nothing."""
    if not progress:
        return lambda msg: None
    return lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)


def bench_plan(*, device="cpu", n_clips=None, naive_clips=None, duration=MIMII_DURATION, batch_size=None,
               repeats=3, seed=0, mel=None, window=None, image=None, image_size=None,
               autocast=False, compile_mode=None, progress=True) -> BenchPlan:
    """Check the bench's arguments and fill in the device's defaults; nothing is measured."""
    from soundad.cuda_forward import cuda_options
    from soundad.extract_settings import resolve_batch_size
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    dev = torch_device(device)
    if n_clips is None:
        n_clips = 16 if dev.type == "cpu" else 1024  # on a GPU 16 clips would time the workers' start
    n_clips = check_int("n_clips", n_clips, low=1)
    image = image if image is not None else ImageConfig()
    if image_size:
        image = dataclasses.replace(image, size=check_int("image_size", image_size, low=1))
    log = bench_log(progress)
    autocast, compile_mode = cuda_options(dev, autocast=autocast, compile_mode=compile_mode)
    return BenchPlan(
        device=dev.type, n_clips=n_clips,
        naive_clips=check_int("naive_clips", min(n_clips, 16) if naive_clips is None else naive_clips, low=1),
        duration=check_number("duration", duration, low=0, closed="neither"),
        batch_size=resolve_batch_size(batch_size, dev),
        repeats=check_int("repeats", repeats, low=1), seed=seed,
        mel=mel if mel is not None else MelConfig(), window=window if window is not None else WindowConfig(),
        image=image, log=log, autocast=autocast, compile_mode=compile_mode)


def _meta(plan: BenchPlan, *, data, gemm_size: int) -> dict:
    import torch

    dev = torch_device(plan.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    return {
        "device": plan.device, "device_name": name, "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "n_clips": plan.n_clips, "naive_clips": plan.naive_clips,
        "duration_s": plan.duration, "batch_size": plan.batch_size, "image_size": plan.image.size,
        "gemm_size": gemm_size, "repeats": plan.repeats, "weights": "random", **plan.cuda_options,
        "data": str(data) if data is not None else "synthetic",
    }


def _forward_model(name: str, plan: BenchPlan):
    """The network as extract_features runs it on this device, and its FLOPs per window.

    With CUDA options the network is wrapped once here (:func:`soundad.cuda_forward.make_forward`),
    so that a compiled network is compiled once, not once per timed repeat.
    """
    from soundad.backbones import load_backbone
    from soundad.cuda_forward import make_forward

    # BatchNorm folded, channels-last, oneDNN-fused graph on a CPU
    model = load_backbone(name, weights="random", device=plan.device, channels_last=True, fuse_bn=True)
    flops = count_flops(model, image_size=plan.image.size, device=plan.device)
    if plan.autocast or plan.compile_mode is not None:
        model = make_forward(model, batch_size=plan.batch_size, **plan.cuda_options)
    return model, flops


def _forward_once(forward, plan: BenchPlan) -> float:
    """One timed forward measurement (>= 64 windows back to back) [windows/s] of :func:`_forward_model`'s."""
    return measure_forward(forward, image_size=plan.image.size, batch_size=plan.batch_size, device=plan.device,
                           repeats=1, seed=plan.seed)


def _pipeline(name: str, clips, plan: BenchPlan, workdir: Path, index: int) -> dict:
    """Forward rate, start-up, cold pipeline and warm rerun; the forward rate and the cold pipeline interleaved.

    A timed forward pass precedes each cold pipeline run, and each rate is the
    best of its ``repeats`` runs: on a shared or throttled machine, whose speed
    drifts over a minute, the pipeline/forward ratio then compares runs made
    at the same time rather than a fast minute with a slow one.
    """
    run = dict(backbone=name, device=plan.device, batch_size=plan.batch_size, **plan.configs, **plan.cuda_options)
    model, flops = _forward_model(name, plan)
    # One-time start-up costs (librosa's first-call compilation, the backend's kernel selection
    # for these shapes) are paid once per process: pay them before the clock starts.
    plan.log(f"{name}: warm-up (start-up costs, reported apart)")
    t0 = time.perf_counter()
    extract_random(clips.iloc[:1], cache_dir=workdir / f"warmup-{index}", **run)
    rec = {"startup_s": time.perf_counter() - t0, "pipeline_s": math.inf, "flops_per_window": flops,
           "forward_wps": 0.0}
    plan.log(f"{name}: forward (batch {plan.batch_size}, {plan.image.size} px) and pipeline cold "
             f"({len(clips)} clips), interleaved, best of {plan.repeats}")
    for r in range(plan.repeats):
        rec["forward_wps"] = max(rec["forward_wps"], _forward_once(model, plan))
        feats = extract_random(clips, cache_dir=workdir / f"cache-{index}-{r}", **run)
        load_s = float(feats.stats["load_seconds"])  # the one-time backbone load is reported apart
        if float(feats.seconds) - load_s < rec["pipeline_s"]:
            rec["model_load_s"], rec["pipeline_s"] = load_s, float(feats.seconds) - load_s
            rec["pipeline_forward_s"] = float(feats.stats["forward_seconds"])  # drawing images + forward
    rec["data_path_s"] = rec["pipeline_s"] - rec["pipeline_forward_s"]  # decode, mel, cache, ...: the rest
    rec["forward_gflops"] = flops * rec["forward_wps"] / 1e9
    rec["n_windows"] = int(len(feats.clip_ids))
    rec["pipeline_wps"] = rec["n_windows"] / rec["pipeline_s"]
    plan.log(f"{name}: pipeline warm, best of {plan.repeats}")
    warm_cache = workdir / f"cache-{index}-{plan.repeats - 1}"
    rec["warm_s"] = min(float(extract_random(clips, cache_dir=warm_cache, **run).seconds) for _ in range(plan.repeats))
    rec["warm_speedup"] = rec["pipeline_s"] / rec["warm_s"]
    return rec


def _naive(name: str, clips, plan: BenchPlan) -> dict:
    """The naive loop's rate, best of ``repeats`` after a one-clip warm-up."""
    from soundad.backbones import load_backbone

    plan.log(f"{name}: naive loop")
    model = load_backbone(name, weights="random", device=plan.device)  # as the pipeline's
    naive_loop(clips.iloc[:1], model=model, device=plan.device, **plan.configs)  # warm-up
    best = math.inf
    for _ in range(plan.repeats):
        t0 = time.perf_counter()
        n_naive = naive_loop(clips.iloc[:plan.naive_clips], model=model, device=plan.device, **plan.configs)
        best = min(best, time.perf_counter() - t0)
    return {"naive_s": best, "naive_wps": n_naive / best}


def _memory(name: str, *, root: Path, n_small: int, n_large: int, plan: BenchPlan) -> dict:
    """Peak RSS for ``n_small`` and ``n_large`` clips, each in a fresh process."""
    plan.log(f"{name}: peak RSS for {n_small} and {n_large} clips (fresh processes)")
    run = dict(data=root, backbone=name, device=plan.device, batch_size=plan.batch_size, **plan.configs,
               **plan.cuda_options)
    small, large = measure_rss(n_clips=n_small, **run), measure_rss(n_clips=n_large, **run)
    rec = {"rss_n_mb": small["peak_rss_bytes"] / 2**20, "rss_10n_mb": large["peak_rss_bytes"] / 2**20,
           "rss_clips": [small["n_clips"], large["n_clips"]]}
    rec["rss_ratio_10x"] = rec["rss_10n_mb"] / rec["rss_n_mb"]
    return rec


def time_backbone(name: str, *, clips, all_clips, root: Path, plan: BenchPlan, workdir: Path, index: int,
                  gemm: float, rss: bool) -> dict:
    """Every measurement of one backbone: forward, pipeline cold and warm, naive loop, memory, checks."""
    rec = {"gemm_gflops": gemm, **_pipeline(name, clips, plan, workdir, index)}
    rec.update(_naive(name, clips, plan))
    if rss:
        n_large = min(10 * len(clips), len(all_clips))
        rec.update(_memory(name, root=root, n_small=len(clips), n_large=n_large, plan=plan))
    else:
        rec["rss_ratio_10x"] = math.nan
    rec["checks"] = check_targets(rec, plan.device)
    return rec


def _projection(project: Sequence[str], plan: BenchPlan) -> list[dict]:
    rates = forward_rates(project, label=plan.device, device=plan.device, image_size=plan.image.size,
                          batch_size=plan.batch_size, repeats=plan.repeats, seed=plan.seed, log=plan.log,
                          **plan.cuda_options)
    return project_full_reproduction(rates).to_dict("records")


def _measure(backbones: Sequence[str], plan: BenchPlan, *, data, gemm_size: int, rss: bool,
             project: Sequence[str]) -> dict:
    meta = _meta(plan, data=data, gemm_size=gemm_size)
    plan.log(f"GEMM {gemm_size}x{gemm_size} fp32 on {plan.device}")
    gemm = measure_gemm(device=plan.device, n=gemm_size, repeats=plan.repeats, seed=plan.seed)
    results = {}
    with tempfile.TemporaryDirectory(prefix="soundad-bench-") as tmp:
        workdir = Path(tmp)
        root, all_clips = prepare_clips(data, n_clips=plan.n_clips, duration=plan.duration, seed=plan.seed,
                                        workdir=workdir)
        clips = all_clips.iloc[:plan.n_clips].reset_index(drop=True)
        meta["n_clips"] = len(clips)
        for index, name in enumerate(backbones):
            results[name] = time_backbone(name, clips=clips, all_clips=all_clips, root=root, plan=plan,
                                          workdir=workdir, index=index, gemm=gemm, rss=rss)
    report = {"meta": meta, "results": results}
    if project:
        report["projection"] = _projection(project, plan)
    return report


def run_bench(*, backbones: Sequence[str] = BENCH_BACKBONES, device: str = "cpu",
              n_clips: int | None = None, naive_clips: int | None = None, duration: float = MIMII_DURATION,
              data: str | os.PathLike | None = None, batch_size: int | None = None, image_size: int | None = None,
              mel=None, window=None, image=None, repeats: int = 3, gemm_size: int = 2048, rss: bool = True,
              project: Sequence[str] = (), json_path: str | os.PathLike | None = None, seed: int = 0,
              autocast: bool = False, compile_mode: str | None = None, progress: bool = True) -> dict:
    """Measure GEMM, forward, pipeline (cold and warm), naive loop and memory per backbone.

    Parameters
    ----------
    backbones : sequence of str, default=("resnet18", "efficientnet_lite0")
        Backbones to time (random weights).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    n_clips : int >= 1 or None, default=None
        Clips per timed pipeline run (the memory check also runs 10 × n_clips);
        ``None``: 16 on a CPU, 1024 on a GPU (where 16 clips would time mostly
        the start of the worker processes).
    naive_clips : int >= 1 or None, default=None
        Clips per timed run of the naive loop; ``None``: ``min(n_clips, 16)``
        (one window at a time: its rate does not depend on the number of clips).
    duration : float > 0 [s], default=10.0
        Length of the synthetic clips.
    data : str, os.PathLike or None
        Time these MIMII-layout clips (the first ``n_clips``) instead of synthetic ones.
    batch_size : int >= 1 or None, default=None
        Windows per forward pass; ``None``: :func:`soundad.extract.default_batch_size`.
    image_size : int or None
        Side length of the images [px], replacing ``image.size``.
    mel, window, image : MelConfig, WindowConfig, ImageConfig or None
        Settings of the pipeline and the naive loop; ``None``: the defaults.
    repeats : int >= 1, default=3
        Timed repetitions of GEMM, forward, pipeline and naive loop (the best is kept).
    gemm_size : int, default=2048
        Side of the GEMM matrices.
    rss : bool, default=True
        Run the two memory subprocesses.
    project : sequence of str, default=()
        Backbones (e.g. :data:`PAPER_BACKBONES`) whose forward rate projects the
        full MIMII reproduction (:func:`project_full_reproduction`): ``report["projection"]``.
    json_path : str, os.PathLike or None
        Also write the report as JSON here.
    seed : int, default=0
        Seed of the synthetic clips and the random inputs.
    autocast : bool, default=False
        CUDA only: the forward pass (timed alone and in the pipeline) under
        float16 autocast (:mod:`soundad.cuda_forward`).
    compile_mode : str or None, default=None
        CUDA only: :func:`torch.compile` mode of the backbone, likewise.
    progress : bool, default=True
        Progress lines on stderr.

    Returns
    -------
    report : dict
        ``{"meta": {...}, "results": {backbone: {...}}}``. Each backbone's record
        holds :data:`JSON_KEYS`, the raw numbers behind them (``flops_per_window``,
        seconds, ``rss_n_mb``, ``rss_10n_mb``, ...) and ``checks``: target name →
        ``{"value", "target", "pass"}``. ``rss_ratio_10x`` is NaN when ``rss`` is False.
    """
    plan = bench_plan(device=device, n_clips=n_clips, naive_clips=naive_clips, duration=duration,
                      batch_size=batch_size, repeats=repeats, seed=seed, mel=mel, window=window, image=image,
                      image_size=image_size, autocast=autocast, compile_mode=compile_mode, progress=progress)
    backbones = (backbones,) if isinstance(backbones, str) else tuple(backbones)
    report = _measure(backbones, plan, data=data, gemm_size=gemm_size, rss=rss, project=project)
    if json_path is not None:
        atomic_write_text(json_path, report_json(report))
    return report
