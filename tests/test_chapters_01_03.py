"""Chapters 01-03: the clip picker, the self-checking exercises, and glued prose.

The glued-sentence tests read the executed notebooks in ``_build/executed``
(made by ``tests/test_notebooks.py``'s ``ensure_executed``) and check that
every sentence a chapter states about a comparison agrees with the numbers it
glued next to it.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

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


# ----------------------------------------------------------------------------- prose
from soundad.errors import ParameterError  # noqa: E402
from soundad.prose import auc_sentence, difference_sentence, interval  # noqa: E402

_NUMBER = r"([+-]?\d+\.\d+)"
_DIFF = re.compile(
    rf"^(?P<a>.+) minus (?P<b>.+): AUC {_NUMBER} \[{_NUMBER}, {_NUMBER}\] "
    r"\((?P<level>\d+) % interval, (?P<n>\d+) test clips\): (?P<verdict>.+)\.$"
)
_AUC = re.compile(
    rf"^(?P<subject>.+): AUC {_NUMBER} \[{_NUMBER}, {_NUMBER}\] "
    r"\((?P<level>\d+) % interval, (?P<n>\d+) clips\): (?P<verdict>.+)\.$"
)


def test_interval_formats_value_and_bounds():
    assert interval(0.7234, 0.55, 0.881) == "0.72 [0.55, 0.88]"
    assert interval(-0.03, -0.12, 0.18, sign=True) == "-0.03 [-0.12, +0.18]"
    with pytest.raises(ParameterError, match="lo must not exceed hi"):
        interval(0.5, 0.6, 0.4)
    with pytest.raises(ParameterError, match="finite"):
        interval(float("nan"), 0.1, 0.2)


@pytest.mark.parametrize(
    "lo, hi, verdict",
    [(0.05, 0.2, "the interval excludes 0, in favour of A"),
     (-0.3, -0.01, "the interval excludes 0, in favour of B"),
     (-0.1, 0.2, "the difference is within noise")],
)
def test_difference_sentence_follows_the_interval(lo, hi, verdict):
    sentence = difference_sentence("A", "B", (lo + hi) / 2, lo, hi, n_clips=30)
    match = _DIFF.match(sentence)
    assert match and match.group("verdict") == verdict, sentence
    assert match.group("n") == "30" and match.group("level") == "95"


@pytest.mark.parametrize(
    "lo, hi, verdict",
    [(0.6, 0.9, "better than chance"), (0.1, 0.45, "worse than chance"),
     (0.4, 0.8, "within noise of chance")],
)
def test_auc_sentence_follows_the_interval(lo, hi, verdict):
    sentence = auc_sentence("Loudness", (lo + hi) / 2, lo, hi, n_clips=40)
    match = _AUC.match(sentence)
    assert match and match.group("verdict").startswith(verdict), sentence


# ----------------------------------------------------------------------------- exercises
exercises = pytest.importorskip("soundad.exercises")


def _check(capsys, exercise_id, answer, **context):
    result = exercises.check(exercise_id, answer, **context)
    return result, capsys.readouterr().out


@pytest.mark.parametrize(
    "exercise_id, right, wrong, secret",
    [
        ("ch01-split", (100, 300), (100, 400), "300"),
        ("ch01-noise-power", 12.0, 6.0, "12"),
        ("ch02-frames", 626, 313, "626"),
        ("ch02-windows", 18, 8, "18"),
    ],
)
def test_exercise_checks_pass_right_and_fail_wrong_answers(capsys, exercise_id, right, wrong,
                                                           secret):
    ok, out = _check(capsys, exercise_id, right)
    assert ok is True and "right" in out
    ok, out = _check(capsys, exercise_id, wrong)
    assert ok is False and "hint" in out
    assert secret not in out, f"{exercise_id}: the check printed the answer"
    ok, _ = _check(capsys, exercise_id, "not a number")
    assert ok is False


def test_exercise_answers_come_from_the_package():
    from soundad.exercises import ch01, ch02

    assert ch01.split_counts(400, 100) == (100, 300)
    assert ch01.split_counts(50, 10) == (10, 40)
    assert abs(ch01.noise_power_change(6, -6) - 12.0) < 1e-6
    assert abs(ch01.noise_power_change(0, -3) - 3.0) < 1e-6
    assert ch02.frames_of_clip(n_fft=2048, hop_length=256) == 1 + 160000 // 256
    assert ch02.windows_of_clip(length=64, hop=32) == 1 + (1 + 160000 // 512 - 64) // 32


def test_auc_pair_exercise_counts_pairs_with_ties(capsys):
    table = pd.DataFrame({"label": ["normal", "normal", "abnormal", "abnormal"],
                          "score": [0.1, 0.5, 0.5, 0.9]})
    # pairs (abnormal, normal): (0.5, 0.1) right, (0.5, 0.5) tie, (0.9, .) right twice
    ok, _ = _check(capsys, "ch03-auc-pairs", 3.5 / 4, scores=table)
    assert ok is True
    ok, out = _check(capsys, "ch03-auc-pairs", 0.75, scores=table)
    assert ok is False and "0.875" not in out
    ok, out = _check(capsys, "ch03-auc-pairs", 3.5 / 4)  # the table was not passed
    assert ok is False and "scores=" in out


# ----------------------------------------------------------------------------- notebooks
nbformat = pytest.importorskip("nbformat")
from soundad.book import (  # noqa: E402
    ci_parameters,
    execute_notebooks,
    glued_values,
    list_notebooks,
)

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = {nb.stem: nb for nb in list_notebooks(ROOT) if nb.stem[:2] in {"01", "02", "03"}}


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_chapter_has_goals_summary_checks_and_hidden_glue(stem):
    nb = nbformat.read(CHAPTERS[stem], as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    goals = re.search(r"\*\*Learning goals\.\*\*[^\n]*\n+((?:\d\. .*\n(?:   .*\n)*)+)", markdown)
    assert goals, f"{stem}: no learning goals"
    assert 2 <= len(re.findall(r"^\d\. ", goals.group(1), flags=re.M)) <= 4
    assert markdown.index("## Summary") < markdown.index("## Exercises"), stem
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any("check(\"" in c.source for c in code) or 'check("' in markdown, stem
    assert "setup_page()" in code[2].source, f"{stem}: setup_page() belongs in the first cell"
    for cell in code:
        shows = re.search(r"\b(print|display|plt|fig)\b[.(]", cell.source)
        hidden = "remove-cell" in cell.metadata.get("tags", [])
        if "glue(" in cell.source and not shows:
            assert hidden, f"{stem}: a glue-only cell must be tagged remove-cell:\n{cell.source}"
        if hidden:
            assert not shows, f"{stem}: a removed cell must not show anything:\n{cell.source}"
        assert "Audio(" not in cell.source, f"{stem}: play audio with soundad.plots.listen"
        assert "/tmp/" not in cell.source and "source.root}" not in cell.source, stem


def _executed(stem: str) -> Path:
    """The executed copy of one chapter in _build/executed (run now only if stale).

    Same folder, parameters and cache as tests/test_notebooks.py, but only the
    chapter asked for runs, so these tests do not execute chapters 04-06.
    """
    notebook = CHAPTERS[stem]
    target = ROOT / "_build" / "executed" / notebook.name
    sources = [*CHAPTERS.values(), *(ROOT / "soundad").rglob("*.py")]
    newest = max(f.stat().st_mtime for f in sources)
    if (os.environ.get("SOUNDAD_REEXECUTE") or not target.is_file()
            or target.stat().st_mtime < newest):
        os.environ.setdefault("SOUNDAD_CACHE", str(ROOT / "_build" / "soundad-cache"))
        execute_notebooks([notebook], out_dir=target.parent,
                          parameters=ci_parameters(ROOT), timeout=900)
    return target


def _glued(stem: str) -> dict:
    bundles = glued_values(_executed(stem))
    return {name: ast.literal_eval(bundle["text/plain"]) for name, bundle in bundles.items()}


def _rounded(value, digits=2):
    return float(f"{value:.{digits}f}")


@pytest.mark.slow
def test_chapter01_loudness_sentence_agrees_with_its_numbers():
    g = _glued("01_machine_sounds")
    match = _AUC.match(g["ch01_loud_sentence"])
    assert match, g["ch01_loud_sentence"]
    auc, lo, hi = (float(match.group(i)) for i in (2, 3, 4))
    assert (auc, lo, hi) == tuple(_rounded(g[k]) for k in
                                  ("ch01_loud_auc", "ch01_loud_lo", "ch01_loud_hi"))
    assert int(match.group("n")) == g["ch01_loud_n"]
    assert g["ch01_loud_lo"] <= g["ch01_loud_auc"] <= g["ch01_loud_hi"]
    verdict = match.group("verdict")
    if g["ch01_loud_lo"] > 0.5:
        assert verdict.startswith("better than chance")
    elif g["ch01_loud_hi"] < 0.5:
        assert verdict.startswith("worse than chance")
    else:
        assert verdict.startswith("within noise")


@pytest.mark.slow
def test_chapter02_normalisation_prose_matches_the_backbone():
    from soundad.backbones import load_backbone

    g = _glued("02_mel_images")
    backbone = load_backbone(g["ch02_backbone"], weights="random")
    assert g["ch02_norm_mean"] == ", ".join(f"{v:.3f}" for v in backbone.mean)
    assert g["ch02_norm_std"] == ", ".join(f"{v:.3f}" for v in backbone.std)


@pytest.mark.slow
def test_chapter03_comparison_sentence_agrees_with_its_numbers():
    g = _glued("03_imagenet_features")
    match = _DIFF.match(g["ch03_diff_sentence"])
    assert match, g["ch03_diff_sentence"]
    assert match.group("a") == "ImageNet weights" and match.group("b") == "random weights"
    diff, lo, hi = (float(match.group(i)) for i in (3, 4, 5))
    assert (diff, lo, hi) == tuple(_rounded(g[k]) for k in
                                   ("ch03_diff", "ch03_diff_lo", "ch03_diff_hi"))
    assert int(match.group("n")) == g["ch03_diff_n"]
    # one split, one group: the estimate is the difference of the two glued AUCs
    assert abs(g["ch03_diff"] - (g["ch03_auc_imagenet"] - g["ch03_auc_random"])) < 1e-6
    verdict = match.group("verdict")
    if g["ch03_diff_lo"] > 0:
        assert verdict == "the interval excludes 0, in favour of ImageNet weights"
    elif g["ch03_diff_hi"] < 0:
        assert verdict == "the interval excludes 0, in favour of random weights"
    else:
        assert verdict == "the difference is within noise"
    for tag in ("imagenet", "random"):
        auc, lo, hi = (g[f"ch03_auc_{tag}{s}"] for s in ("", "_lo", "_hi"))
        assert lo <= auc <= hi
        assert g[f"ch03_auc_{tag}_text"] == f"{auc:.2f} [{lo:.2f}, {hi:.2f}]"
