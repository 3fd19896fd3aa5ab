"""Student copies: every solution gone (fenced or gated), exercises and code kept, outputs cleared."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from soundad.book import list_notebooks
from soundad.student import solution_texts, strip_solutions, write_student_copies

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = list_notebooks(ROOT)


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(text, outputs=()):
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": list(outputs), "execution_count": 3}


def notebook(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


SECRET = "the right answer is forty-two windows"


def test_fenced_solution_is_removed_and_the_exercise_kept():
    nb = notebook(
        md("## Exercises\n\n````{exercise}\n:label: ex-a\nCount the windows.\n````\n\n"
           "````{solution} ex-a\n:class: dropdown\n\n" + SECRET + "\n```python\nprint(42)\n```\n````\n\nAfter."),
        code("x = 1", outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}]),
    )
    student = strip_solutions(nb)
    text = json.dumps(student)
    assert SECRET not in text and "print(42)" not in text and "{solution}" not in text
    assert "Count the windows." in text and "After." in text
    assert student["cells"][1]["outputs"] == [] and student["cells"][1]["execution_count"] is None
    assert any(SECRET in line for line in solution_texts(nb))
    assert nb["cells"][1]["outputs"], "the original must not be modified"


def test_gated_solution_spanning_cells_is_removed():
    nb = notebook(
        md("```{exercise-start}\n:label: ex-b\n```\nPlot it.\n```{exercise-end}\n```"),
        md("```{solution-start} ex-b\n:class: dropdown\n```\n" + SECRET),
        code("plot_the_answer()"),
        md("More solution prose.\n```{solution-end}\n```\nText after the gate."),
        code("kept_code()"),
    )
    student = strip_solutions(nb)
    text = json.dumps(student)
    assert SECRET not in text and "plot_the_answer" not in text and "More solution prose" not in text
    assert "Plot it." in text and "Text after the gate." in text and "kept_code()" in text
    assert "solution-start" not in text and "solution-end" not in text


def test_a_colon_fenced_solution_and_nested_fences():
    nb = notebook(md(":::{solution} ex-c\n```python\n" + SECRET + "\n```\n:::\nend"))
    student = strip_solutions(nb)
    assert [c["source"] for c in student["cells"]] == ["end"]


def _solution_bodies(text: str) -> list[str]:
    """An independent reading of the fenced solution blocks (not the module's parser)."""
    return [m.group(2) for m in re.finditer(r"^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1\s*$", text, re.M | re.S)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_copy_of_each_chapter_holds_no_solution_text(path, tmp_path):
    (copy,) = write_student_copies([path], tmp_path)
    original = json.loads(path.read_text(encoding="utf-8"))
    student = json.loads(copy.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(c["source"]) for c in original["cells"] if c["cell_type"] == "markdown")
    bodies = _solution_bodies(markdown)
    assert bodies, f"{path.name}: no solution found to strip"
    outside = "\n".join("".join(c["source"]) for c in original["cells"])
    for body in bodies:
        outside = outside.replace(body, "")
    student_text = "\n".join("".join(c["source"]) for c in student["cells"])
    assert "{solution" not in student_text
    distinctive = [line.strip() for body in bodies for line in body.splitlines()
                   if len(line.strip()) >= 25 and line.strip() not in outside]
    assert distinctive, f"{path.name}: solutions have no distinctive line to look for"
    leaked = [line for line in distinctive if line in student_text]
    assert not leaked, f"{path.name}: solution text in the student copy: {leaked[:3]}"
    assert student_text.count("{exercise}") == markdown.count("{exercise}")
    codes = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert codes and all(c["outputs"] == [] for c in codes)
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.reads(copy.read_text(encoding="utf-8"), as_version=4))  # opens in Jupyter/Colab
