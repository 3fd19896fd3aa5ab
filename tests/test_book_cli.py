"""The soundad.book package: the names notebooks, tests and the Makefile use, and its command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import soundad.book
from soundad.book import ci_parameters
from soundad.book.cli import COMMANDS, build_parser, main
from soundad.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent


def test_the_names_notebooks_and_tests_import_are_there():
    # notebooks: glue, setup_page; tests: the rest; Makefile: python -m soundad.book build
    for name in ("glue", "setup_page", "glued_values", "ci_parameters", "execute_notebooks", "list_notebooks",
                 "find_root", "book_config", "build_book", "stage_executed_book", "finish_student_book",
                 "repository_url", "set_repository_url", "main"):
        assert callable(getattr(soundad.book, name)), name
    assert soundad.book.STUDENT_BRANCH == "student"
    assert set(soundad.book.__all__) <= set(dir(soundad.book))


def test_python_m_soundad_book_lists_the_five_commands():
    result = subprocess.run([sys.executable, "-m", "soundad.book", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert set(COMMANDS) == {"build", "execute", "ci-build", "student", "set-url"}


def test_execute_refuses_an_unknown_notebook_before_running_anything(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ParameterError, match="unknown notebooks \\['99_nope'\\]"):
        main(["execute", "--out", str(tmp_path / "executed"), "99_nope"])
    assert not (tmp_path / "executed").exists()


def test_a_bad_command_line_is_a_usage_error():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["publish"])


def test_ci_parameters_cover_every_notebook_with_the_default_backbone():
    from soundad.backbones import DEFAULT_BACKBONE

    params = ci_parameters(ROOT)
    assert set(params) == {nb.stem for nb in soundad.book.list_notebooks(ROOT)}
    assert {p["BACKBONE"] for p in params.values()} == {DEFAULT_BACKBONE}
