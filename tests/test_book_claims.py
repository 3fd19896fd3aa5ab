"""The book's computed sentences agree with the numbers glued beside them (chapters 04-06).

Every sentence that says how a comparison came out is produced by code
(:mod:`soundad.narrate`) and glued next to its numbers. These tests read an
executed notebook back and check, for each sentence, that

* the estimate and interval it prints are the glued ones, rounded as printed;
* its wording follows the interval: "higher"/"lower" only where the interval
  excludes zero, "cannot be told apart" where it includes zero; a verdict
  "supported" only where the interval lies above zero, and so on.

The ``agree_*`` helpers take a dict of glued values, so they can be run on any
executed copy; the slow tests run them on the notebooks ``make test`` executes.
"""

from __future__ import annotations

import ast
import re

import pytest

from soundad.book import glued_values

NUMBER = r"[+\-−]?\d+(?:\.\d+)?"


def _value(bundle: dict):
    return ast.literal_eval(bundle["text/plain"])


def glued(path) -> dict:
    """Glued values of an executed notebook, as Python objects."""
    return {k: _value(v) for k, v in glued_values(path).items()}


def _interval_in(sentence: str, digits: int) -> tuple[float, float, float]:
    match = re.search(rf"({NUMBER}) \[({NUMBER}), ({NUMBER})\]", sentence)
    assert match, f"no 'estimate [lo, hi]' in: {sentence}"
    return tuple(float(x.replace("−", "-")) for x in match.groups())


def _same(printed: tuple, values: tuple, digits: int, sentence: str) -> None:
    for p, v in zip(printed, values):
        assert p == pytest.approx(round(v, digits), abs=1.01 * 10**-digits / 2 + 1e-12), (
            f"sentence prints {printed}, glued numbers are {values}: {sentence}"
        )


def agree_difference(sentence: str, estimate: float, lo: float, hi: float,
                     *, a: str, b: str, digits: int = 2) -> None:
    """A comparison sentence prints its numbers and says what they show, no more."""
    _same(_interval_in(sentence, digits), (estimate, lo, hi), digits, sentence)
    assert sentence.startswith(f"{a} minus {b}:"), sentence
    assert lo <= hi, sentence
    judgement = sentence.rsplit("):", 1)[1]  # the words after "(95 % interval, n clips)"
    if lo > 0:
        assert a in judgement and "within noise" not in judgement, sentence
    elif hi < 0:
        assert b in judgement and "within noise" not in judgement, sentence
    else:
        assert "within noise" in judgement and a not in judgement, sentence


def agree_verdict(sentence: str, verdict: str, estimate: float, lo: float, hi: float) -> None:
    """A check's sentence names its verdict, and the verdict follows its interval."""
    if verdict == "not testable here":
        assert "not testable here" in sentence, sentence
        return
    assert verdict in sentence, sentence
    _same(_interval_in(sentence, 3), (estimate, lo, hi), 3, sentence)
    expected = "supported" if lo > 0 else "contradicted" if hi < 0 else "inconclusive"
    assert verdict == expected, f"verdict {verdict!r} but interval [{lo}, {hi}]: {sentence}"


def agree_chapter04(g: dict) -> None:
    agree_difference(g["ch04_compare_sentence"], g["ch04_compare_estimate"],
                     g["ch04_compare_lo"], g["ch04_compare_hi"],
                     a=g["ch04_compare_a"], b=g["ch04_compare_b"])
    assert g["ch04_best_detector"] in g["ch04_compare_a"]
    # The best detector is the one with the highest glued AUC.
    aucs = {k[len("ch04_auc_"):]: v for k, v in g.items()
            if k.startswith("ch04_auc_") and k not in ("ch04_auc_by_hand",)}
    assert max(aucs, key=aucs.get) == g["ch04_best_detector"]
    assert g["ch04_ci_width"] > 0 and g["ch04_ci_n"] >= 2
    auc, lo, hi = _interval_in(g["ch04_ci_text"], 2)
    _same((auc,), (g[f"ch04_auc_{g['ch04_listen_detector']}"],), 2, g["ch04_ci_text"])
    assert lo <= auc <= hi and hi - lo == pytest.approx(g["ch04_ci_width"], abs=0.011)
    assert g["ch04_n_players"] == 3


