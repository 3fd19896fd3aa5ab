"""What the published book serves: student notebooks and the one repository URL.

* :func:`finish_student_book` writes the solution-free student copies and puts them
  behind the pages' download button;
* :data:`STUDENT_BRANCH` is the branch the student book's Colab and Binder buttons
  open (published by ``.github/workflows/book.yml``);
* :func:`repository_url` / :func:`set_repository_url`: ``repository.url`` in
  ``_config.yml`` is the one setting; the notebooks' Colab install cells carry a
  copy that :func:`set_repository_url` keeps in step.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Iterable

from soundad._io import atomic_write_text
from soundad.errors import ParameterError

__all__ = ["STUDENT_BRANCH", "STUDENT_DIR", "finish_student_book", "repository_url", "set_repository_url"]

#: Branch the student book's launch buttons open (published by .github/workflows/book.yml).
STUDENT_BRANCH = "student"

#: Where the student copies of the notebooks go (no solutions, no outputs).
STUDENT_DIR = Path("_build") / "student" / "notebooks"


def finish_student_book(
    html: str | os.PathLike, notebooks: Iterable[str | os.PathLike], student_dir: str | os.PathLike
) -> list[Path]:
    """Write the solution-free student copies and make the download button serve them.

    Parameters
    ----------
    html : path
        The built student book (``.../_build/html``).
    notebooks : iterable of paths
        The chapter notebooks (sources or executed copies; outputs are cleared).
    student_dir : path
        Where the student copies go, e.g. ``_build/student/notebooks``.

    Returns
    -------
    list of Path
        The student copies.
    """
    from soundad.student import write_student_copies

    copies = write_student_copies(notebooks, student_dir)
    sources = Path(html) / "_sources" / "notebooks"
    for copy in copies:
        # The page's "download .ipynb" button links to _sources/<docname>.ipynb.
        if (sources / copy.name).is_file():
            shutil.copy2(copy, sources / copy.name)
    return copies


# --------------------------------------------------------------------------- repository URL
_GITHUB_URL = re.compile(r"^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_CONFIG_URL = re.compile(r"^(repository:\n(?:[ \t]+.*\n|\s*#.*\n)*?[ \t]+url:[ \t]*)(\S+)", re.M)
_NOTEBOOK_URL = re.compile(r'(REPOSITORY_URL = \\?")([^"\\]+)(\\?")')


def repository_url(root: str | os.PathLike) -> str:
    """The public repository URL: ``repository.url`` in ``_config.yml`` (the one setting)."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    url = (config.get("repository") or {}).get("url", "")
    if not url:
        raise ParameterError(f"{Path(root) / '_config.yml'}: repository.url is missing")
    return url


def set_repository_url(root: str | os.PathLike, url: str) -> list[Path]:
    """Point the book at another repository: ``_config.yml`` and every Colab install cell.

    Returns the files changed. The notebooks' install cells carry a copy of the
    URL because on Colab they run before soundad is installed.
    """
    if not _GITHUB_URL.match(url or ""):
        raise ParameterError(f"url={url!r}; expected https://github.com/OWNER/REPO (no trailing slash)")
    root = Path(root)
    config_path = root / "_config.yml"
    text = config_path.read_text(encoding="utf-8")
    new, count = _CONFIG_URL.subn(lambda m: m.group(1) + url, text, count=1)
    if count != 1:
        raise ParameterError(f"{config_path}: no 'url:' line under 'repository:'")
    changed = []
    if new != text:
        changed.append(atomic_write_text(config_path, new))
    from soundad.book.layout import list_notebooks

    for nb in list_notebooks(root):
        raw = nb.read_text(encoding="utf-8")
        updated = _NOTEBOOK_URL.sub(lambda m: m.group(1) + url + m.group(3), raw)
        if updated != raw:
            changed.append(atomic_write_text(nb, updated))
    return changed
