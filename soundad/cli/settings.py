"""Which settings objects each subcommand exposes, and the one place they are built from options.

``extract``, ``reproduce`` and ``bench`` all turn audio into mel windows and
images, so all three take the fields of :class:`~soundad.features.MelConfig`
(``--n-mels``, ``--hop-length``, ...), :class:`~soundad.features.WindowConfig`
(``--window-length``, ``--window-hop``) and :class:`~soundad.features.ImageConfig`
(``--image-size``, ``--image-colormap``, ...); :func:`feature_configs` builds
the three objects back from the parsed options. The backbone's settings come
from :class:`~soundad.backbones.BackboneConfig` (``--backbone``, ``--weights``,
``--device``, ``--batch-size``, ...) through :func:`add_backbone_options` and
:func:`backbone_config`.
"""

from __future__ import annotations

import argparse

# soundad.backbones imports its torch modules lazily, so this keeps --help fast
from soundad.backbones.config import DEFAULT_BACKBONE, BackboneConfig
from soundad.cli.arguments import positive_int
from soundad.cli.config_options import add_config_options, config_from_args
from soundad.features import ImageConfig, MelConfig, WindowConfig

__all__ = [
    "BACKBONE_NAMES", "DEFAULT_BACKBONE", "DEVICES", "FEATURE_CONFIGS", "add_backbone_options",
    "add_feature_options", "backbone_config", "feature_configs",
]

#: keyword of the stage functions -> (settings class, option prefix, title of the help group)
FEATURE_CONFIGS = {
    "mel": (MelConfig, "", "mel spectrogram"),
    "window": (WindowConfig, "window-", "sliding windows [frames]"),
    "image": (ImageConfig, "image-", "window images"),
}

#: BackboneConfig.name is the option --backbone (one name; lists are --backbones)
BACKBONE_NAMES = {"name": "backbone"}

#: Devices the command line offers (check_device then checks that this machine has them).
DEVICES = ("auto", "cpu", "cuda", "mps")

_BACKBONE_HELP = {
    "name": "backbone name (see soundad.backbones.BACKBONES)",
    "layer": "layer whose pooled output is the feature; 'a+b' concatenates pooled layers "
             "(default: the backbone's penultimate)",
    "device": "torch device; auto picks cuda, then mps, then cpu",
    "batch_size": "windows per forward pass (default: 8 on a CPU, 128 on a GPU)",
    "num_workers": "audio-loading processes (default: picked for the device)",
    "front_end": "where audio becomes mel windows: librosa in the loader, or torch batched on the "
                 "device (auto; measured faster on a CPU as on a GPU); librosa is chapter 02's path",
}


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    """Every field of MelConfig, WindowConfig and ImageConfig, one help group each."""
    for cls, prefix, title in FEATURE_CONFIGS.values():
        group = parser.add_argument_group(f"{title} ({cls.__name__})")
        add_config_options(group, cls, prefix=prefix,
                           types={"size": positive_int, "length": positive_int, "hop": positive_int})


def feature_configs(args: argparse.Namespace) -> dict:
    """``{"mel": MelConfig, "window": WindowConfig, "image": ImageConfig}`` from the parsed options."""
    return {key: config_from_args(cls, args, prefix=prefix) for key, (cls, prefix, _) in FEATURE_CONFIGS.items()}


def add_backbone_options(parser: argparse.ArgumentParser, *, fields=None, choices=None, helps=None) -> None:
    """The ``fields`` of BackboneConfig as options (None: all; ``name`` as ``--backbone``)."""
    add_config_options(parser, BackboneConfig, fields=fields, names=BACKBONE_NAMES,
                       choices={"device": DEVICES, **dict(choices or {})},
                       types={"batch_size": positive_int}, helps={**_BACKBONE_HELP, **dict(helps or {})},
                       metavars={"batch_size": "N", "name": "NAME", "layer": "NAME"})


def backbone_config(args: argparse.Namespace, **fixed) -> BackboneConfig:
    """The BackboneConfig of the parsed options; ``fixed`` sets fields the command has no option for."""
    return config_from_args(BackboneConfig, args, names=BACKBONE_NAMES, **fixed)
