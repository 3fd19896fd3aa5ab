"""Where a backbone is cut: default layers, named presets, and the layers a network offers (chapter 03).

A backbone is cut at one or more named nodes with torchvision's
``create_feature_extractor``; :func:`list_layers` lists the names a network
offers, :data:`DEFAULT_LAYERS` holds each backbone's default (read from the
registry, :mod:`soundad.backbones.registry`, on each access; code inside soundad
asks ``get_entry(name).default_layer``) and :data:`LAYER_PRESETS` the named
alternatives.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import torch

from soundad.backbones import registry
from soundad.backbones.registry import get_entry
from soundad.errors import ParameterError

__all__ = [
    "DEFAULT_LAYERS",
    "LAYER_PRESETS",
    "check_feature_nodes",
    "feature_extractor",
    "layer_names",
    "list_layers",
    "resolve_layer",
]


def __getattr__(name: str):
    # DEFAULT_LAYERS, the layer each backbone is cut at by default (name -> node), is read
    # from the registry on each access (PEP 562): a backbone registered later is in it.
    if name == "DEFAULT_LAYERS":
        return {key: entry.default_layer for key, entry in registry.MODELS.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

# Graph nodes that query a tensor's shape (``size``, ``size_1``, ``getattr_2``, ``dim``)
_SHAPE_QUERY = re.compile(r"^(size|getattr|dim|shape)(_\d+)?$")


def resolve_layer(name: str, layer):
    """The node a layer preset stands for on backbone ``name``; any other ``layer`` unchanged.

    Parameters
    ----------
    name : str
        Backbone name.
    layer : str, sequence of str or None
        A preset name from :data:`LAYER_PRESETS`, or layer name(s) as
        :func:`soundad.backbones.load_backbone` takes them.

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


def layer_names(name: str, layer: Any) -> list[str]:
    """The distinct node names ``layer`` asks for on backbone ``name`` (presets resolved).

    ``None`` is the backbone's default layer; a string may join several with
    ``"+"`` (``"layer3+layer4"``); a sequence lists them.
    """
    layer = resolve_layer(name, layer)
    if layer is None:
        layers = [get_entry(name).default_layer]
    elif isinstance(layer, str):
        layers = [part for part in layer.split("+") if part]
    else:
        layers = [str(part) for part in layer]
    if not layers or len(set(layers)) != len(layers):
        raise ParameterError(f"layer must name one or more distinct layers, got {layer!r}")
    return layers


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


def feature_extractor(model: torch.nn.Module, name: str, layers: list[str]) -> torch.fx.GraphModule:
    """``model`` cut at ``layers``: a graph module returning ``{layer: output}`` (ParameterError lists layers)."""
    from torchvision.models.feature_extraction import create_feature_extractor

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return create_feature_extractor(model, return_nodes={n: n for n in layers})
    except (ValueError, KeyError, AssertionError) as err:
        unknown = [n for n in layers if n not in list_layers(model, max_depth=None)]
        shown = list_layers(model)
        raise ParameterError(
            f"unknown layer(s) {unknown or layers} for {name}; layers include: {', '.join(shown)} "
            "(all nodes: torchvision.models.feature_extraction.get_graph_node_names)"
        ) from err


def check_feature_nodes(outputs: dict, layers, name: str) -> None:
    """Raise ParameterError for a requested node that is not a feature map (e.g. ``size``, an int).

    ``outputs`` is what the cut network returned for a probe image, ``{layer: value}``.
    """
    bad = {key: type(outputs[key]).__name__ for key in layers
           if not (isinstance(outputs[key], torch.Tensor) and outputs[key].ndim >= 2)}
    if bad:
        what = ", ".join(f"{key!r} returns {kind}" for key, kind in bad.items())
        raise ParameterError(
            f"layer(s) {', '.join(map(repr, bad))} of {name} are not feature maps ({what}); "
            f"pick a layer holding a tensor, e.g. {get_entry(name).default_layer!r} (the default)"
        )
