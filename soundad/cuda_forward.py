"""Forward-pass options that only make sense on a CUDA GPU (issue 14, EfficientNet-Lite0 on the GPU).

:func:`soundad.extract.extract_features` runs the backbone on channels-last
images already (``channels_last=True``, both on CPU and GPU). On CUDA two more
options exist, each off by default and each part of the feature cache key
when on:

- ``autocast=True``: the forward pass under ``torch.autocast("cuda",
  dtype=torch.float16)``: convolutions and matrix products in float16 on the
  tensor cores, while operations that need float32's range (reductions,
  normalisation) stay in float32 -- unlike ``half=True``, which casts the
  whole model to float16.
- ``compile_mode``: the backbone wrapped in :func:`torch.compile` with that
  mode (``"default"``, ``"max-autotune"``, or ``"reduce-overhead"``, which
  captures CUDA graphs and so removes the per-kernel launch cost that limits
  small depthwise convolutions). Batches are padded to the full batch size so
  that one graph serves every call.

What each buys has not been measured in this project yet (no GPU was
available when this was written); ``soundad bench --device cuda`` reports it.
On a CPU these options are ignored with a warning.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Callable

import torch

from soundad.params import BOOLEAN, Options, check_int, check_value

__all__ = ["COMPILE_MODES", "cuda_options", "make_forward"]

COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune")


def cuda_options(device: torch.device, *, autocast: bool, compile_mode: str | None) -> tuple[bool, str | None]:
    """The options that apply on ``device``: both off (with a warning) unless it is CUDA."""
    check_value("compile_mode", compile_mode, Options(*(m for m in COMPILE_MODES if m is not None)), None)
    check_value("autocast", autocast, BOOLEAN)
    if device.type != "cuda" and (autocast or compile_mode is not None):
        warnings.warn(f"autocast/compile_mode apply to CUDA only; running the plain forward pass on {device.type}",
                      stacklevel=3)
        return False, None
    return bool(autocast), compile_mode


def make_forward(model: torch.nn.Module, *, batch_size: int, autocast: bool = False,
                 compile_mode: str | None = None, pad: bool | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function ``images -> float32 features`` running ``model`` with the given options.

    Parameters
    ----------
    model : torch.nn.Module
        The backbone, on its device.
    batch_size : int > 0
        The batch size of every call but possibly the last.
    autocast : bool
        float16 autocast on CUDA.
    compile_mode : str or None
        :func:`torch.compile` mode, or None.
    pad : bool or None
        Pad short batches to ``batch_size`` (and drop the extra rows); None:
        whenever ``compile_mode`` is set (one shape, one compiled graph).

    Returns
    -------
    callable
        ``forward(images [shape=(n, 3, H, W)]) -> features [shape=(n, D), float32]``.
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    run = torch.compile(model, mode=compile_mode, dynamic=False) if compile_mode is not None else model
    pad = compile_mode is not None if pad is None else bool(pad)

    def forward(images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        if pad and 0 < n < batch_size:
            filler = images[-1:].expand(batch_size - n, *images.shape[1:])
            images = torch.cat([images, filler]).contiguous(memory_format=torch.channels_last)
        context = torch.autocast("cuda", dtype=torch.float16) if autocast else contextlib.nullcontext()
        with context:
            feats = run(images)
        return feats[:n].float()

    return forward