def agree_chapter05(g: dict) -> None:
    for key in ("conv", "dense"):
        agree_difference(g[f"ch05_{key}_vs_transfer_sentence"],
                         g[f"ch05_{key}_vs_transfer_estimate"],
                         g[f"ch05_{key}_vs_transfer_lo"], g[f"ch05_{key}_vs_transfer_hi"],
                         a=g[f"ch05_{key}_vs_transfer_a"], b=g[f"ch05_{key}_vs_transfer_b"])
    # The point estimate of a paired difference is the difference of the two AUCs.
    for key, name in (("conv", "conv_ae"), ("dense", "dense_ae")):
        diff = g[f"ch05_auc_{name}"] - g["ch05_auc_transfer"]
        assert g[f"ch05_{key}_vs_transfer_estimate"] == pytest.approx(diff, abs=1e-9)
    assert g["ch05_n_players"] == 3


def agree_chapter06(g: dict) -> None:
    rows = sorted(int(m.group(1)) for k in g
                  if (m := re.fullmatch(r"ch06_check(\d+)_verdict", k)))
    assert rows == list(range(g["ch06_n_checks"])) and rows, rows
    checks = rows  # one glued row per verdict row (check 1 has two)
    for prefix in ("ch06_check", "ch06_synth_check"):
        for i in checks:
            key = f"{prefix}{i}"
            agree_verdict(g[f"{key}_sentence"], g[f"{key}_verdict"], g[f"{key}_estimate"],
                          g[f"{key}_lo"], g[f"{key}_hi"])
    noise = g["ch06_noise_sentence"]
    assert f"On {g['ch06_n_test']} test clips" in noise, noise
    assert f"{g['ch06_noise_half_width']:.2f}" in noise, noise
    needed = g["ch06_clips_needed"]
    if needed > g["ch06_n_test"]:
        assert f"about {needed} test clips" in noise, noise
        assert f"{needed:,}" in g["ch06_settle_sentence"]
    assert g["ch06_repeats"] >= 1


# ----------------------------------------------------------------------------- fast: the helpers
def test_agree_difference_accepts_matching_and_rejects_wrong_wording():
    from soundad.prose import difference_sentence

    good = difference_sentence("ocsvm", "gmm", 0.12, 0.03, 0.2, n_clips=30)
    agree_difference(good, 0.12, 0.03, 0.2, a="ocsvm", b="gmm")
    with pytest.raises(AssertionError):  # interval includes zero: "better" is wrong
        agree_difference(good, 0.12, -0.03, 0.2, a="ocsvm", b="gmm")
    with pytest.raises(AssertionError):  # printed estimate is not the glued one
        agree_difference(good, 0.2, 0.03, 0.2, a="ocsvm", b="gmm")


def test_agree_verdict_rejects_a_verdict_the_interval_does_not_give():
    from soundad.narrate import verdict_sentence

    row = {"check": 0, "claim": "x beats y", "verdict": "supported", "estimate": 0.1,
           "lo": -0.02, "hi": 0.2, "evidence": ""}
    with pytest.raises(AssertionError):
        agree_verdict(verdict_sentence(row), "supported", 0.1, -0.02, 0.2)
    row["verdict"] = "inconclusive"
    agree_verdict(verdict_sentence(row), "inconclusive", 0.1, -0.02, 0.2)


# ----------------------------------------------------------------------------- slow: the book
def _executed(stem: str):
    from test_notebooks import ensure_executed

    return ensure_executed()[stem]


@pytest.mark.slow
def test_chapter04_sentences_follow_their_numbers():
    agree_chapter04(glued(_executed("04_one_class_detectors")))


@pytest.mark.slow
def test_chapter05_sentences_follow_their_numbers():
    agree_chapter05(glued(_executed("05_autoencoders")))


@pytest.mark.slow
def test_chapter06_states_every_check_in_words_with_its_interval():
    agree_chapter06(glued(_executed("06_reproduction")))
