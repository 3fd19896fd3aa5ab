"""Build the soundad book, run its notebooks, and read what they recorded.

Used by ``make book`` / ``make book-instructor`` and by the notebook and book
tests; the commands are in :mod:`soundad.book.cli` (``python -m soundad.book
build|execute|ci-build|student|set-url``).

The student book (``build``, ``ci-build``) also writes the student copies of the
notebooks (no solutions, no outputs; :mod:`soundad.student`), serves them from the
pages' download button, and points Colab and Binder at the ``student`` branch
that the Pages workflow publishes. Notebooks call :func:`setup_page` first.

=================================  ==================================================
:mod:`~soundad.book.record`        :func:`glue` a result in a notebook,
                                   :func:`glued_values` read it back
:mod:`~soundad.book.layout`        :func:`find_root`, :func:`list_notebooks`
:mod:`~soundad.book.build`         :func:`book_config`, :func:`build_book`,
                                   :func:`stage_executed_book` (Jupyter Book)
:mod:`~soundad.book.runs`          :func:`ci_parameters`, :func:`execute_notebooks`
                                   (papermill)
:mod:`~soundad.book.cli`           :func:`main`, the command line
:mod:`soundad.page`                :func:`setup_page` (pandas, matplotlib, warnings)
:mod:`soundad.publish`             student copies, the repository URL
=================================  ==================================================

Everything is importable from :mod:`soundad.book` itself.
"""

from __future__ import annotations

from soundad.book.build import book_config, build_book, stage_executed_book, write_book_config
from soundad.book.cli import main
from soundad.book.layout import BOOK_DIRS, BOOK_FILES, NOTEBOOK_DIR, find_root, list_notebooks
from soundad.book.record import glue, glued_values
from soundad.book.runs import SHARED_SAMPLE, ci_parameters, execute_notebooks
from soundad.page import setup_page
from soundad.publish import (
    STUDENT_BRANCH,
    STUDENT_DIR,
    finish_student_book,
    repository_url,
    set_repository_url,
)

__all__ = [
    "setup_page",
    "glue",
    "glued_values",
    "find_root",
    "list_notebooks",
    "book_config",
    "write_book_config",
    "build_book",
    "stage_executed_book",
    "execute_notebooks",
    "ci_parameters",
    "finish_student_book",
    "repository_url",
    "set_repository_url",
    "main",
    "BOOK_DIRS",
    "BOOK_FILES",
    "NOTEBOOK_DIR",
    "SHARED_SAMPLE",
    "STUDENT_BRANCH",
    "STUDENT_DIR",
]
