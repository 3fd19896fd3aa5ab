"""What each ``soundad`` subcommand checks before it does any work (chapter 06).

One function per subcommand, taking its parsed options: the command line
calls :func:`check_command` right after parsing, so a bad option, a device
this torch build lacks, an output directory that is a file or read-only, a
missing checkpoint or clips too short to window are all reported in one line
before the first clip is read -- never after an hour of extraction.

The settings objects are built from the options exactly as the command
builds them (:mod:`soundad.cli.settings`), so an impossible ``--n-mels`` or
``--window-length`` is refused here, in the option's name. The checks
themselves live in :mod:`soundad.validate`, the backbones'
:func:`~soundad.backbones.check_weights_available` and the data stage's
:func:`~soundad.data.check_clip_headers`; this module only maps options onto
them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from soundad.errors import ParameterError
from soundad.params import Options, check_value
from soundad.validate import (
    check_backbone_names,
    check_device,
    check_image_size,
    check_seed,
    check_writable_dir,
)

__all__ = ["check_command", "min_clip_seconds"]


def min_clip_seconds(mel=None, window=None) -> float:
    """Shortest clip [s] that holds one window of ``window`` (default ``WindowConfig()``) frames of ``mel``."""
    from soundad.features import MelConfig, WindowConfig

    mel = mel if mel is not None else MelConfig()
    window = window if window is not None else WindowConfig()
    # frames = 1 + n_samples // hop_length must reach window.length
    return (window.length - 1) * mel.hop_length / mel.sr


def check_command(args: argparse.Namespace) -> None:
    """Run the checks of ``args.command``; raise a SoundadError for the first problem found."""
    checks = {"synth": _synth, "download": _download, "extract": _extract, "reproduce": _reproduce,
              "bench": _bench}
    check = checks.get(args.command)
    if check is not None:
        check(args)


def _synth(args) -> None:
    from soundad.features import MelConfig, WindowConfig

    check_seed(args.seed)
    mel, window = MelConfig(), WindowConfig()
    shortest = min_clip_seconds(mel, window)
    if not args.duration >= shortest:
        raise ParameterError(
            f"--duration {args.duration:g}: clips shorter than {shortest:.3f} s hold no complete mel window "
            f"({window.length} frames at hop {mel.hop_length}, {mel.sr / 1000:g} kHz), so 'soundad extract' "
            f"could not use them with its defaults; "
            f"use --duration {shortest:.2f} or more (MIMII's clips are 10 s)"
        )
    check_writable_dir(args.out, option="OUT")


def _download(args) -> None:
    if args.dataset != "mimii":
        from soundad.data.dcase_download import DCASE_DATASETS

        check_value("--dataset", args.dataset, Options("mimii", *DCASE_DATASETS))
    check_writable_dir(args.dest, option="DEST")


def _resolved(device: str) -> str:
    """The device ``device`` ("auto" included) runs on, e.g. "cuda" or "cpu": whose memory counts."""
    from soundad.backbones import resolve_device

    return str(resolve_device(device))


def _names_and_image_size(backbones, settings: dict, *, option: str) -> None:
    """Backbone names, and the image size for each on the device and at the batch size the run uses."""
    from soundad.extract_settings import resolve_batch_size

    check_backbone_names(backbones, option=option)
    backbone = settings["backbone"]
    device = _resolved(backbone.device)
    check_image_size(settings["image"].size, backbones=backbones,
                     batch_size=resolve_batch_size(backbone.batch_size, device), device=device)


def _models(backbones, weights, layers, settings: dict, *, option: str) -> None:
    """Names, image size, weights and layers of every (backbone, weights, layer) asked for."""
    from soundad.backbones import check_weights_available

    _names_and_image_size(backbones, settings, option=option)
    for name in backbones:
        for tag in weights:
            check_weights_available(name, tag)
    custom = [layer for layer in layers if layer is not None]
    if custom:
        import warnings

        from soundad.backbones import load_backbone

        for name in backbones:  # a random-weights copy on the CPU: cheap, and the nodes are the same
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for layer in custom:
                    load_backbone(name, weights="random", layer=layer, device="cpu", cpu_fusion=False, fuse_bn=False)


def _settings(args) -> dict:
    """The command's settings objects, built as the command builds them (messages name the options).

    ``mel``, ``window``, ``image`` and ``backbone`` (the fields the command has
    options for; the others at their defaults).
    """
    from soundad.cli.settings import backbone_config, feature_configs

    settings = feature_configs(args)
    settings["backbone"] = backbone_config(args)
    check_device(settings["backbone"].device)
    return settings


def _clips(data, args, settings) -> None:
    """Headers of every clip under ``data``: sample rates (warn or refuse) and lengths."""
    path = Path(data).expanduser()
    if not path.is_dir():
        return  # not a directory ("auto", a missing path): the command's own reading reports it
    from soundad.data import check_clip_headers, read_layout

    clips = read_layout(path)
    shortest = min_clip_seconds(settings["mel"], settings["window"])
    check_clip_headers(
        clips["path"], strict_rate=getattr(args, "strict_rate", False), min_seconds=shortest, channel=args.channel,
        short_advice=("use longer clips (synthetic ones: soundad synth --duration 10) "
                      "or shorter windows (--window-length)"),
    )


def _outputs(args) -> None:
    check_writable_dir(args.out, option="--out")
    if args.cache is not None:
        check_writable_dir(args.cache, option="--cache")


def _extract(args) -> None:
    settings = _settings(args)
    _outputs(args)
    backbone = settings["backbone"]
    _models([backbone.name], [backbone.weights], [backbone.layer], settings, option="--backbone")
    _clips(args.data, args, settings)


def _reproduce(args) -> None:
    check_seed(args.seed)
    settings = _settings(args)
    _outputs(args)
    _models(list(args.backbones), list(args.weights), list(args.layers), settings, option="--backbones")
    _clips(args.data, args, settings)


def _bench(args) -> None:
    from soundad.bench import BENCH_BACKBONES

    check_seed(args.seed)
    settings = _settings(args)
    _names_and_image_size(list(args.backbones or BENCH_BACKBONES), settings, option="--backbones")
    if args.json is not None:
        json_path = Path(args.json).expanduser()
        if json_path.is_dir():
            raise ParameterError(f"--json {str(json_path)!r} is a directory, expected a file path")
        check_writable_dir(json_path.parent, option="--json's directory")
    if args.data is not None:
        from soundad.data import read_layout

        read_layout(args.data)
