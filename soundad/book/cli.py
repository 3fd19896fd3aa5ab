"""The command line of the book: ``python -m soundad.book COMMAND``.

::

    python -m soundad.book build                 # student book -> _build/html
    SOUNDAD_INSTRUCTOR=1 python -m soundad.book build
    python -m soundad.book build --instructor    # instructor book -> _build/instructor/_build/html
    python -m soundad.book execute --ci          # papermill, CI parameters -> _build/executed
    python -m soundad.book ci-build              # book from _build/executed, no re-execution
    python -m soundad.book student               # solution-free copies -> _build/student/notebooks
    python -m soundad.book set-url https://github.com/OWNER/REPO   # the one repository URL
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from soundad.book.build import book_config, build_book, stage_executed_book, write_book_config
from soundad.book.layout import find_root, list_notebooks
from soundad.book.runs import ci_parameters, execute_notebooks
from soundad.errors import ParameterError
from soundad.network import env_flag
from soundad.publish import STUDENT_DIR, finish_student_book, set_repository_url

__all__ = ["build_parser", "main", "run"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m soundad.book`` and its five commands."""
    parser = argparse.ArgumentParser(prog="python -m soundad.book",
                                     description="Build the soundad book, run its notebooks, and read what they recorded.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_build = sub.add_parser("build", help="execute every notebook (cached) and build the HTML book")
    p_build.add_argument("--instructor", action="store_true", help="show exercise solutions (also: SOUNDAD_INSTRUCTOR=1)")
    p_build.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")

    p_exec = sub.add_parser("execute", help="execute the notebooks by papermill into _build/executed")
    p_exec.add_argument("--ci", action="store_true", help="use the small offline CI parameters")
    p_exec.add_argument("--out", default="_build/executed")
    p_exec.add_argument("names", nargs="*", help="notebook stems (default: all)")

    p_ci = sub.add_parser("ci-build", help="build the book from _build/executed without re-executing")
    p_ci.add_argument("--executed", default="_build/executed")
    p_ci.add_argument("--stage", default=None, help="staging folder (default: _build/ci-book[-instructor])")
    p_ci.add_argument("--instructor", action="store_true")

    p_student = sub.add_parser("student", help="write solution-free student copies of the notebooks")
    p_student.add_argument("--out", default=str(STUDENT_DIR))

    p_url = sub.add_parser("set-url", help="set the public repository URL (_config.yml and the Colab cells)")
    p_url.add_argument("url", help="https://github.com/OWNER/REPO")
    return parser


def build_command(args: argparse.Namespace, root: Path, instructor: bool) -> int:
    """``build``: let Jupyter Book execute (cached) and build the student or instructor book."""
    cache = root / "_build" / ".jupyter_cache"
    edition = "instructor" if instructor else "student"
    output = root / "_build" / "instructor" if instructor else root
    config = write_book_config(book_config(root, instructor=instructor, cache_path=cache),
                               root / "_build" / f"_config.{edition}.yml")
    start = time.perf_counter()
    html = build_book(root, output=output, config=config, strict=not args.no_strict)
    if not instructor:
        finish_student_book(html, list_notebooks(root), root / STUDENT_DIR)
    print(f"[soundad.book] {edition} book: {html / 'index.html'} ({time.perf_counter() - start:.0f} s)")
    return 0


def execute_command(args: argparse.Namespace, root: Path, instructor: bool) -> int:
    """``execute``: run the notebooks (all, or the named ones) by papermill."""
    notebooks = list_notebooks(root)
    if args.names:
        unknown = set(args.names) - {nb.stem for nb in notebooks}
        if unknown:
            raise ParameterError(f"unknown notebooks {sorted(unknown)}; expected some of {[nb.stem for nb in notebooks]}")
        notebooks = [nb for nb in notebooks if nb.stem in args.names]
    params = ci_parameters(root) if args.ci else {}
    execute_notebooks(notebooks, out_dir=root / args.out, parameters=params)
    return 0


def ci_build_command(args: argparse.Namespace, root: Path, instructor: bool) -> int:
    """``ci-build``: build the book from already-executed notebooks."""
    stage = Path(args.stage) if args.stage else root / "_build" / ("ci-book-instructor" if instructor else "ci-book")
    config = stage_executed_book(root, root / args.executed, stage, instructor=instructor)
    html = build_book(stage, output=stage, config=config)
    if not instructor:
        finish_student_book(html, list_notebooks(root), root / STUDENT_DIR)
    print(f"[soundad.book] book from executed notebooks: {html / 'index.html'}")
    return 0


def student_command(args: argparse.Namespace, root: Path, instructor: bool) -> int:
    """``student``: write the solution-free copies of the notebooks."""
    copies = finish_student_book(root / "_build" / "html", list_notebooks(root), root / args.out)
    print(f"[soundad.book] {len(copies)} student notebooks in {root / args.out}")
    return 0


def set_url_command(args: argparse.Namespace, root: Path, instructor: bool) -> int:
    """``set-url``: write the one repository URL into _config.yml and the Colab cells."""
    changed = set_repository_url(root, args.url)
    print(f"[soundad.book] repository URL {args.url}: {len(changed)} file(s) changed")
    return 0


COMMANDS = {
    "build": build_command,
    "execute": execute_command,
    "ci-build": ci_build_command,
    "student": student_command,
    "set-url": set_url_command,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors are raised (see :func:`run` for the one-line messages)."""
    args = build_parser().parse_args(argv)
    instructor = getattr(args, "instructor", False) or env_flag("SOUNDAD_INSTRUCTOR")
    return COMMANDS[args.command](args, find_root(), instructor)


def run() -> int:  # pragma: no cover - thin wrapper
    """:func:`main` with a user's mistake printed as one line (exit status 2)."""
    from soundad.errors import SoundadError

    try:
        return main()
    except (SoundadError, RuntimeError) as error:
        print(f"python -m soundad.book: {error}", file=sys.stderr)
        return 2
