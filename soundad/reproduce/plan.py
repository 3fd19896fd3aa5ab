"""Which cells the reproduction grid runs (chapter 06, ``notebooks/06_reproduction.ipynb``).

- :class:`Method`: one column of the grid (backbone, weights, layer, detector,
  or an autoencoder baseline);
- :class:`GridPlan` and :func:`make_plan`: the backbone configs, detectors,
  baselines and feature settings of one run, checked before any work;
- :class:`Unit`, :class:`GridGroups` and :func:`split_groups`: every
  (snr, machine, model_id) group in every repeated split, and whether it can
  be evaluated;
- :func:`repeat_seed`: the seed of each repeat.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

import numpy as np
import pandas as pd

from soundad.data.groups import GROUP_COLUMNS
from soundad.data.selection import choose_split, group_status
from soundad.errors import ParameterError
from soundad.params import InstanceOf, Options, check_value

if TYPE_CHECKING:  # pragma: no cover - the backbone stage imports torch; the plan is built without it
    from soundad.backbones import BackboneConfig

__all__ = ["GridGroups", "GridPlan", "Method", "Unit", "make_plan", "repeat_seed", "split_groups"]

#: The weights a grid compares: ImageNet's and the untrained control.
WEIGHTS = ("imagenet", "random")
#: Fields of a BackboneConfig that only say where and how fast it runs, not what it computes.
EXECUTION_FIELDS = ("device", "batch_size", "num_workers")


@dataclass(frozen=True)
class Method:
    """One column of the grid: what produced a score.

    Attributes
    ----------
    backbone : str
        Backbone name, or the baseline's name (``"conv_ae"``, ``"dense_ae"``).
    weights : str
        ``"imagenet"``, ``"random"``, or ``"none"`` for a baseline.
    layer : str
        Feature layer (``"-"`` for a baseline).
    detector : str
        Detector name, or ``"reconstruction"`` for a baseline.
    """

    backbone: str
    weights: str
    layer: str
    detector: str

    @property
    def is_baseline(self) -> bool:
        return self.detector == "reconstruction"

    @property
    def label(self) -> str:
        """Short readable name, e.g. ``"efficientnet_lite0/imagenet/gmm"`` or ``"conv_ae"``."""
        if self.is_baseline:
            return self.backbone
        parts = [self.backbone, self.weights]
        if self.layer not in ("", "-", "default"):
            parts.append(self.layer)
        parts.append(self.detector)
        return "/".join(parts)

    @property
    def slug(self) -> str:
        """File-system safe name of the cell directory."""
        return self.label.replace("/", "__").replace(".", "_")

    @classmethod
    def baseline(cls, name: str) -> "Method":
        return cls(backbone=name, weights="none", layer="-", detector="reconstruction")

    @classmethod
    def transfer(cls, model: "BackboneConfig", detector: str) -> "Method":
        """The method of backbone config ``model`` followed by ``detector``."""
        return cls(model.name, model.weights, model.layer or "default", detector)


class Unit(NamedTuple):
    """One group in one repeat: the rows of the grid."""

    repeat: int
    key: tuple  # (snr, machine, model_id) as strings

    @property
    def name(self) -> str:
        """``"0dB/fan/id_00"`` for repeat 0, ``"0dB/fan/id_00 r3"`` for repeat 3."""
        return "/".join(self.key) + (f" r{self.repeat}" if self.repeat else "")


def repeat_seed(seed: int, repeat: int) -> int:
    """Seed of repeat ``repeat`` of a run with seed ``seed`` (split, detectors, autoencoders).

    Repeat 0 uses ``seed`` itself, so ``repeats=1`` is the run without
    repeats. Repeat ``r >= 1`` uses the first 32-bit word of
    ``numpy.random.SeedSequence([seed, r])``: distinct, reproducible and
    unrelated to the seeds of other runs (seed 0's repeat 1 is not seed 1).

    Parameters
    ----------
    seed : int >= 0
    repeat : int >= 0

    Returns
    -------
    int in [0, 2**32)
    """
    if repeat == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(repeat)]).generate_state(1)[0])


@dataclass(frozen=True)
class GridPlan:
    """What one run computes: backbone configs × detectors, and the baselines.

    Built by :func:`make_plan`. ``settings`` holds what determines every
    cell's scores besides its method and clips (mel, window, image, channel,
    seed); a cell's fingerprint is taken over it (:mod:`soundad.reproduce.cells`).
    """

    models: tuple
    detectors: tuple
    baselines: tuple
    detector_params: Mapping[str, Mapping[str, Any]]
    baseline_params: Mapping[str, Mapping[str, Any]]
    mel: Any
    window: Any
    image: Any
    channel: Any
    seed: int
    device: str = "auto"
    settings: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "settings", {
            "mel": dataclasses.asdict(self.mel), "window": dataclasses.asdict(self.window),
            "image": dataclasses.asdict(self.image), "channel": self.channel, "seed": int(self.seed),
        })

    def transfer_methods(self, model: "BackboneConfig") -> list[Method]:
        return [Method.transfer(model, d) for d in self.detectors]

    @property
    def methods(self) -> list[Method]:
        """Every column, in the order of results.csv: models × detectors, then baselines."""
        return [m for model in self.models for m in self.transfer_methods(model)] + [
            Method.baseline(name) for name in self.baselines]

    def params(self, method: Method) -> dict:
        """Extra parameters of a method's detector or baseline."""
        table = self.baseline_params if method.is_baseline else self.detector_params
        return dict(table.get(method.backbone if method.is_baseline else method.detector, {}))


