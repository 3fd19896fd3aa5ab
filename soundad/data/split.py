"""Train/test splits for unsupervised anomaly detection (chapter 01).

Detectors are fitted on normal clips only; the test set holds normal and
abnormal clips. Both rules here work separately in every group of one SNR,
one machine type and one model ID, because every model gets its own detector.

- :func:`mimii_split` is the rule of MIMII's baseline (and of Müller et al.):
  the test set takes as many normal clips as there are abnormal ones, the
  first ones in sorted file order, plus all abnormal clips; the remaining
  normal clips are the training set.
- :func:`random_split` draws the normal training clips at random (seeded):
  useful for small subsets, where MIMII's rule leaves nothing to train on.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from soundad.errors import DataError, ParameterError
from soundad.params import check_int, check_number

from .groups import GROUP_COLUMNS

__all__ = ["GROUP_COLUMNS", "mimii_split", "random_split"]

_REQUIRED = ("clip_id", *GROUP_COLUMNS, "label")


def mimii_split(clips: pd.DataFrame) -> pd.DataFrame:
    """Add MIMII's train/test split as a column ``split``.

    In every (snr, machine, model_id) group with ``N`` abnormal clips, the
    first ``N`` normal clips in ``clip_id`` order and all abnormal clips form
    the test set; the remaining normal clips form the training set.

    Parameters
    ----------
    clips : pd.DataFrame
        Table with at least ``clip_id``, ``snr``, ``machine``, ``model_id``
        and ``label`` (``"normal"``/``"abnormal"``), e.g. from
        :func:`read_layout`.

    Returns
    -------
    clips : pd.DataFrame
        A copy, same rows and order, with ``split`` ∈ {"train", "test"}.

    Raises
    ------
    ParameterError
        If a column is missing or a label is neither normal nor abnormal.
    DataError
        If a group has no more normal clips than abnormal ones, so that no
        normal clip is left for training (use :func:`random_split` there).
    """
    table = _check_clips(clips)
    split = pd.Series("train", index=table.index, dtype=object)
    for key, group in table.groupby(list(GROUP_COLUMNS), sort=True):
        normal = group[group["label"] == "normal"].sort_values("clip_id", kind="stable")
        abnormal = group[group["label"] == "abnormal"]
        n_test_normal = len(abnormal)
        if len(normal) <= n_test_normal:
            raise DataError(
                f"group {_name(key)} has {len(normal)} normal and {len(abnormal)} abnormal clips: MIMII's rule "
                f"puts {n_test_normal} normal clips into the test set and leaves none to train on; "
                "use random_split(clips, train_fraction=...) for such small sets"
            )
        split[abnormal.index] = "test"
        split[normal.index[:n_test_normal]] = "test"
    out = clips.copy()
    out["split"] = split
    return out


def random_split(clips: pd.DataFrame, *, train_fraction: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """Add a seeded random train/test split as a column ``split``.

    In every (snr, machine, model_id) group, ``round(train_fraction * n)`` of
    its ``n`` normal clips, drawn at random, form the training set; the other
    normal clips and all abnormal clips form the test set. Each group draws
    from its own generator seeded by ``seed`` and the group's name, so adding
    or removing another group does not change this group's split.

    Parameters
    ----------
    clips : pd.DataFrame
        Table with at least ``clip_id``, ``snr``, ``machine``, ``model_id``
        and ``label``.
    train_fraction : float in (0, 1), default=0.5
        Share of each group's normal clips used for training.
    seed : int, default=0
        Seed of the draw; the same seed gives the same split.

    Returns
    -------
    clips : pd.DataFrame
        A copy, same rows and order, with ``split`` ∈ {"train", "test"}.

    Raises
    ------
    ParameterError
        If ``train_fraction`` is not in (0, 1), ``seed`` is not a
        non-negative integer, or a column/label is wrong.
    DataError
        If a group would get no training clip.
    """
    train_fraction = check_number("train_fraction", train_fraction, low=0.0, high=1.0, closed="neither")
    seed = check_int("seed", seed, low=0)
    table = _check_clips(clips)
    split = pd.Series("test", index=table.index, dtype=object)
    for key, group in table.groupby(list(GROUP_COLUMNS), sort=True):
        normal = group[group["label"] == "normal"].sort_values("clip_id", kind="stable")
        n_train = int(round(float(train_fraction) * len(normal)))
        if len(normal) < 2:  # one to fit the detector on, one to test: no train_fraction helps
            raise DataError(f"group {_name(key)} has {len(normal)} normal clip(s); a split needs at least 2 "
                            "(one to train on, one to test): add normal clips to it or leave the group out")
        if n_train == 0:
            raise DataError(f"group {_name(key)} has {len(normal)} normal clips: train_fraction={train_fraction} "
                            f"leaves none to train on; use train_fraction={0.5 / len(normal) + 0.01:.2f} or more")
        rng = np.random.default_rng([int(seed), zlib.crc32(_name(key).encode("utf-8"))])
        chosen = rng.permutation(len(normal))[:n_train]
        split[normal.index[np.sort(chosen)]] = "train"
    out = clips.copy()
    out["split"] = split
    return out


def _check_clips(clips: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(clips, pd.DataFrame):
        raise ParameterError(f"clips must be a pandas DataFrame (see read_layout), got {type(clips).__name__}")
    missing = [c for c in _REQUIRED if c not in clips.columns]
    if missing:
        raise ParameterError(f"clips table lacks column(s) {missing}; expected at least {list(_REQUIRED)}")
    if len(clips) == 0:
        raise DataError("clips table is empty: nothing to split")
    if not clips.index.is_unique:
        raise ParameterError("clips table has a duplicated index; call clips.reset_index(drop=True) first")
    bad = sorted(set(clips["label"]) - {"normal", "abnormal"})
    if bad:
        raise ParameterError(f"clips table has label(s) {bad}; expected only 'normal' and 'abnormal'")
    return clips


def _name(key) -> str:
    return "/".join(str(k) for k in key)
