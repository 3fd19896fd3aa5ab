"""Which clips an experiment uses and how they are split (chapters 01, 03–06).

- :func:`load_clips`: ``"auto"``, a directory, a :class:`DataSource` or a table
  → one clips table and a short name for titles.
- :func:`choose_split`: the train/test rule (MIMII's, a seeded random one, or
  the folders' own for DCASE layouts), chosen so that every group can train.
- :func:`first_group`: the one machine model chapters 03–05 study.
- :func:`group_status`: whether a split group can be evaluated, and why not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from soundad.errors import DataError, ParameterError

from .groups import GROUP_COLUMNS, evaluation_mask, train_normal_mask
from .split import mimii_split, random_split

__all__ = ["MIN_TRAIN_CLIPS", "choose_split", "first_group", "group_status", "load_clips"]

#: Fewest normal training clips per group MIMII's rule must leave before ``split="auto"`` uses it.
MIN_TRAIN_CLIPS = 10


def load_clips(data) -> tuple[pd.DataFrame, str]:
    """Resolve ``data`` into a clips table and a short name for titles.

    Parameters
    ----------
    data : str, os.PathLike, DataSource or pd.DataFrame
        ``"auto"`` (:func:`soundad.data.resolve_data`), a directory in MIMII's
        layout, a :class:`soundad.data.DataSource`, or a clips table from
        :func:`soundad.data.read_layout` (its name is then ``"clips"``).

    Returns
    -------
    clips : pd.DataFrame
        One row per WAV: ``clip_id, path, snr, machine, model_id, label``.
    name : str
        E.g. ``"synthetic"`` or the directory's name.

    Raises
    ------
    DataError
        If the directory is missing, empty, or not in MIMII's layout.
    """
    from .layout import read_layout
    from .source import resolve_data

    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), str(data.attrs.get("name", "clips"))
    if isinstance(data, str) and data == "auto":
        source = resolve_data("auto")
        return read_layout(source.root), str(source.name)
    if isinstance(data, (str, os.PathLike)):  # before the DataSource check: a Path has .root and .name too
        root = Path(data).expanduser()
        return read_layout(root), root.resolve().name
    if hasattr(data, "root") and hasattr(data, "name"):
        return read_layout(data.root), str(data.name)
    raise ParameterError(
        f"data must be a directory, 'auto', a DataSource or a clips DataFrame, got {type(data).__name__}"
    )


def choose_split(
    clips: pd.DataFrame,
    *,
    split: str = "auto",
    train_fraction: float = 0.5,
    seed: int = 0,
    min_train: int = MIN_TRAIN_CLIPS,
) -> tuple[pd.DataFrame, str]:
    """Add the train/test ``split`` column and say which rule made it.

    Parameters
    ----------
    clips : pd.DataFrame
        Clips table (see :func:`load_clips`).
    split : {"auto", "mimii", "random", "given"}, default="auto"
        ``"mimii"``: :func:`soundad.data.mimii_split`; ``"random"``:
        :func:`soundad.data.random_split`; ``"given"``: the table's own
        ``split`` column (DCASE layouts: the train/test folders,
        :func:`soundad.data.dcase.given_split`); ``"auto"``: ``"given"`` when
        the table has a ``split`` column, else MIMII's rule unless it
        leaves some group fewer than ``min_train`` normal training clips
        (or none at all), then the random split.
    train_fraction : float in (0, 1), default=0.5
        Random split: share of each group's normal clips used for training.
    seed : int, default=0
        Random split: seed of the draw.
    min_train : int, default=MIN_TRAIN_CLIPS
        ``"auto"``: fewest normal training clips MIMII's rule must leave.

    Returns
    -------
    clips : pd.DataFrame
        Copy with column ``split`` ∈ {"train", "test"}.
    rule : str
        ``"mimii"`` or ``"random"``: the rule actually used.
    """
    from .dcase import given_split

    if split not in ("auto", "mimii", "random", "given"):
        raise ParameterError(f"split={split!r}; expected 'auto', 'mimii', 'random' or 'given'")
    if split == "given" or (split == "auto" and "split" in clips.columns):  # DCASE: the folders' split
        return given_split(clips), "given"
    if split == "random":
        return random_split(clips, train_fraction=train_fraction, seed=seed), "random"
    if split == "mimii":
        return mimii_split(clips), "mimii"
    try:
        table = mimii_split(clips)
    except DataError:
        return random_split(clips, train_fraction=train_fraction, seed=seed), "random"
    train = table[train_normal_mask(table)]
    per_group = train.groupby(list(GROUP_COLUMNS)).size()
    n_groups = clips.groupby(list(GROUP_COLUMNS)).ngroups
    if len(per_group) < n_groups or int(per_group.min()) < min_train:
        return random_split(clips, train_fraction=train_fraction, seed=seed), "random"
    return table, "mimii"


def first_group(clips: pd.DataFrame, *, max_clips: int, seed: int = 0) -> tuple[pd.DataFrame, str, str]:
    """The first (snr, machine, model_id) group of a clips table, capped and split.

    Chapters 03-05 study one machine model at a time; this is how they pick it.

    Parameters
    ----------
    clips : pd.DataFrame
        Clips table (see :func:`load_clips`).
    max_clips : int >= 2
        At most ``max_clips // 2`` normal and as many abnormal clips are kept
        (the first in table order); per split when the table has one (DCASE).
    seed : int, default=0
        Seed of the random split, if :func:`choose_split` falls back to it.

    Returns
    -------
    group : pd.DataFrame
        The group's clips with a ``split`` column.
    rule : str
        The split rule used (``"mimii"`` or ``"random"``).
    name : str
        ``"<machine> <model_id> <snr>"``, for titles.
    """
    if clips.empty:
        raise DataError("clips table is empty: there is no group to pick")
    first = clips.iloc[0]
    group = clips[(clips[list(GROUP_COLUMNS)] == first[list(GROUP_COLUMNS)]).all(axis=1)]
    by = ["split", "label"] if "split" in group.columns else "label"  # DCASE: keep train clips too
    group = group.groupby(by, group_keys=False).head(max_clips // 2)
    group, rule = choose_split(group, seed=seed)
    return group, rule, f"{first['machine']} {first['model_id']} {first['snr']}"


def group_status(group: pd.DataFrame) -> str:
    """``"ok"``, or why the group cannot be evaluated."""
    test = group[evaluation_mask(group)]
    n_train = int(train_normal_mask(group).sum())
    if n_train == 0:
        return "skipped: no normal training clip"
    missing = [label for label in ("normal", "abnormal") if not (test["label"] == label).any()]
    if missing:
        return f"skipped: test set has no {' and no '.join(missing)} clip (AUC needs both classes)"
    return "ok"
