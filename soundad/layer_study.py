"""Which layer to listen with? Pooled intermediate stages against the paper's layer.

Beyond the paper (issue 15, item 6). Müller et al. pool the last
convolutional stage; frozen-feature detectors for images (PaDiM, PatchCore)
take intermediate stages, which keep more local texture. Any layer, or
several joined with ``+`` (their pooled vectors concatenated), can be given to
:func:`soundad.reproduce.run_grid` (``layers=``) or ``soundad reproduce
--layers``; :data:`STAGES` names the stage outputs worth trying, and
:func:`compare_layers` compares each layer with the default on the same test
clips, with a paired bootstrap over repeated splits and clips
(:func:`soundad.evaluate.compare`).

The reproduction default stays the paper's layer (``"default"``); nothing
here changes it. Where another layer was clearly better on the real sample, it
is offered as a named preset, ``layer="intermediate"``
(:data:`soundad.backbones.LAYER_PRESETS`, with the measurement behind it).
"""

from __future__ import annotations

import pandas as pd

from soundad.errors import DataError, ParameterError
from soundad.evaluate import compare
from soundad.uncertainty import unit_bootstrap

__all__ = ["STAGES", "stage_layers", "compare_layers"]

#: Graph-node names of the pooled stage outputs per backbone. EfficientNet-Lite0's
#: stages end with blocks 0, 2, 4, 7, 10, 14 and 15 (80, 112 and 192 channels after
#: blocks 7, 10 and 14); its default ``_swish_1`` is the 1280-channel head.
STAGES = {
    "efficientnet_lite0": {"stage4": "_blocks.7", "stage5": "_blocks.10",
                           "stage6": "_blocks.14"},
    "resnet18": {"layer2": "layer2", "layer3": "layer3"},
    "resnet50": {"layer2": "layer2", "layer3": "layer3"},
}


def stage_layers(backbone: str, *, concat: bool = True) -> tuple[str | None, ...]:
    """The layers to compare for ``backbone``: default, each stage, and all joined.

    Returns ``(None, stage, ..., "stage+...+default_layer")``; ``None`` is the
    backbone's default layer (what ``run_grid`` expects).
    """
    from soundad.backbones import get_entry

    if backbone not in STAGES:
        raise ParameterError(f"no stage list for backbone {backbone!r}; "
                             f"known: {', '.join(STAGES)} (or pass layer names yourself)")
    stages = tuple(STAGES[backbone].values())
    joined = ("+".join((*stages[-2:], get_entry(backbone).default_layer)),) if concat else ()
    return (None, *stages, *joined)


def compare_layers(scores: pd.DataFrame, *, reference: str = "default", metric: str = "auc",
                   n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Each layer against ``reference``, per backbone and weights, paired on the same clips.

    Parameters
    ----------
    scores : pd.DataFrame
        scores.csv of :func:`soundad.reproduce.run_grid` with a ``layer``
        column (``"default"`` for the backbone's own layer); detectors are
        averaged as :func:`soundad.evaluate.compare` documents.
    reference : str, default="default"
    metric : {"auc", "pauc"}
    n_boot, level, seed
        As in :func:`soundad.evaluate.compare`.

    Returns
    -------
    pd.DataFrame
        One row per (backbone, weights, layer) with ``estimate`` (mean of
        metric(layer) - metric(reference)), ``lo``, ``hi``, ``n_repeats``,
        ``n_clips`` and ``sentence`` (one line with the interval).
    """
    missing = [c for c in ("layer", "backbone", "weights") if c not in scores.columns]
    if missing:
        raise DataError(f"scores table lacks column(s) {', '.join(missing)}")
    if reference not in set(scores["layer"]):
        raise DataError(f"reference layer {reference!r} is not in the scores "
                        f"(layers: {', '.join(sorted(set(scores['layer'])))})")
    rows = []
    for (backbone, weights), part in scores.groupby(["backbone", "weights"], sort=False):
        if reference not in set(part["layer"]):  # a baseline (layer "-"), or a backbone run without it
            continue
        drawn = unit_bootstrap(part, metric=metric, n_boot=n_boot, seed=seed)  # one draw for every layer
        for layer in dict.fromkeys(part["layer"]):
            if layer == reference:
                continue
            c = compare(part, {"layer": layer}, {"layer": reference}, metric=metric,
                        n_boot=n_boot, level=level, seed=seed, drawn=drawn)
            rows.append({"backbone": backbone, "weights": weights, "layer": layer,
                         "estimate": c.estimate, "lo": c.lo, "hi": c.hi,
                         "n_repeats": c.n_repeats, "n_clips": c.n_clips,
                         "verdict": c.verdict("greater"),
                         "sentence": f"{backbone} ({weights}): {c.describe()}"})
    return pd.DataFrame(rows)
