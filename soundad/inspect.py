"""Pick the clips worth listening to and say what each window is (chapters 01-05).

An AUC summarises how the scores of normal and abnormal test clips are ordered.
The clips at the edges of that order show what the number hides:

* the **highest-scoring normal** clip: the first false alarm as the threshold
  comes down;
* the **lowest-scoring abnormal** clip: the fault the detector misses longest;
* the **top abnormal** clip: the fault it finds most easily.

:func:`pick_clips` finds the three in a table of clip scores (the one
:func:`soundad.evaluate.clip_score_table` returns); :func:`describe_pick`
turns one of them into a caption for a player or a figure.

Before any detector, chapters 01-02 listen to :func:`example_clips` (a normal
and an abnormal clip of one machine), and chapter 03 colours each window by
:func:`window_kinds` (training, test normal, test abnormal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.data import GROUP_COLUMNS, evaluation_mask, train_normal_mask
from soundad.data.groups import rows_of_clips
from soundad.errors import DataError, ParameterError

__all__ = ["CASES", "WINDOW_KINDS", "pick_clips", "describe_pick", "example_clips", "group_of", "window_kinds"]

#: The cases :func:`pick_clips` returns, in this order.
CASES = ("highest-scoring normal", "lowest-scoring abnormal", "top abnormal")

_LABELS = {"normal": 0, "abnormal": 1, 0: 0, 1: 1}

#: What :func:`window_kinds` calls a window, by the split and label of its clip.
WINDOW_KINDS = ("train (normal)", "test normal", "test abnormal")


def _is_abnormal(labels: pd.Series) -> np.ndarray:
    unknown = sorted({str(v) for v in labels if v not in _LABELS})
    if unknown:
        raise DataError(
            f"column 'label' holds {', '.join(unknown[:3])}; expected 'normal'/'abnormal' or 0/1"
        )
    return labels.map(_LABELS).to_numpy(dtype=bool)


def pick_clips(scores: pd.DataFrame) -> pd.DataFrame:
    """The highest-scoring normal, the lowest-scoring abnormal and the top abnormal clip.

    Parameters
    ----------
    scores : pd.DataFrame
        One row per test clip of one method, with columns ``clip_id``,
        ``label`` ("normal"/"abnormal" or 0/1) and ``score`` (anomaly score,
        higher = more anomalous). Other columns (e.g. ``path``) are kept.

    Returns
    -------
    picks : pd.DataFrame
        Three rows, one per entry of :data:`CASES`, with the input's columns
        plus ``case``, ``rank`` (1 = the highest score of all test clips),
        ``n_clips`` (test clips ranked) and ``n_other`` with ``n_passed``: how
        many clips of the *other* label the clip passes in the wrong
        direction (a normal clip scoring above abnormal ones, an abnormal
        clip scoring below normal ones; 0 for the top abnormal clip when it
        outscores every normal clip). Ties are broken by ``clip_id``, so the
        picks are the same on every run.

    Raises
    ------
    DataError
        A missing column, a non-finite score, a clip listed twice, or a table
        without both a normal and an abnormal clip.
    """
    if not isinstance(scores, pd.DataFrame):
        raise ParameterError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    missing = [c for c in ("clip_id", "label", "score") if c not in scores.columns]
    if missing:
        raise DataError(
            f"scores table lacks column(s) {', '.join(missing)}; expected clip_id, label and score"
        )
    table = scores.reset_index(drop=True).copy()
    values = pd.to_numeric(table["score"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        bad = table.loc[~np.isfinite(values), "clip_id"].head(3)
        raise DataError(f"non-finite score for clip(s) {', '.join(map(str, bad))}")
    if table["clip_id"].duplicated().any():
        dup = table.loc[table["clip_id"].duplicated(), "clip_id"].head(3)
        raise DataError(
            f"clip(s) {', '.join(map(str, dup))} appear twice: pass the scores of one method"
        )
    abnormal = _is_abnormal(table["label"])
    if abnormal.all() or not abnormal.any():
        raise DataError("scores table needs at least one normal and one abnormal clip")
    table["score"] = values
    order = np.lexsort((table["clip_id"].astype(str).to_numpy(), -values))
    table["rank"] = np.empty(len(table), dtype=int)
    table.loc[order, "rank"] = np.arange(1, len(table) + 1)
    table["n_clips"] = len(table)

    normal_scores, abnormal_scores = values[~abnormal], values[abnormal]
    ranked = table.loc[order]
    ranked_abnormal = abnormal[order]
    picks = [
        ranked[~ranked_abnormal].iloc[0],
        ranked[ranked_abnormal].iloc[-1],
        ranked[ranked_abnormal].iloc[0],
    ]
    rows = []
    for case, row in zip(CASES, picks):
        row = row.copy()
        row["case"] = case
        if case == "highest-scoring normal":
            row["n_other"] = len(abnormal_scores)
            row["n_passed"] = int((abnormal_scores < row["score"]).sum())
        else:
            row["n_other"] = len(normal_scores)
            row["n_passed"] = int((normal_scores > row["score"]).sum())
        rows.append(row)
    picks = pd.DataFrame(rows).reset_index(drop=True)
    first = ["case", "clip_id", "label", "score", "rank", "n_clips", "n_passed", "n_other"]
    return picks[first + [c for c in picks.columns if c not in first]]


def describe_pick(pick: pd.Series, *, digits: int = 3) -> str:
    """A caption for one row of :func:`pick_clips`.

    Example: ``"highest-scoring normal: clip 0dB/fan/id_00/normal/00000003
    (label normal, anomaly score 12.4, rank 2 of 20; above 5 of 10
    abnormal clips)"``.
    """
    label = pick["label"]
    if label in (0, 1):
        label = "abnormal" if label else "normal"
    other = "abnormal" if label == "normal" else "normal"
    where = "above" if label == "normal" else "below"
    return (
        f"{pick['case']}: clip {pick['clip_id']} (label {label}, anomaly score "
        f"{pick['score']:.{digits}g}, rank {int(pick['rank'])} of {int(pick['n_clips'])}; "
        f"{where} {int(pick['n_passed'])} of {int(pick['n_other'])} {other} clips)"
    )


def example_clips(clips: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """A normal and an abnormal clip of the same machine, SNR and model, to listen to.

    Parameters
    ----------
    clips : pd.DataFrame
        A clips table (``clip_id``, ``path``, the group columns and ``label``),
        e.g. from :func:`soundad.data.read_layout`.

    Returns
    -------
    normal, abnormal : pd.Series
        The first normal clip of the table (in its row order) and the first
        abnormal clip of that clip's group.

    Raises
    ------
    DataError
        Missing columns, no normal clip, or no abnormal clip beside it.
    """
    missing = [c for c in (*GROUP_COLUMNS, "label") if c not in clips.columns]
    if missing:
        raise DataError(f"clips table lacks column(s) {', '.join(missing)}; expected a read_layout table")
    normal = clips[clips["label"] == "normal"]
    if normal.empty:
        raise DataError("clips table has no normal clip; expected at least one")
    first = normal.iloc[0]
    group = group_of(clips, first)
    abnormal = group[group["label"] == "abnormal"]
    if abnormal.empty:
        where = " ".join(str(first[c]) for c in GROUP_COLUMNS)
        raise DataError(f"no abnormal clip in the group of {first['clip_id']} ({where})")
    return first, abnormal.iloc[0]


def group_of(clips: pd.DataFrame, clip: pd.Series) -> pd.DataFrame:
    """The rows of ``clips`` with the same SNR, machine and model as ``clip`` (in table order)."""
    missing = [c for c in GROUP_COLUMNS if c not in clips.columns or c not in clip.index]
    if missing:
        raise DataError(f"clips or clip lack column(s) {', '.join(missing)}; expected {', '.join(GROUP_COLUMNS)}")
    same = (clips[list(GROUP_COLUMNS)] == clip[list(GROUP_COLUMNS)]).all(axis=1)
    return clips[same]


def window_kinds(clip_ids, clips: pd.DataFrame) -> np.ndarray:
    """What each window is, by its clip: one of :data:`WINDOW_KINDS`, or ``"unused"``.

    Parameters
    ----------
    clip_ids : array-like [shape=(n_windows,)] of str
        The clip of each window, e.g. ``WindowFeatures.clip_ids``.
    clips : pd.DataFrame
        Has ``clip_id``, ``split`` and ``label`` for every clip of the windows
        (e.g. from :func:`soundad.data.first_group`).

    Returns
    -------
    kinds : np.ndarray [shape=(n_windows,)] of str
        ``"train (normal)"`` for windows a detector is fitted on
        (:func:`soundad.data.train_normal_mask`), ``"test normal"`` /
        ``"test abnormal"`` for the windows it is scored on
        (:func:`soundad.data.evaluation_mask`), ``"unused"`` for any other.
    """
    per_window = rows_of_clips(clip_ids, clips, owner="the windows")
    kinds = np.full(len(per_window), "unused", dtype=object)
    kinds[train_normal_mask(per_window).to_numpy()] = WINDOW_KINDS[0]
    test = evaluation_mask(per_window).to_numpy()
    kinds[test] = np.where(per_window["label"].to_numpy()[test] == "abnormal", WINDOW_KINDS[2], WINDOW_KINDS[1])
    return kinds.astype(str)
