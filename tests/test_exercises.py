"""soundad.exercises: register a check, call it, never reveal the answer."""

from __future__ import annotations

import numpy as np
import pytest

import soundad.exercises as exercises
from soundad.exercises import check, register, registered
from soundad.features import MelConfig, compute_mel, sliding_windows

EXAMPLE = "test-windows-of-a-clip"


def _windows_of_a_clip(seconds: float, *, length: int = 64, hop: int = 32) -> int:
    clip = np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32)
    mel = compute_mel(clip, sr=16000, config=MelConfig())
    return int(sliding_windows(mel, length=length, hop=hop).shape[0])


@pytest.fixture(scope="module")
def example():
    """An example check as a chapter module would write it: the right answer comes from soundad."""

    @register(EXAMPLE, hint="count the frames first, then how often a 64-frame window fits with hop 32")
    def windows_of_a_clip(answer, *, seconds: float) -> bool:
        return int(answer) == _windows_of_a_clip(seconds)

    yield windows_of_a_clip
    exercises._REGISTRY.pop(EXAMPLE, None)


def test_right_and_wrong_answers_and_no_answer_shown(example, capsys):
    right = _windows_of_a_clip(4.0)
    assert check(EXAMPLE, right, seconds=4.0) is True
    assert capsys.readouterr().out.strip() == "✓ right"
    assert check(EXAMPLE, right + 1, seconds=4.0) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ not yet — hint: count the frames first")
    assert right > 1 and f" {right} " not in f" {out} ".replace(".", " ")  # the answer is not given away
    assert check(EXAMPLE, "nine", seconds=4.0) is False  # a malformed answer is just not right
    assert "not yet" in capsys.readouterr().out


def test_registered_lists_ids_and_the_chapters_import(example):
    ids = registered()
    assert EXAMPLE in ids and ids == sorted(ids)
    for chapter in ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06"):
        assert hasattr(exercises, chapter)
    assert exercises.hint(EXAMPLE).startswith("count the frames")


def test_unknown_id_is_one_clear_line(capsys):
    assert check("ch99-nothing", 1) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no exercise 'ch99-nothing'" in out and "known exercises" in out


def test_missing_context_says_what_to_pass(example, capsys):
    assert check(EXAMPLE, 3) is False
    out = capsys.readouterr().out
    assert "needs seconds=..." in out and out.count("\n") == 1


def test_register_rejects_bad_ids_hints_and_duplicates(example):
    with pytest.raises(ValueError, match="exercise_id"):
        register(" ", hint="x")
    with pytest.raises(ValueError, match="hint"):
        register("ch01-x", hint="")
    with pytest.raises(ValueError, match="registered twice"):
        register(EXAMPLE, hint="another")(lambda answer: True)
