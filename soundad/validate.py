"""Checks that run before any work: options, devices, directories, weights (chapter 06).

The command line calls these first, so that a mistake costs one line of
output and no computation -- never a traceback after an hour of extraction.
Each function raises :class:`~soundad.errors.ParameterError` (or
:class:`~soundad.errors.WeightsUnavailableError`) with the option's name, the
value given and what would be accepted. They are plain functions: a Python
user can call them too.

Bounds (documented here, enforced by :func:`check_image_size`):

- image size: at least the backbone's minimum (:func:`min_image_size`, the
  smallest input each network accepts, rounded up to 32 px) and at most
  :data:`MAX_IMAGE_SIZE` = 1024 px; and the activation memory estimated from
  ``batch_size x size^2`` (:func:`activation_bytes`) must fit in 80 % of the
  memory the device has free.
- seeds: ``0 .. 2**32 - 1`` (numpy's and scikit-learn's range).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

from soundad.errors import ParameterError
from soundad.params import Interval, check_int

__all__ = [
    "MAX_IMAGE_SIZE",
    "MAX_SEED",
    "activation_bytes",
    "available_memory",
    "check_backbone_names",
    "check_device",
    "check_image_size",
    "check_seed",
    "check_writable_dir",
    "min_image_size",
]

#: Largest image side accepted [px]; 4.6x the paper's 224.
MAX_IMAGE_SIZE = 1024
#: Largest seed numpy's legacy RandomState (and scikit-learn) accepts.
MAX_SEED = 2**32 - 1
#: Smallest image side [px] assumed for a backbone the registry does not know.
_DEFAULT_MIN_SIZE = 32
#: Activation bytes per input pixel per image, an upper estimate: the peak memory
#: of one CPU forward pass (batch 8, 448 px, above a batch of 1) measured 112
#: (resnet18), 285 (efficientnet_lite0) and 352 (densenet121) bytes per pixel.
_BYTES_PER_PIXEL = 400


def check_seed(seed, *, option: str = "--seed") -> int:
    """Return ``seed`` as an ``int`` if it is an integer in ``0 .. 2**32 - 1``, else raise ParameterError.

    The rule is :class:`soundad.params.Interval`'s; the message keeps the
    command line's wording (``--seed must be an integer from 0 to ...``).
    """
    if not Interval(int, 0, MAX_SEED).accepts(seed):
        raise ParameterError(f"{option} must be an integer from 0 to {MAX_SEED} (2**32 - 1), got {seed!r}")
    return int(seed)


def check_device(device: str, *, option: str = "--device") -> str:
    """Check that this torch build and machine have ``device`` ("auto", "cpu", "cuda[:n]", "mps").

    Returns the device string unchanged; raises ParameterError naming what is
    missing and what to pass instead.
    """
    import torch

    text = str(device)
    kind = text.split(":")[0]
    if text in ("auto", "cpu"):
        return text
    if kind == "cuda":
        if not torch.cuda.is_available():
            built = "has no CUDA support" if torch.version.cuda is None else "sees no CUDA GPU on this machine"
            raise ParameterError(f"{option} {text}: this torch build {built}; use {option} cpu or {option} auto")
        index = text.split(":")[1] if ":" in text else "0"
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ParameterError(
                f"{option} {text}: torch sees {torch.cuda.device_count()} CUDA device(s) "
                f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})"
            )
        return text
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_built():
            raise ParameterError(
                f"{option} mps: this torch build has no Apple MPS support (MPS exists only on macOS); "
                f"use {option} cpu or {option} auto"
            )
        if not backend.is_available():
            raise ParameterError(f"{option} mps: torch has MPS support but no MPS device is available; "
                                 f"use {option} cpu or {option} auto")
        return text
    raise ParameterError(f"{option} {text!r} is not a device; use auto, cpu, cuda or mps")


def activation_bytes(*, batch_size: int, size: int) -> int:
    """Estimated peak activation memory [bytes] of one forward pass of ``batch_size`` images of ``size``^2 px."""
    return check_int("batch_size", batch_size, low=0) * check_int("size", size, low=0) ** 2 * _BYTES_PER_PIXEL


def available_memory(device: str) -> int | None:
    """Bytes free on the device (GPU memory, or the system's available RAM); None if unknown."""
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def min_image_size(name: str) -> int:
    """Smallest image side [px] backbone ``name`` accepts (its registry entry; 32 if unknown)."""
    from soundad.backbones import registry

    entry = registry.MODELS.get(name)
    return _DEFAULT_MIN_SIZE if entry is None else entry.min_image_size


def check_image_size(size: int | None, *, backbones: Sequence[str], batch_size: int, device: str,
                     option: str = "--image-size", batch_option: str = "--batch-size") -> None:
    """Refuse image sizes the backbones cannot take, above :data:`MAX_IMAGE_SIZE`, or that would not fit.

    Parameters
    ----------
    size : int > 0 [px] or None
        ``None`` means ImageConfig's default (224).
    backbones : sequence of str
    batch_size : int > 0
        Windows per forward pass.
    device : str
        A device string that resolves (see :func:`soundad.backbones.resolve_device`).
    option, batch_option : str
        How the message names the size and the batch size (CLI flags by
        default; the Python API passes its argument names).
    """
    from soundad.features import ImageConfig

    size = ImageConfig().size if size is None else check_int(option, size)
    batch_size = check_int(batch_option, batch_size, low=1)
    smallest = max((min_image_size(name) for name in backbones), default=_DEFAULT_MIN_SIZE)
    if size < smallest:
        which = [n for n in backbones if min_image_size(n) == smallest]
        raise ParameterError(f"{option} {size}: {', '.join(which)} needs images of at least {smallest} px; "
                             f"use {option} {smallest} or more (the paper's is 224)")
    if size > MAX_IMAGE_SIZE:
        raise ParameterError(f"{option} {size} is above the maximum of {MAX_IMAGE_SIZE} px; "
                             f"use {option} {MAX_IMAGE_SIZE} or less (the paper's is 224)")
    need = activation_bytes(batch_size=batch_size, size=size)
    free = available_memory(device)
    if free is not None and need > 0.8 * free:
        raise ParameterError(
            f"{option} {size} with a batch of {batch_size} needs about {need / 2**30:.1f} GiB "
            f"({batch_size} x {size}^2 px x {_BYTES_PER_PIXEL} bytes), but only {free / 2**30:.1f} GiB is free "
            f"on {device}; use a smaller {batch_option} or {option}"
        )


def check_backbone_names(names: Sequence[str], *, option: str = "--backbone") -> None:
    """Raise ParameterError naming any backbone that soundad does not know (:func:`soundad.backbones.list_models`)."""
    from soundad.backbones import list_models

    known = list_models()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ParameterError(f"{option}: unknown backbone(s) {', '.join(unknown)}; choose from {', '.join(known)}")


def check_writable_dir(path, *, option: str) -> Path:
    """Check that ``path`` is, or can be created as, a directory this process can write into.

    Nothing is created; a probe file is written into the nearest existing
    directory (the path itself, or its closest existing parent) and removed,
    so a read-only file system or a missing permission shows up here, before
    any work, and not at the first write.

    Returns
    -------
    Path
        ``path``, expanded.
    """
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise ParameterError(f"{option} {str(target)!r} is a file, expected a directory; choose another path")
    existing = target
    while not existing.exists():
        if existing.is_symlink():
            raise ParameterError(f"{option} {str(target)!r}: {str(existing)!r} is a broken symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        raise ParameterError(
            f"{option} {str(target)!r} cannot be created: {str(existing)!r} is a file, not a directory"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".soundad-write-test-", dir=existing)
    except OSError as err:
        where = "" if existing == target else f" (its closest existing parent is {str(existing)!r})"
        raise ParameterError(
            f"{option} {str(target)!r} is not writable{where}: {err.strerror or err}; choose a writable directory"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return target