def numerics(model: "BackboneConfig") -> dict:
    """The fields of a backbone config that change its features (all but where and how fast it runs)."""
    return {k: v for k, v in dataclasses.asdict(model).items() if k not in EXECUTION_FIELDS}


def _names(name: str, value) -> tuple:
    """``value`` as a tuple of non-empty strings (one string is one name)."""
    value = (value,) if isinstance(value, str) else tuple(value)
    for item in value:
        check_value(name, item, InstanceOf((str,), "names (non-empty strings)"))
        if not item:
            raise ParameterError(f"{name}={value!r}; expected names (non-empty strings)")
    return value


def resolve_models(*, models, backbones, weights, layers, device, batch_size, front_end) -> tuple:
    """The backbone configs of a run: ``models`` as given, or the product of backbones × weights × layers."""
    from soundad.backbones import DEFAULT_BACKBONE, BackboneConfig, list_models

    if models is not None:
        given = [n for n, v in (("backbones", backbones), ("weights", weights), ("layers", layers),
                                ("batch_size", batch_size)) if v is not None]
        given += ["front_end"] if front_end != "auto" else []
        if given:
            raise ParameterError(f"models= replaces {', '.join(given)}: set them in each BackboneConfig instead")
        models = tuple(models)
        for model in models:
            check_value("models", model, InstanceOf((BackboneConfig,), "a list of soundad.backbones.BackboneConfig"))
    else:
        backbones = _names("backbones", (DEFAULT_BACKBONE,) if backbones is None else backbones)
        weights = _names("weights", WEIGHTS if weights is None else weights)
        layers = ((None,) if layers is None else ((layers,) if isinstance(layers, str) else tuple(layers))) or (None,)
        models = tuple(BackboneConfig(name=b, weights=w, layer=layer, device=device, batch_size=batch_size,
                                      front_end=front_end)
                       for b in backbones for w in weights for layer in layers)
    for model in models:
        check_value("weights", model.weights, Options(*WEIGHTS))
        check_value("backbones", model.name, Options(*list_models()))  # the live registry
    return models


def make_plan(*, models, backbones, weights, layers, detectors, baselines, device, batch_size, front_end,
              channel, image_size, mel, window, image, detector_params, baseline_params, seed) -> GridPlan:
    """Check the names and settings of :func:`soundad.reproduce.run_grid` and build its plan.

    ``baselines=None`` is every baseline of :data:`soundad.autoencoders.BASELINES`
    (imported here, not when this module is: it loads torch). Raises
    ``ParameterError`` for an unknown name, a bad config or an empty grid.
    """
    from soundad import features

    detectors = _names("detectors", detectors)
    if detectors:
        from soundad.detectors import DETECTORS

        for name in detectors:
            check_value("detectors", name, Options(*DETECTORS))
    if baselines is None or baselines:
        from soundad.autoencoders import BASELINES

        baselines = BASELINES if baselines is None else _names("baselines", baselines)
        for name in baselines:
            check_value("baselines", name, Options(*BASELINES))
    models = resolve_models(models=models, backbones=backbones, weights=weights, layers=layers, device=device,
                            batch_size=batch_size, front_end=front_end)
    models = models if detectors else ()  # checked all the same
    if not (models and detectors) and not baselines:
        raise ParameterError("nothing to run: give at least one backbone, weights and detector, or a baseline")
    image = image if image is not None else features.ImageConfig()
    if image_size is not None:
        image = dataclasses.replace(image, size=int(image_size))
    plan = GridPlan(
        models=models, detectors=detectors, baselines=tuple(baselines), channel=channel, seed=int(seed),
        detector_params={k: dict(v) for k, v in (detector_params or {}).items()},
        baseline_params={k: dict(v) for k, v in (baseline_params or {}).items()},
        mel=mel if mel is not None else features.MelConfig(), image=image, device=device,
        window=window if window is not None else features.WindowConfig(),
    )
    labels = [m.label for m in plan.methods]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ParameterError(f"methods {twice} appear more than once; give each backbone config once")
    return plan


@dataclass(frozen=True)
class GridGroups:
    """Every group of every repeated split.

    Attributes
    ----------
    groups : dict of Unit to pd.DataFrame
        The group's clips (sorted by ``clip_id``) with their ``split``.
    status : dict of Unit to str
        ``"ok"`` or why the group cannot be evaluated (:func:`soundad.data.group_status`).
    rule : str
        The split rule used (``"random"``, ``"mimii"``, ``"given"``).
    first : pd.DataFrame
        All clips with repeat 0's split.
    """

    groups: dict
    status: dict
    rule: str
    first: pd.DataFrame

    @property
    def usable(self) -> list[Unit]:
        return [unit for unit, s in self.status.items() if s == "ok"]

    @property
    def keys(self) -> list[tuple]:
        """The usable (snr, machine, model_id) groups, each once, in order."""
        return list(dict.fromkeys(unit.key for unit in self.usable))


def split_groups(clips: pd.DataFrame, *, split: str, train_fraction: float, seed: int,
                 repeats: int) -> GridGroups:
    """Split ``clips`` ``repeats`` times (repeat ``r`` seeded by :func:`repeat_seed`) and cut the groups."""
    splits = [choose_split(clips, split=split, train_fraction=train_fraction, seed=repeat_seed(seed, r))
              for r in range(repeats)]
    groups = {
        Unit(r, tuple(str(k) for k in key)): group.sort_values("clip_id", kind="stable")
        for r, (table, _) in enumerate(splits)
        for key, group in table.groupby(list(GROUP_COLUMNS), sort=True)
    }
    status = {unit: group_status(group) for unit, group in groups.items()}
    return GridGroups(groups=groups, status=status, rule=splits[0][1], first=splits[0][0])
