"""What a MIMII clip belongs to: its group (SNR, machine, model ID), its SNR and its split.

One home for the group columns every stage groups by, the spellings of an
SNR (``"-6_dB"``, ``"min6dB"``, ``"-6dB"`` …), their numeric value and order,
and the mask of the clips a detector may be fitted on (normal training clips).
Every other module imports these; none re-spells them.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd

from soundad.errors import DataError, ParameterError

__all__ = [
    "GROUP_COLUMNS",
    "group_key",
    "normalise_snr",
    "parse_snrs",
    "snr_db",
    "snr_order",
    "snr_sort_key",
    "sort_by_snr",
    "evaluation_mask",
    "rows_of_clips",
    "train_normal_mask",
]

#: One detector per group of these columns (one SNR, one machine type, one model ID).
GROUP_COLUMNS = ("snr", "machine", "model_id")

_SNR_PATTERN = re.compile(
    r"""^\s*
    (?P<sign>[-+\u2212]|min|minus|m|plus|p)?   # -6, min6, m6, minus6, +6, plus6
    _?\s*
    (?P<value>\d+)
    \s*_?\s*
    db\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

def normalise_snr(text: str | int) -> str:
    """Return the canonical spelling of an SNR folder name.

    Parameters
    ----------
    text : str or int
        An SNR as MIMII's zips, its baseline or a user spell it:
        ``"-6_dB"``, ``"min6dB"``, ``"m6dB"``, ``"-6dB"``, ``"0_dB"``,
        ``"6dB"``, ``"+6 dB"``; an integer is read as decibels.

    Returns
    -------
    snr : str
        ``f"{value}dB"`` with a plain minus sign, e.g. ``"-6dB"``, ``"0dB"``,
        ``"6dB"``. Zero never gets a sign.

    Raises
    ------
    DataError
        If ``text`` is not an SNR spelling (the message repeats it).

    Examples
    --------
    >>> normalise_snr("-6_dB"), normalise_snr("min6dB"), normalise_snr("0_dB")
    ('-6dB', '-6dB', '0dB')
    """
    if isinstance(text, bool):
        raise DataError(f"SNR must be a string like '-6dB' or an integer, got {text!r}")
    if isinstance(text, int):
        return f"{int(text)}dB"
    if not isinstance(text, str):
        raise DataError(f"SNR must be a string like '-6dB' or an integer, got {text!r}")
    match = _SNR_PATTERN.match(text)
    if match is None:
        raise DataError(
            f"cannot read {text!r} as an SNR: expected a folder name like "
            "'-6dB', '-6_dB', 'min6dB', '0dB', '0_dB' or '6dB'"
        )
    value = int(match.group("value"))
    sign = (match.group("sign") or "").lower()
    if sign in {"-", "\u2212", "min", "minus", "m"}:
        value = -value
    return f"{value}dB"


def snr_db(snr) -> float:
    """The SNR in decibels as a number: ``"-6dB"`` → ``-6.0``; NaN for anything else.

    Accepts every spelling :func:`normalise_snr` accepts, and numbers.
    Labels that are not SNRs (DCASE sets have none: ``"-"``) give NaN, so
    that callers can test ``np.isfinite``.
    """
    if isinstance(snr, (int, float, np.integer, np.floating)) and not isinstance(snr, bool):
        return float(snr)
    try:
        return float(normalise_snr(str(snr))[:-2])
    except DataError:
        return float("nan")


def parse_snrs(snrs, *, name: str = "snrs") -> list[str]:
    """Canonical SNR labels from a list or a comma-separated string.

    Raises :class:`~soundad.errors.ParameterError` naming ``name`` for an
    empty list, a duplicate or a spelling that is not an SNR.
    """
    if isinstance(snrs, (str, int)) and not isinstance(snrs, bool):
        snrs = [s for s in str(snrs).split(",") if s.strip()]
    out = []
    for s in snrs:
        try:
            out.append(normalise_snr(s.strip() if isinstance(s, str) else s))
        except DataError as exc:
            raise ParameterError(f"{name}: {exc}") from None
    if not out:
        raise ParameterError(f"{name} must name at least one SNR, e.g. ['-6dB', '0dB', '6dB']")
    if len(set(out)) != len(out):
        raise ParameterError(f"{name} has duplicates: {out}")
    return out


def snr_sort_key(values: Iterable) -> list[tuple]:
    """Sort keys placing SNR labels by their number ("-6dB" < "0dB" < "6dB" < "12dB").

    Labels that are not SNRs sort after all SNRs, alphabetically.
    """
    keys = []
    for v in values:
        value = snr_db(v)
        keys.append((0, value, "") if np.isfinite(value) else (1, 0.0, str(v)))
    return keys


def snr_order(values: Iterable) -> list:
    """``values`` sorted by :func:`snr_sort_key` ("-6dB" before "0dB" before "6dB"; stable)."""
    return sorted(values, key=lambda v: snr_sort_key([v])[0])


def sort_by_snr(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``frame`` sorted by the columns ``by`` (stable), the ``snr`` column by its number."""

    def key(col: pd.Series):
        if col.name == "snr":
            order = {v: i for i, v in enumerate(snr_order(pd.unique(col)))}
            return col.map(order)
        return col

    return frame.sort_values(by, key=key, kind="stable").reset_index(drop=True)


def group_key(group: pd.DataFrame) -> tuple[str, ...]:
    """The (snr, machine, model_id) of a table holding one group's clips, as strings."""
    return tuple(str(group[c].iloc[0]) for c in GROUP_COLUMNS)


def train_normal_mask(clips: pd.DataFrame) -> pd.Series:
    """True for the clips a detector may be fitted on: ``split == "train"`` and ``label == "normal"``."""
    return (clips["split"] == "train") & (clips["label"] == "normal")


def evaluation_mask(clips: pd.DataFrame) -> pd.Series:
    """True for the clips a detector is scored on: ``split == "test"`` (normal and abnormal)."""
    return clips["split"] == "test"


def rows_of_clips(clip_ids, clips: pd.DataFrame, *, owner: str = "these features") -> pd.DataFrame:
    """The row of ``clips`` (indexed by ``clip_id``) of each entry of ``clip_ids``, e.g. of each window.

    Parameters
    ----------
    clip_ids : array-like [shape=(n,)] of str
        The clip of each window (or feature row).
    clips : pd.DataFrame
        Has ``clip_id``, ``split`` and ``label`` for every clip of ``clip_ids``;
        the result takes :func:`train_normal_mask` and :func:`evaluation_mask`.
    owner : str, default="these features"
        What ``clip_ids`` belong to, for the error message.

    Raises
    ------
    DataError
        If ``clips`` has no split (or label) or lacks a clip of ``clip_ids``.
    """
    missing = [c for c in ("clip_id", "split", "label") if c not in clips.columns]
    if missing:
        raise DataError(f"clips table has no column {', '.join(map(repr, missing))}; "
                        "split the clips first (soundad.data.choose_split)")
    table = clips.set_index("clip_id")
    ids = np.asarray(clip_ids).reshape(-1)
    unknown = sorted(set(ids) - set(table.index))
    if unknown:
        raise DataError(f"{len(unknown)} clips of {owner} are not in the clips table, e.g. {str(unknown[0])!r}")
    return table.loc[ids]
