"""The settings of one feature-extraction run, checked and resolved once, and its cache key (chapter 03).

:func:`resolve_settings` turns what the caller asked for -- a
:class:`~soundad.backbones.BackboneConfig` plus the
:class:`~soundad.features.MelConfig`, :class:`~soundad.features.WindowConfig`,
:class:`~soundad.features.ImageConfig` and the channel -- into an
:class:`ExtractionSettings`: every argument checked before any work is done,
``"auto"`` and ``None`` replaced by what this machine will use (device, batch
size, worker processes, front end), options that do not apply on the device
switched off with a warning, and the layer preset turned into its node.

:meth:`ExtractionSettings.cache_settings` is the one place where the feature
cache's key is derived from those objects; :func:`soundad.cache.settings_digest`
hashes it. Its content is kept stable on purpose: a change would orphan every
existing cache (``tests/test_extract_settings.py`` holds a snapshot).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import torch

import soundad
from soundad.backbones import (
    BackboneConfig,
    check_backbone_name,
    layer_names,
    onednn_graph_available,
    resolve_device,
    resolve_layer,
    resolve_weights,
)
from soundad.cuda_forward import cuda_options
from soundad.features import ImageConfig, MelConfig, WindowConfig
from soundad.front_end import resolve_front_end
from soundad.params import InstanceOf, Interval, Options, check_int, check_value

__all__ = [
    "ExtractionSettings",
    "resolve_settings",
    "default_batch_size",
    "resolve_batch_size",
    "default_num_workers",
    "layer_label",
]


def default_batch_size(device: Any = "cpu") -> int:
    """Windows per forward pass used when ``batch_size=None``.

    - CPU: **8**. Larger CPU batches are *slower*: the activations stop
      fitting in cache. Measured on 2 cores, windows/s at batch 2 / 8 / 16:
      ResNet-18 49 / 57 / 56, ResNet-50 19 / 21 / 19, EfficientNet-Lite0
      95 / 63 / 61, SqueezeNet 1.1 203 / 239 / 194 (at batch 32 ResNet-18
      fell to 53 and EfficientNet-Lite0 to 38).
    - GPU (CUDA/MPS): **128**, enough to keep the device busy.
    """
    return 8 if resolve_device(device).type == "cpu" else 128


def resolve_batch_size(batch_size: int | None, device: Any = "cpu") -> int:
    """``batch_size`` checked, or :func:`default_batch_size` of ``device`` when it is None.

    Raises
    ------
    ParameterError
        ``batch_size`` not an integer >= 1, or ``device`` not a device.
    """
    return check_int("batch_size", default_batch_size(device) if batch_size is None else batch_size, low=1)


def default_num_workers(device: Any = "cpu") -> int:
    """Worker processes used when ``num_workers=None``.

    - CPU inference: **0** -- decode and mel in this process, between
      forward passes. torch's forward pass already keeps every core busy, and a
      worker process pre-empting torch's OpenMP threads costs more than the
      preprocessing itself (a 10-s clip: ~5-20 ms of preprocessing against
      ~100-200 ms of ResNet-18 forward pass for its 8 windows). Measured on 2
      cores (``taskset -c 0,1``), ResNet-18, 40 MIMII clips: 0 workers 59.6
      windows/s, 1 worker 54.5, 2 workers 52.7; forward pass alone 61.6.
    - GPU (CUDA/MPS) inference: ``min(12, cpu_count - 1)`` -- the CPU is free
      while the GPU works, and preprocessing becomes the bottleneck: a 10-s
      MIMII clip takes ~3 ms of one core (decoding 0.5 ms, mel spectrogram
      2 ms), i.e. ~2,700 windows/s per worker, while one GPU runs ResNet-18
      at ~20,000 windows/s.
    """
    dev = resolve_device(device)
    if dev.type == "cpu":
        return 0
    return max(0, min(12, (os.cpu_count() or 1) - 1))


def layer_label(backbone: str, layer: Any) -> str:
    """The layer(s) as one string for tables and the cache key, e.g. ``"layer3+layer4"``.

    ``layer`` is what :func:`soundad.backbones.resolve_layer` returns: ``None``
    (the backbone's default layer, asked of the registry, so a backbone
    registered later has one too), a name, ``"a+b"`` or a sequence of names.
    The parsing is :func:`soundad.backbones.layers.layer_names`'s.

    Raises
    ------
    ParameterError
        Unknown backbone, or ``layer`` naming no layer or one layer twice.
    """
    return "+".join(layer_names(backbone, layer))


@dataclass(frozen=True)
class ExtractionSettings:
    """Everything that determines one extraction run, checked and resolved.

    Attributes
    ----------
    backbone : BackboneConfig
        Resolved: ``device`` is the device used, ``batch_size`` and
        ``num_workers`` are integers, ``front_end`` is ``"librosa"`` or
        ``"torch"``, ``half`` / ``autocast`` / ``compile_mode`` are off where
        the device cannot use them, and ``layer`` is a node (no preset name).
        ``weights`` is what the caller gave (:func:`soundad.backbones.load_backbone` takes it).
    device : torch.device
    mel, window, image : MelConfig, WindowConfig, ImageConfig
    channel : int >= 0 or "mean"
    weights_tag : str
        ``"imagenet"`` or ``"random"``.
    weights_name : str
        The exact checkpoint, e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``.
    layer_label : str
        The layer(s) as one string (:func:`layer_label`).
    """

    backbone: BackboneConfig
    device: torch.device
    mel: MelConfig
    window: WindowConfig
    image: ImageConfig
    channel: Any
    weights_tag: str
    weights_name: str
    layer_label: str

    def cache_settings(self) -> dict:
        """The feature cache's settings: every parameter that changes the numbers.

        Returns
        -------
        dict
            ``backbone``, ``weights`` (tag), ``weights_name``, ``layer`` (label),
            ``mel``, ``window``, ``image`` (the dataclasses), ``channel``,
            ``numerics`` (device type, half, fuse_bn, channels_last, and
            cpu_fusion where it takes effect; ``front_end`` only when it is
            torch, ``autocast`` and ``compile_mode`` only when one is on, so
            that caches written before those options existed keep their key)
            and ``versions`` (soundad, torch, torchvision).
        """
        from importlib.metadata import version  # the installed version, without importing torchvision (slow)

        config, device_type = self.backbone, self.device.type
        numerics = {
            "device_type": device_type,
            "half": bool(config.half),
            "fuse_bn": bool(config.fuse_bn),
            "channels_last": bool(config.channels_last),
            "cpu_fusion": bool(config.cpu_fusion) and device_type == "cpu" and onednn_graph_available(),
        }
        if config.front_end == "torch":
            numerics["front_end"] = "torch"
        if config.autocast or config.compile_mode:
            numerics.update(autocast=config.autocast, compile_mode=config.compile_mode)
        return {
            "backbone": config.name,
            "weights": self.weights_tag,
            "weights_name": self.weights_name,
            "layer": self.layer_label,
            "mel": self.mel,
            "window": self.window,
            "image": self.image,
            "channel": self.channel,
            "numerics": numerics,
            "versions": {"soundad": soundad.__version__, "torch": torch.__version__,
                         "torchvision": version("torchvision")},
        }


#: The rule ``channel`` obeys: a channel index or the mean of all channels.
CHANNEL_RULES = (Interval(int, 0, None), Options("mean"))


def resolve_settings(config: BackboneConfig, *, mel: MelConfig, window: WindowConfig, image: ImageConfig,
                     channel: Any) -> ExtractionSettings:
    """Check every setting of a run and resolve it for this machine, before any work is done.

    Raises
    ------
    ParameterError
        A bad value (the message names the parameter and what is expected):
        unknown backbone, weights or layer preset, a bad config, batch size,
        channel, worker count, device or front end, or an image size too large
        for the device.

    Warns
    -----
    UserWarning
        ``half``, ``autocast`` or ``compile_mode`` asked for on a device that
        cannot use it (they are switched off).
    """
    check_value("config", config, InstanceOf((BackboneConfig,), "a soundad.backbones.BackboneConfig"))
    check_backbone_name(config.name)
    mel.validate()
    window.validate()
    image.validate()
    batch_size = resolve_batch_size(config.batch_size, config.device)
    check_value("channel", channel, *CHANNEL_RULES)
    device = resolve_device(config.device)
    from soundad.validate import check_image_size  # needs the backbones' input sizes

    check_image_size(image.size, backbones=[config.name], batch_size=batch_size, device=str(device),
                     option="ImageConfig.size", batch_option="batch_size")
    num_workers = default_num_workers(device) if config.num_workers is None else config.num_workers
    num_workers = check_int("num_workers", num_workers, low=0)
    resolved = _resolve_numerics(config, device).replace(
        device=str(device), batch_size=batch_size, num_workers=num_workers,
        layer=resolve_layer(config.name, config.layer))  # a preset becomes its node: one cache key for both
    tag, _, weights_name = resolve_weights(config.name, config.weights)
    return ExtractionSettings(backbone=resolved, device=device, mel=mel, window=window, image=image,
                              channel=channel, weights_tag=tag, weights_name=weights_name,
                              layer_label=layer_label(config.name, resolved.layer))


def _resolve_numerics(config: BackboneConfig, device: torch.device) -> BackboneConfig:
    """``config`` with the front end chosen and the options ``device`` cannot use switched off."""
    half = config.half
    if half and device.type == "cpu":
        warnings.warn("half=True needs a GPU; computing in float32 on the CPU", stacklevel=4)
        half = False
    front_end = resolve_front_end(config.front_end, device)
    autocast, compile_mode = cuda_options(device, autocast=config.autocast, compile_mode=config.compile_mode)
    return config.replace(half=half, front_end=front_end, autocast=autocast, compile_mode=compile_mode)
