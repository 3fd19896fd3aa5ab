"""Chapters 01-03: the clip picker, the self-checking exercises, and glued prose.

The glued-sentence tests read the executed notebooks in ``_build/executed``
(made by ``tests/test_notebooks.py``'s ``ensure_executed``) and check that
every sentence a chapter states about a comparison agrees with the numbers it
glued next to it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from soundad.errors import DataError
from soundad.inspect import CASES, describe_pick, pick_clips


# ----------------------------------------------------------------------------- pick_clips
def _scores(normal, abnormal):
    rows = [{"clip_id": f"n{i:02d}", "label": "normal", "score": s} for i, s in enumerate(normal)]
    rows += [{"clip_id": f"a{i:02d}", "label": "abnormal", "score": s} for i, s in enumerate(abnormal)]
    table = pd.DataFrame(rows)
    table["path"] = "/data/" + table["clip_id"] + ".wav"
    return table


def test_pick_clips_finds_the_extremes_and_counts_the_overlap():
    table = _scores(normal=[0.1, 0.9, 0.3], abnormal=[0.5, 2.0, 0.2, 1.0])
    picks = pick_clips(table).set_index("case")
    assert list(picks.index) == list(CASES)
    assert picks.loc["highest-scoring normal", "clip_id"] == "n01"
    assert picks.loc["lowest-scoring abnormal", "clip_id"] == "a02"
    assert picks.loc["top abnormal", "clip_id"] == "a01"
    # normal 0.9 lies above the abnormal 0.5 and 0.2; abnormal 0.2 lies below normal 0.9 and 0.3
    assert picks.loc["highest-scoring normal", "n_passed"] == 2
    assert picks.loc["highest-scoring normal", "n_other"] == 4
    assert picks.loc["lowest-scoring abnormal", "n_passed"] == 2
    assert picks.loc["top abnormal", "n_passed"] == 0
    assert picks.loc["top abnormal", "rank"] == 1
    assert picks.loc["highest-scoring normal", "rank"] == 3
    assert picks.loc["lowest-scoring abnormal", "rank"] == 6
    assert (picks["n_clips"] == 7).all()
    assert picks.loc["top abnormal", "path"] == "/data/a01.wav"  # other columns are kept


def test_pick_clips_breaks_ties_by_clip_id_and_accepts_binary_labels():
    table = pd.DataFrame({"clip_id": ["b", "a", "c", "d"], "label": [0, 0, 1, 1],
                          "score": [1.0, 1.0, 1.0, 3.0]})
    first = pick_clips(table)
    again = pick_clips(table.iloc[::-1])
    pd.testing.assert_frame_equal(first, again)
    picks = first.set_index("case")
    assert picks.loc["highest-scoring normal", "clip_id"] == "a"
    assert picks.loc["lowest-scoring abnormal", "clip_id"] == "c"


def test_describe_pick_names_case_label_score_and_rank():
    picks = pick_clips(_scores(normal=[0.1, 0.9], abnormal=[0.5, 2.0]))
    text = describe_pick(picks.iloc[0])
    assert text.startswith("highest-scoring normal: clip n01 (label normal")
    assert "anomaly score 0.9" in text and "rank 2 of 4" in text
    assert "above 1 of 2 abnormal clips" in text
    assert "below 0 of 2 normal clips" in describe_pick(picks.iloc[2])


@pytest.mark.parametrize(
    "table, message",
    [
        (pd.DataFrame({"clip_id": ["a"], "score": [1.0]}), "lacks column"),
        (_scores(normal=[0.1, 0.2], abnormal=[]), "one normal and one abnormal"),
        (_scores(normal=[0.1, np.nan], abnormal=[1.0]), "non-finite"),
        (pd.concat([_scores([0.1], [1.0])] * 2), "appear twice"),
        (pd.DataFrame({"clip_id": ["a", "b"], "label": ["ok", "bad"], "score": [1, 2]}),
         "expected 'normal'"),
    ],
)
def test_pick_clips_rejects_bad_tables(table, message):
    with pytest.raises(DataError, match=message):
        pick_clips(table)
