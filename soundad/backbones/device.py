"""Which device a backbone runs on, and whether the CPU can run it as one fused graph (chapter 03).

- :func:`resolve_device`: ``"auto"`` is CUDA, else Apple MPS, else the CPU.
- :func:`onednn_graph_available`: whether this torch build can fuse a traced
  network's convolutions with the operations after them (oneDNN graph; x86-64
  builds can), which :meth:`soundad.backbones.Backbone.fuse_for_cpu` uses.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import Any

import torch

from soundad.errors import ParameterError

__all__ = ["fused_graph_applies", "onednn_fusion", "onednn_graph_available", "resolve_device"]


def resolve_device(device: Any = "auto", *, mps: bool = True):
    """Pick a torch device: ``"auto"`` means CUDA, else Apple MPS, else CPU.

    Parameters
    ----------
    device : str or torch.device, default="auto"
        ``"auto"``, or anything ``torch.device`` accepts (``"cpu"``, ``"cuda:0"``).
    mps : bool, default=True
        Whether ``"auto"`` may pick Apple's MPS (the autoencoders and the
        bench keep to CUDA or the CPU).

    Returns
    -------
    torch.device

    Raises
    ------
    ParameterError
        An unknown device, or CUDA asked for where torch sees none.
    """
    if isinstance(device, torch.device):
        return device
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        backend = getattr(torch.backends, "mps", None)
        if mps and backend is not None and backend.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(str(device))
    except RuntimeError as err:
        raise ParameterError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'mps'") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} but torch sees no CUDA device; use 'cpu' or 'auto'")
    return resolved


@functools.cache
def onednn_graph_available() -> bool:
    """Whether this torch build has oneDNN graph fusion (x86-64 Linux/Windows builds do).

    Elsewhere switching it on only warns "Not compiled with OneDNN Graph" and
    the flag stays off; then the backbone stays an ordinary module.
    """
    previous = torch.jit.onednn_fusion_enabled()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.jit.enable_onednn_fusion(True)
        works = torch.jit.onednn_fusion_enabled() and not caught
        torch.jit.enable_onednn_fusion(previous)
    return bool(works)


def fused_graph_applies(images: torch.Tensor, size: int) -> bool:
    """Whether a fused CPU graph traced at ``size`` px may run on ``images``.

    It may for float32 images on the CPU, of shape ``(N, 3, size, size)``,
    with autograd off; anything else runs the ordinary module.
    """
    return (images.device.type == "cpu" and images.dtype == torch.float32 and not torch.is_grad_enabled()
            and tuple(images.shape[1:]) == (3, size, size))


@contextlib.contextmanager
def onednn_fusion():
    """Switch TorchScript's oneDNN graph fuser on for one call (it is a global flag)."""
    previous = torch.jit.onednn_fusion_enabled()
    torch.jit.enable_onednn_fusion(True)
    try:
        yield
    finally:
        torch.jit.enable_onednn_fusion(previous)
