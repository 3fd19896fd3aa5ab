"""Chapter 07 (DCASE and domain shift): its helpers, its exercise check, its glued prose.

The glued-sentence tests execute the chapter with its CI parameters (synthetic
DCASE-2023-style data) into ``_build/executed`` and check that every sentence
the chapter states about a comparison agrees with the numbers glued beside it.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from soundad.book import ci_parameters, execute_notebooks, glued_values, list_notebooks
from soundad.dcase_chapter import dcase_data, domain_aucs, domain_gap
from soundad.dcase_scores import dcase_scores
from soundad.errors import ParameterError
from soundad.exercises import check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = next(nb for nb in list_notebooks(ROOT) if nb.stem.startswith("07_"))
_NUMBER = r"([+-]?\d+\.\d+)"
_DIFF = re.compile(
    rf"^(?P<a>.+) minus (?P<b>.+): AUC {_NUMBER} \[{_NUMBER}, {_NUMBER}\] "
    r"\((?P<level>\d+) % interval, (?P<n>\d+) test clips\): (?P<verdict>.+)\.$"
)


def _table() -> pd.DataFrame:
    """One section: source normals below every anomaly, target normals mixed in."""
    rows = [("s0", "normal", "source", 0.1), ("s1", "normal", "source", 0.2),
            ("t0", "normal", "target", 0.9), ("t1", "normal", "target", 0.3),
            ("a0", "abnormal", "source", 0.5), ("a1", "abnormal", "target", 0.8)]
    table = pd.DataFrame(rows, columns=["clip_id", "label", "domain", "score"])
    return table.assign(snr="dcase2021-2025", machine="fan", model_id="section_00",
                        backbone="b", weights="imagenet")


# ----------------------------------------------------------------------------- helpers
def test_domain_aucs_follow_the_dcase_definition_by_hand():
    table = _table()
    aucs = domain_aucs(table.drop(columns="domain"), table[["clip_id", "domain"]],
                       n_boot=50).set_index("domain")
    # source: normals 0.1, 0.2 against anomalies 0.5, 0.8 -> 4 of 4 pairs
    assert aucs.loc["source", "auc"] == 1.0
    # target: normals 0.9, 0.3 against 0.5, 0.8 -> (0.3 < 0.5, 0.3 < 0.8) = 2 of 4
    assert aucs.loc["target", "auc"] == 0.5
    assert (aucs["n_normal"] == 2).all() and (aucs["n_abnormal"] == 2).all()
    assert (aucs["lo"] <= aucs["auc"]).all() and (aucs["auc"] <= aucs["hi"]).all()
    # the same per-domain AUCs as the DCASE score table
    row = dcase_scores(table).iloc[0]
    assert row["auc_source"] == 1.0 and row["auc_target"] == 0.5


def test_domain_gap_estimate_interval_and_determinism():
    table = _table()
    gap, lo, hi, n = domain_gap(table, n_boot=200, seed=3)
    assert gap == pytest.approx(0.5) and n == 6
    assert lo <= gap <= hi
    assert domain_gap(table, n_boot=200, seed=3) == (gap, lo, hi, n)
    with pytest.raises(Exception, match="appears twice"):
        domain_gap(pd.concat([table, table]))


def test_dcase_data_rejects_a_folder_without_dcase_layout(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio")
    for folder in (tmp_path / "missing", tmp_path):  # absent; present but no DCASE names
        with pytest.raises(ParameterError, match="DCASE Task 2"):
            dcase_data(folder, cache_dir=tmp_path)


def test_dcase_data_synthetic_is_small_labelled_and_reused(tmp_path):
    data = dcase_data("synthetic", cache_dir=tmp_path, n_normal=8, n_abnormal=2,
                      duration=1.0)
    assert data.kind == "synthetic" and "SYNTHETIC" in data.description
    counts = data.clips.groupby(["split", "domain", "label"]).size().to_dict()
    assert counts == {("test", "source", "abnormal"): 2, ("test", "source", "normal"): 2,
                      ("test", "target", "abnormal"): 2, ("test", "target", "normal"): 2,
                      ("train", "source", "normal"): 8, ("train", "target", "normal"): 1}
    again = dcase_data("synthetic", cache_dir=tmp_path, n_normal=8, n_abnormal=2,
                       duration=1.0)
    pd.testing.assert_frame_equal(data.clips, again.clips)


# ----------------------------------------------------------------------------- exercise
def test_official_score_exercise_passes_the_harmonic_mean_only(capsys):
    rows = dcase_scores(_table())
    values = rows[["auc_source", "auc_target", "pauc_official"]].to_numpy().ravel()
    assert check("ch07-official", len(values) / np.sum(1 / values), table=rows)
    assert "✓ right" in capsys.readouterr().out
    assert not check("ch07-official", float(np.mean(values)), table=rows)
    out = capsys.readouterr().out
    assert "not yet" in out and f"{np.mean(values):.3f}" not in out
    assert not check("ch07-official", "a lot", table=rows)


# ----------------------------------------------------------------------------- structure
def test_chapter07_structure_parameters_and_hidden_glue():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**Learning goals.**" in markdown
    assert markdown.index("## Summary") < markdown.index("## Exercises")
    assert 'check("ch07-official"' in markdown
    assert "stand-in" in markdown and "not a test of that claim" in markdown
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "setup_page()" in code[2].source
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None
        assert all(len(line) <= 88 for line in cell.source.splitlines())
        shows = re.search(r"\b(print|display|plt|fig)\b[.(]", cell.source)
        if "glue(" in cell.source and not shows:
            assert "remove-cell" in cell.metadata.get("tags", []), cell.source
    assert set(ci_parameters(ROOT)[NOTEBOOK.stem]) <= {
        node.targets[0].id for node in ast.parse(code[1].source).body}


def test_chapter07_calls_the_package_instead_of_masks_and_loops():
    """Split masks, example picks, pairs and glue loops live in soundad.dcase_chapter
    (tests/test_dcase_chapter_helpers.py checks each against the code it replaced)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"""==\s*["'](train|test)["']""", code), "use the split masks"
    assert "groupby(" not in code and "crosstab(" not in code and "pivot(" not in code
    for helper in ("clip_counts", "domain_examples", "choose_networks", "domain_table",
                   "gap_statement", "official_scores", "compare_pairs(scores, capacity_pairs",
                   "layer_sentences", "numbered_values"):
        assert helper in code, helper


