"""What each forward-pass option buys: one backbone timed step by step (issue 14, chapter 06).

:func:`forward_steps` times the batched forward pass of one backbone with
random weights, adding one option at a time, each on top of the ones before:

1. float32, NCHW memory, BatchNorm as separate layers (the network as
   torchvision builds it);
2. channels-last memory;
3. BatchNorm folded into the convolutions (what ``soundad bench`` times as
   ``forward``, and what :func:`soundad.extract.extract_features` runs on a GPU);
4. on a CPU, the traced graph that oneDNN fuses (``cpu_fusion``, the CPU default);
   on CUDA, float16 autocast (tensor cores, half the bytes);
5. on CUDA, the whole batch replayed from one captured CUDA graph (no
   per-kernel launch cost);
6. on CUDA, ``torch.compile`` with each of ``compile_modes`` (under autocast).

Each row gives windows per second (best of ``repeats``, after a warm-up), the
GFLOP/s this means with the FLOPs counted once for the plain network, its
ratio to the fp32 GEMM rate, its speed-up over the row before, and the
seconds spent building the variant (loading, capture, compilation).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from soundad.bench.timing import count_flops, measure_gemm, random_images, sustained_rate, synchronizer, torch_device
from soundad.params import check_int

__all__ = ["ForwardStep", "forward_steps", "format_steps", "steps_for"]


@dataclass(frozen=True)
class ForwardStep:
    """One variant of the forward pass: how the network is built and run."""

    label: str
    channels_last: bool = True
    fuse_bn: bool = True
    cpu_fusion: bool = False
    autocast: bool = False
    cuda_graph: bool = False
    compile_mode: str | None = None


def steps_for(device_type: str, compile_modes=("reduce-overhead",)) -> tuple[ForwardStep, ...]:
    """The ladder of variants for a ``"cpu"`` or ``"cuda"`` device (see the module docstring)."""
    base = (ForwardStep("fp32, NCHW, BatchNorm kept", channels_last=False, fuse_bn=False),
            ForwardStep("+ channels-last", fuse_bn=False),
            ForwardStep("+ BatchNorm folded"))
    if device_type != "cuda":
        return base + (ForwardStep("+ oneDNN fused graph", cpu_fusion=True),)
    return base + (ForwardStep("+ float16 autocast", autocast=True),
                   ForwardStep("+ CUDA graph replay", autocast=True, cuda_graph=True),
                   *(ForwardStep(f"autocast + torch.compile({mode})", autocast=True, compile_mode=mode)
                     for mode in compile_modes))


def _graph_replay(run, x):
    """``run(x)`` captured once in a CUDA graph; returns a function that replays it."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the capture, as CUDA graphs require
        for _ in range(3):
            run(x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run(x)
    return graph.replay


def _variant(name: str, step: ForwardStep, *, dev, x, batch_size: int):
    """A no-argument function that runs one batch ``x`` through ``name`` built as ``step`` says."""
    import contextlib

    import torch

    from soundad.backbones import load_backbone
    from soundad.cuda_forward import make_forward

    model = load_backbone(name, weights="random", device=dev, channels_last=step.channels_last,
                          fuse_bn=step.fuse_bn, cpu_fusion=step.cpu_fusion)
    if step.compile_mode is not None or (step.autocast and not step.cuda_graph):
        forward = make_forward(model, batch_size=batch_size, autocast=step.autocast, compile_mode=step.compile_mode)
        return lambda: forward(x)
    if not step.cuda_graph:
        return lambda: model(x)

    def run(images):
        # the autocast cache must stay off inside a graph capture (its casts would be captured stale)
        context = torch.autocast("cuda", dtype=torch.float16, cache_enabled=False) if step.autocast \
            else contextlib.nullcontext()
        with context:
            return model(images)

    return _graph_replay(run, x)


def forward_steps(name: str, *, device: str = "cpu", batch_size: int | None = None, image_size: int = 224,
                  repeats: int = 3, seed: int = 0, compile_modes=("reduce-overhead",), gemm_size: int = 2048,
                  gemm_gflops: float | None = None, log=lambda msg: None) -> list[dict]:
    """Time the forward pass of backbone ``name`` option by option (see the module docstring).

    Parameters
    ----------
    name : str
        A backbone of :data:`soundad.backbones.BACKBONES` (random weights).
    device : {"cpu", "cuda", "auto"}
    batch_size : int >= 1 or None
        Windows per forward pass; ``None``: :func:`soundad.extract.default_batch_size`
        (8 on a CPU, 128 on a GPU).
    image_size : int >= 1 [px]
    repeats : int >= 1
        Timed runs of at least 3 batches each per variant; the fastest is kept.
    compile_modes : sequence of str
        :func:`torch.compile` modes to try on CUDA (each compiles for tens of seconds).
    gemm_size : int
        Side of the fp32 GEMM whose rate is the yardstick.
    gemm_gflops : float or None
        That rate, if already measured (several backbones share one yardstick).
    log : callable
        Receives one progress line per variant.

    Returns
    -------
    list of dict
        One row per step: ``step``, ``windows_per_second``, ``gflops``, ``vs_gemm``,
        ``vs_previous`` (NaN for the first), ``setup_s`` and ``error``: None, or
        why a CUDA graph or ``torch.compile`` step failed on this machine (its
        rates are then NaN; any other failure is raised).
    """
    from soundad.backbones import load_backbone
    from soundad.extract_settings import resolve_batch_size

    dev = torch_device(device)
    batch_size = resolve_batch_size(batch_size, dev)
    repeats = check_int("repeats", repeats, low=1)
    if gemm_gflops is None:
        gemm_gflops = measure_gemm(device=dev.type, n=gemm_size, repeats=repeats, seed=seed)
    flops = count_flops(load_backbone(name, weights="random", device=dev, fuse_bn=False, cpu_fusion=False),
                        image_size=image_size, device=dev.type)
    rows, previous = [], math.nan
    for step in steps_for(dev.type, compile_modes):
        log(f"{name}: {step.label}")
        x = random_images(batch_size, image_size, seed=seed, device=dev, channels_last=step.channels_last)
        row = {"backbone": name, "device": dev.type, "batch_size": batch_size, "step": step.label,
               "gemm_gflops": gemm_gflops, "error": None}
        try:
            row.update(_time_step(name, step, dev=dev, x=x, batch_size=batch_size, repeats=repeats))
        except Exception as err:  # noqa: BLE001 - a compiler or graph capture this machine lacks is a finding
            if step.compile_mode is None and not step.cuda_graph:
                raise
            log(f"{name}: {step.label} failed: {type(err).__name__}: {err}")
            row.update(windows_per_second=math.nan, setup_s=math.nan, error=f"{type(err).__name__}: {err}"[:300])
        wps = row["windows_per_second"]
        row.update(gflops=wps * flops / 1e9, vs_gemm=wps * flops / 1e9 / gemm_gflops, vs_previous=wps / previous)
        rows.append(row)
        previous = wps if math.isfinite(wps) else previous
    return rows


def _time_step(name: str, step: ForwardStep, *, dev, x, batch_size: int, repeats: int) -> dict:
    """``windows_per_second`` (:func:`~soundad.bench.timing.sustained_rate`) and ``setup_s`` of one step."""
    import torch

    t0 = time.perf_counter()
    with torch.inference_mode():
        one = _variant(name, step, dev=dev, x=x, batch_size=batch_size)
        one()  # compilation and kernel selection happen here
        synchronizer(dev)()
        setup = time.perf_counter() - t0
        wps = sustained_rate(one, batch_size=batch_size, repeats=repeats, sync=synchronizer(dev))
    return {"windows_per_second": wps, "setup_s": setup}


def format_steps(rows: list[dict]) -> str:
    """The ladder as a text table, one line per step."""
    lines = [f"{'backbone':<20} {'step':<44} {'win/s':>9} {'GFLOP/s':>9} {'x GEMM':>7} {'x prev':>7} {'setup s':>8}"]
    for r in rows:
        if r.get("error"):
            lines.append(f"{r['backbone']:<20} {r['step']:<44} failed: {r['error'][:60]}")
            continue
        prev = "" if math.isnan(r["vs_previous"]) else f"{r['vs_previous']:.2f}"
        lines.append(f"{r['backbone']:<20} {r['step']:<44} {r['windows_per_second']:>9.0f} {r['gflops']:>9.0f} "
                     f"{r['vs_gemm']:>7.2f} {prev:>7} {r['setup_s']:>8.1f}")
    return "\n".join(lines)
