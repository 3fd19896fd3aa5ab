"""Where the book's sources are: the repository root and the chapter notebooks."""

from __future__ import annotations

import os
from pathlib import Path

from soundad.errors import ParameterError

__all__ = ["BOOK_FILES", "BOOK_DIRS", "NOTEBOOK_DIR", "find_root", "list_notebooks"]

#: Sources the book consists of, relative to the repository root.
BOOK_FILES = ("_config.yml", "_toc.yml")
BOOK_DIRS = ("book",)
NOTEBOOK_DIR = "notebooks"


def find_root(start: str | os.PathLike | None = None) -> Path:
    """Return the repository root: the first folder upwards holding ``_toc.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "_config.yml").is_file():
            return folder
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "_toc.yml").is_file():
        return package_root
    raise ParameterError(
        f"no book found above {here}: expected a folder with _config.yml and _toc.yml "
        "(run from the soundad checkout)"
    )


def list_notebooks(root: str | os.PathLike) -> list[Path]:
    """Return the chapter notebooks under ``root/notebooks``, in reading order."""
    folder = Path(root) / NOTEBOOK_DIR
    notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not notebooks:
        raise ParameterError(f"no notebooks in {folder}: expected notebooks/NN_name.ipynb")
    return notebooks