# ----------------------------------------------------------------------------- glued prose
def _glued() -> dict:
    target = ROOT / "_build" / "executed" / NOTEBOOK.name
    sources = [NOTEBOOK, *(ROOT / "soundad").rglob("*.py")]
    if (os.environ.get("SOUNDAD_REEXECUTE") or not target.is_file()
            or target.stat().st_mtime < max(f.stat().st_mtime for f in sources)):
        os.environ.setdefault("SOUNDAD_CACHE", str(ROOT / "_build" / "soundad-cache"))
        execute_notebooks([NOTEBOOK], out_dir=target.parent,
                          parameters=ci_parameters(ROOT), timeout=900)
    bundles = glued_values(target)
    return {name: ast.literal_eval(bundle["text/plain"]) for name, bundle in bundles.items()}


def _agrees(sentence: str, estimate: float, lo: float, hi: float, a: str, b: str):
    match = _DIFF.match(sentence)
    assert match, sentence
    numbers = tuple(float(match.group(i)) for i in (3, 4, 5))
    assert numbers == tuple(float(f"{v:.2f}") for v in (estimate, lo, hi)), sentence
    assert lo <= estimate <= hi
    verdict = match.group("verdict")
    if lo > 0:
        assert verdict == f"the interval excludes 0, in favour of {a}", sentence
    elif hi < 0:
        assert verdict == f"the interval excludes 0, in favour of {b}", sentence
    else:
        assert verdict == "the difference is within noise", sentence
    return match


@pytest.mark.slow
def test_chapter07_glued_sentences_agree_with_their_numbers():
    g = _glued()
    assert "SYNTHETIC" in g["ch07_data"]  # CI runs on synthetic DCASE data
    match = _agrees(g["ch07_gap_sentence"], g["ch07_gap"], g["ch07_gap_lo"],
                    g["ch07_gap_hi"], "source", "target domain")
    assert int(match.group("n")) == g["ch07_gap_n"]
    last = g["ch07_cap_last"]
    assert last >= 1  # at least one ImageNet/random pair and the size comparison
    assert g["ch07_cap_last_sentence"] == g[f"ch07_cap{last}_sentence"]
    for k in range(last + 1):
        m = _DIFF.match(g[f"ch07_cap{k}_sentence"])
        assert m, g[f"ch07_cap{k}_sentence"]
        _agrees(g[f"ch07_cap{k}_sentence"], g[f"ch07_cap{k}"], g[f"ch07_cap{k}_lo"],
                g[f"ch07_cap{k}_hi"], m.group("a"), m.group("b"))
    assert 0 < float(g["ch07_official"]) <= 1


@pytest.mark.slow
def test_chapter07_layer_sentences_agree_with_their_numbers():
    g = _glued()
    n = g["ch07_layer_n"]
    assert n >= 2  # at least one layer, ImageNet and random weights
    assert g["ch07_layer_first"] == g["ch07_layer0_sentence"]
    for k in range(n):
        sentence = g[f"ch07_layer{k}_sentence"]
        m = _DIFF.match(sentence)
        assert m and m.group("b").startswith("default ("), sentence
        _agrees(sentence, g[f"ch07_layer{k}"], g[f"ch07_layer{k}_lo"],
                g[f"ch07_layer{k}_hi"], m.group("a"), m.group("b"))


def test_dcase_data_reads_a_dcase2020_folder_cut_to_one_section(tmp_path):
    from soundad.data.dcase_synth import write_dcase_synthetic

    root = write_dcase_synthetic(tmp_path / "d2020", layout="dcase2020",
                                 machines=("fan", "valve"), n_normal=6, n_abnormal=3,
                                 duration=1.0)
    data = dcase_data(root, cache_dir=tmp_path, n_normal=4, n_abnormal=2)
    assert data.kind == "path" and data.layout == "dcase2020"
    assert "domain" not in data.clips.columns and set(data.clips["machine"]) == {"fan"}
    counts = data.clips.groupby(["split", "label"]).size().to_dict()
    assert counts == {("test", "abnormal"): 2, ("test", "normal"): 2, ("train", "normal"): 4}
