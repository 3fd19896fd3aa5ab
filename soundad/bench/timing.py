"""Timed measurements of the device and the network alone: GEMM, FLOPs, batched forward (chapter 06).

Each rate is the best of ``repeats`` timed calls after one untimed warm-up,
with the device synchronised so that queued GPU work is counted.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from soundad.params import Options, check_value

__all__ = ["best_seconds", "count_flops", "measure_forward", "measure_gemm", "random_images", "sustained_rate",
           "synchronizer", "torch_device"]


def torch_device(device: str):
    """The bench's device: CPU or CUDA (``"auto"``: CUDA if present), where it can synchronise."""
    from soundad.backbones import resolve_device

    check_value("device", str(device), Options("cpu", "cuda", "auto"))
    return resolve_device(device, mps=False)


def synchronizer(device) -> Callable[[], None]:
    """A function that waits for the queued work of ``device`` (a no-op on a CPU)."""
    import torch

    if device.type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def best_seconds(fn: Callable[[], object], *, repeats: int, sync: Callable[[], None]) -> float:
    """Fastest of ``repeats`` timed calls of ``fn`` (after one untimed warm-up call) [s]."""
    fn()
    sync()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_gemm(*, device: str = "cpu", n: int = 2048, repeats: int = 3, seed: int = 0) -> float:
    """fp32 ``torch.mm`` rate of two ``n × n`` matrices, best of ``repeats`` [GFLOP/s].

    A product of two n × n matrices takes ``2 n³`` floating-point operations.
    """
    import torch

    dev = torch_device(device)
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=gen).to(dev)
    b = torch.randn(n, n, generator=gen).to(dev)
    with torch.inference_mode():
        seconds = best_seconds(lambda: torch.mm(a, b), repeats=repeats, sync=synchronizer(dev))
    return 2.0 * n**3 / seconds / 1e9


def count_flops(model, *, image_size: int, device: str = "cpu") -> float:
    """Floating-point operations of one window's forward pass (batch 1) [FLOP].

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`, which counts
    a multiply-add as two operations (convolutions and matrix products; the
    cheap element-wise operations are not counted).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, image_size, image_size, device=torch_device(device))
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return float(counter.get_total_flops())


def measure_forward(model, *, image_size: int, batch_size: int = 32, device: str = "cpu", repeats: int = 3,
                    seed: int = 0, channels_last: bool = True, autocast: bool = False,
                    compile_mode: str | None = None) -> float:
    """Windows per second of the batched forward pass on ready-made images.

    Each of ``repeats`` timed runs passes at least 64 windows (3 batches or
    more) through the network back to back; the fastest run is kept.
    ``autocast`` and ``compile_mode`` (CUDA only) wrap the network as
    :func:`soundad.extract.extract_features` does (:func:`soundad.cuda_forward.make_forward`);
    a compiled network is compiled in the untimed warm-up call.
    """
    import torch

    from soundad.cuda_forward import make_forward

    dev = torch_device(device)
    if autocast or compile_mode is not None:
        model = make_forward(model, batch_size=batch_size, autocast=autocast, compile_mode=compile_mode)
    x = random_images(batch_size, image_size, seed=seed, device=dev, channels_last=channels_last)
    with torch.inference_mode():
        return sustained_rate(lambda: model(x), batch_size=batch_size, repeats=repeats, sync=synchronizer(dev))


def random_images(batch_size: int, image_size: int, *, seed: int, device, channels_last: bool = True):
    """A seeded batch of random images [shape=(batch_size, 3, image_size, image_size)] on ``device``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=gen).to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def sustained_rate(run_batch: Callable[[], object], *, batch_size: int, repeats: int,
                   sync: Callable[[], None]) -> float:
    """Windows per second of ``run_batch`` called back to back, best of ``repeats`` timed runs.

    Each timed run is several consecutive batches (>= 64 windows, >= 3 batches), as in the
    pipeline: the best single batch would overstate what a long run can keep up.
    """
    calls = max(3, math.ceil(64 / batch_size))
    seconds = best_seconds(lambda: [run_batch() for _ in range(calls)], repeats=repeats, sync=sync)
    return calls * batch_size / seconds
