"""Student copies of the chapter notebooks: no solutions, no outputs.

The book's solutions are sphinx-exercise blocks in markdown cells, either one
fenced directive::

    ````{solution} ex-ch02-windows
    :class: dropdown
    ...
    ````

or a gated pair that may span cells (code cells included)::

    ```{solution-start} ex-ch02-windows
    ```
    ...
    ```{solution-end}
    ```

:func:`strip_solutions` removes both (directive and body), and
:func:`write_student_copies` writes every chapter that way, outputs cleared,
for the download button, Colab and Binder. The instructor book keeps them.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

from soundad._io import atomic_write_text

__all__ = ["strip_solutions", "solution_texts", "student_copy", "write_student_copies"]

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w-]+)\}")


def _source(cell: Mapping) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _split_markdown(text: str, gate_open: bool) -> tuple[list[str], list[str], bool]:
    """Return (kept lines, removed lines, gate still open) of one markdown text.

    ``gate_open`` says whether a ``solution-start`` of an earlier cell is still open.
    """
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match and match["name"] in ("solution", "solution-start", "solution-end"):
            fence = match["fence"]
            end = i + 1
            while end < len(lines) and not _closes(lines[end], fence):
                end += 1
            block = lines[i:end + 1]
            removed += block
            gate_open = {"solution-start": True, "solution-end": False}.get(match["name"], gate_open)
            i = end + 1
            continue
        (removed if gate_open else kept).append(lines[i])
        i += 1
    return kept, removed, gate_open


def _walk(notebook: Mapping) -> tuple[list[dict], list[str]]:
    """Cells without solutions, and the text that was removed."""
    cells: list[dict] = []
    removed: list[str] = []
    inside_gate = False
    for cell in notebook.get("cells", []):
        text = _source(cell)
        if cell.get("cell_type") != "markdown":
            if inside_gate:
                removed.append(text)
            else:
                cells.append(dict(cell))
            continue
        kept, gone, inside_gate = _split_markdown(text, inside_gate)
        removed += gone
        body = "".join(kept)
        if body.strip():
            new = dict(cell)
            new["source"] = body.rstrip("\n")
            cells.append(new)
    return cells, removed


def strip_solutions(notebook: Mapping, *, clear_outputs: bool = True) -> dict:
    """A copy of an nbformat-4 notebook (dict) without solutions (and without outputs).

    Parameters
    ----------
    notebook : mapping
        ``json.load``-ed ``.ipynb``.
    clear_outputs : bool, default=True
        Also drop outputs and execution counts.

    Returns
    -------
    dict
        The student notebook; markdown cells that held only a solution are gone.
    """
    result = copy.deepcopy(dict(notebook))
    cells, _ = _walk(result)
    for cell in cells:
        if clear_outputs and cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    result["cells"] = cells
    return result


def solution_texts(notebook: Mapping) -> list[str]:
    """The solution text a notebook holds (directive lines and bodies), for tests."""
    _, removed = _walk(notebook)
    return removed


def student_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Write the student copy of the notebook ``source`` to ``target`` (atomically)."""
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    text = json.dumps(strip_solutions(notebook), indent=1, ensure_ascii=False) + "\n"
    return atomic_write_text(target, text)


def write_student_copies(notebooks: Iterable[str | os.PathLike], out_dir: str | os.PathLike) -> list[Path]:
    """Write the student copy of each notebook into ``out_dir`` (same file names)."""
    out_dir = Path(out_dir)
    return [student_copy(nb, out_dir / Path(nb).name) for nb in notebooks]
