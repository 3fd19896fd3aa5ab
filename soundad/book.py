"""Build the soundad book, run its notebooks, and read what they recorded.

Used by ``make book`` / ``make book-instructor`` and by the notebook and book tests::

    python -m soundad.book build                 # student book -> _build/html
    SOUNDAD_INSTRUCTOR=1 python -m soundad.book build
    python -m soundad.book build --instructor    # instructor book -> _build/instructor/_build/html
    python -m soundad.book execute --ci          # papermill, CI parameters -> _build/executed
    python -m soundad.book ci-build              # book from _build/executed, no re-execution
    python -m soundad.book student               # solution-free copies -> _build/student/notebooks
    python -m soundad.book set-url https://github.com/OWNER/REPO   # the one repository URL

The student book (``build``, ``ci-build``) also writes the student copies of the
notebooks (no solutions, no outputs; :mod:`soundad.student`), serves them from the
pages' download button, and points Colab and Binder at the ``student`` branch
that the Pages workflow publishes. Notebooks call :func:`setup_page` first.

Two ways to get executed notebooks into the book:

* ``build`` lets Jupyter Book execute every notebook itself, on the default
  parameters (``DATA = "auto"``), with its execution cache: a rebuild runs only
  the notebooks that changed. The student and the instructor book share that cache.
* ``execute`` runs the notebooks by papermill with other parameters (the CI's
  small, offline ones) and records each run time; ``ci-build`` then stages a
  copy of the book whose notebooks are those executed copies and builds it with
  execution switched off.

In the notebooks, :func:`glue` records a result under a name so that tests can
read it back (:func:`glued_values`) and the book can paste it into prose.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from soundad._io import atomic_write_text
from soundad.errors import ParameterError
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
]

#: Sources the book consists of, relative to the repository root.
BOOK_FILES = ("_config.yml", "_toc.yml")
BOOK_DIRS = ("book",)
NOTEBOOK_DIR = "notebooks"

#: Where the real MIMII sample lives beside a checkout (CI and developer machines).
SHARED_SAMPLE = Path("..") / "shared" / "data" / "mimii-sample"


# --------------------------------------------------------------------------- glue
def glue(name: str, value: Any, display: bool = True) -> None:
    """Record ``value`` under ``name`` in the running notebook's outputs.

    Uses :func:`myst_nb.glue` (so that ``{glue}`name``` works in the book's
    prose); where myst-nb is not installed (e.g. on Colab) the value is only
    displayed.

    Parameters
    ----------
    name : str
        Key, unique within the book, e.g. ``"ch04_auc_gmm"``.
    value : object
        Anything IPython can display; numbers are best passed as ``float``/``int``.
    display : bool, default=True
        Show the value in the notebook as well.
    """
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:  # pragma: no cover - depends on the environment
        if display:
            from IPython.display import display as _display

            _display(value)
        return
    _myst_glue(name, value, display=display)


def glued_values(notebook: str | os.PathLike | Mapping) -> dict[str, dict]:
    """Return the glued outputs of an executed notebook.

    Parameters
    ----------
    notebook : path or nbformat notebook
        An executed ``.ipynb``.

    Returns
    -------
    dict
        ``name -> mime bundle`` (e.g. ``{"text/plain": "0.83"}``), in cell order.
    """
    if not isinstance(notebook, Mapping):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    found: dict[str, dict] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta or "name" not in meta:
                continue
            prefix = meta.get("mime_prefix", "")
            data = output.get("data", {})
            found[meta["name"]] = {k[len(prefix):]: "".join(v) if isinstance(v, list) else v for k, v in data.items()}
    return found


# --------------------------------------------------------------------------- layout
def find_root(start: str | os.PathLike | None = None) -> Path:
    """Return the repository root: the first folder upwards holding ``_toc.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "_config.yml").is_file():
            return folder
    package_root = Path(__file__).resolve().parent.parent
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


# --------------------------------------------------------------------------- config
def book_config(
    root: str | os.PathLike,
    *,
    instructor: bool = False,
    execute: str | None = None,
    cache_path: str | os.PathLike | None = None,
) -> dict:
    """Return the book's ``_config.yml`` with the overrides of one build.

    Parameters
    ----------
    root : path
        Folder holding ``_config.yml``.
    instructor : bool, default=False
        Show the exercise solutions (sphinx-exercise ``hide_solutions: false``).
    execute : {"cache", "force", "auto", "off"} or None
        Override ``execute.execute_notebooks``; None keeps the file's value.
    cache_path : path, optional
        Jupyter-cache folder (absolute), so that two builds share executed results.
    """
    import yaml

    path = Path(root) / "_config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["hide_solutions"] = not instructor
    if instructor:
        config["title"] = f"{config.get('title', 'soundad')} (instructor edition)"
    else:
        # Colab and Binder open the solution-free copies the Pages workflow publishes.
        config.setdefault("repository", {})["branch"] = STUDENT_BRANCH
    if execute is not None:
        if execute not in {"cache", "force", "auto", "off"}:
            raise ParameterError(f"execute={execute!r}: expected 'cache', 'force', 'auto' or 'off'")
        config.setdefault("execute", {})["execute_notebooks"] = execute
    if cache_path is not None:
        config.setdefault("execute", {})["cache"] = str(Path(cache_path).resolve())
    return config


def write_book_config(config: Mapping, target: str | os.PathLike) -> Path:
    """Write a configuration mapping as YAML (atomically) and return the path."""
    import yaml

    text = "# generated by soundad.book; edit _config.yml instead\n"
    text += yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
    return atomic_write_text(target, text)


# --------------------------------------------------------------------------- build
def _jupyter_book() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise ParameterError("jupyter-book is not installed: pip install 'soundad[book]'")
    return [found]


def build_book(
    source: str | os.PathLike,
    *,
    output: str | os.PathLike,
    config: str | os.PathLike | None = None,
    strict: bool = True,
    quiet: bool = False,
) -> Path:
    """Run ``jupyter-book build`` and return the folder with ``index.html``.

    Parameters
    ----------
    source : path
        Book source folder (holds ``_toc.yml``).
    output : path
        ``--path-output``; the HTML lands in ``output/_build/html``.
    config : path, optional
        Configuration file to use instead of ``source/_config.yml``.
    strict : bool, default=True
        Build with ``-W -n --keep-going``: every warning fails the build.
    """
    source, output = Path(source).resolve(), Path(output).resolve()
    cmd = [*_jupyter_book(), "build", str(source), "--path-output", str(output)]
    if config is not None:
        cmd += ["--config", str(Path(config).resolve())]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if quiet:
        cmd += ["-q"]
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    # Jupyter Book exits 0 even when Sphinx failed in some versions: check for the output too.
    result = subprocess.run(cmd, cwd=source, env=env)
    html = output / "_build" / "html"
    if result.returncode != 0 or not (html / "index.html").is_file():
        raise RuntimeError(
            f"jupyter-book build failed (exit {result.returncode}): {' '.join(cmd)}; "
            f"see the log above and {output / '_build' / 'html' / 'reports'}"
        )
    return html


def stage_executed_book(
    root: str | os.PathLike,
    executed: str | os.PathLike,
    stage: str | os.PathLike,
    *,
    instructor: bool = False,
) -> Path:
    """Copy the book with already-executed notebooks into ``stage``; return the config path.

    The staged ``_config.yml`` has ``execute_notebooks: "off"``, so building the
    staged book shows exactly the outputs papermill produced.
    """
    root, executed, stage = Path(root), Path(executed), Path(stage)
    notebooks = list_notebooks(root)
    missing = [nb.name for nb in notebooks if not (executed / nb.name).is_file()]
    if missing:
        raise ParameterError(
            f"executed notebooks missing in {executed}: {', '.join(missing)} "
            "(run `python -m soundad.book execute --ci` first)"
        )
    stage.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(root / name, stage / name)
    for name in BOOK_DIRS:
        if (stage / name).exists():
            shutil.rmtree(stage / name)
        shutil.copytree(root / name, stage / name)
    (stage / NOTEBOOK_DIR).mkdir(exist_ok=True)
    for old in (stage / NOTEBOOK_DIR).glob("*.ipynb"):
        old.unlink()
    for nb in notebooks:
        shutil.copy2(executed / nb.name, stage / NOTEBOOK_DIR / nb.name)
    config = book_config(root, instructor=instructor, execute="off")
    if (executed / "timings.json").is_file():
        shutil.copy2(executed / "timings.json", stage / "timings.json")
        config["sphinx"]["config"]["soundad_timings"] = str((stage / "timings.json").resolve())
    return write_book_config(config, stage / "_config.yml")


# --------------------------------------------------------------------------- execute
def ci_parameters(root: str | os.PathLike) -> dict[str, dict]:
    """Small, offline parameters for each chapter (what ``make test`` runs).

    The real MIMII sample beside the checkout (``../shared/data/mimii-sample``,
    or ``$SOUNDAD_CI_DATA``) is used where present, else the synthetic sounds.
    Every chapter's ``parameters`` cell documents what each name means.
    """
    root = Path(root).resolve()
    sample = os.environ.get("SOUNDAD_CI_DATA") or str((root / SHARED_SAMPLE).resolve())
    real = sample if Path(sample).is_dir() else "synthetic"
    common = {"DATA": real, "SEED": 0, "BACKBONE": "efficientnet_lite0", "WEIGHTS": "imagenet"}
    return {
        "01_machine_sounds": {**common},
        "02_mel_images": {**common},
        # One machine model, 12 normal + 12 abnormal clips: the features are computed in
        # chapter 03 and come from the feature cache in chapters 04 and 05.
        "03_imagenet_features": {**common, "MAX_CLIPS": 24},
        "04_one_class_detectors": {**common, "MAX_CLIPS": 24, "N_BOOT": 200,
                                   "SIZES": [10, 40, 160]},
        "05_autoencoders": {**common, "MAX_CLIPS": 24, "EPOCHS": 4, "N_BOOT": 200},
        # Checks on the 24 clips of chapters 03-05 (their features come from the cache)
        # with a few repeated splits; a small synthetic grid for the SNR mechanics.
        "06_reproduction": {
            **common,
            "DETECTORS": ["gmm", "ocsvm", "knn"],
            "MAX_CLIPS": 24,
            "REPEATS": 3,
            "EPOCHS": 2,
            "N_BOOT": 200,
            "SYNTH_MACHINES": ["fan", "valve"],
            "SYNTH_SNRS": ["-6dB", "6dB"],
            "SYNTH_CLIPS": 6,
            "SYNTH_REPEATS": 2,
        },
        # DCASE-layout data: always the synthetic DCASE-2023-style clips here; two
        # network sizes keep the capacity comparison (largest vs smallest) in CI.
        "07_dcase_domain_shift": {
            **common,
            "DATA": "synthetic",
            "BACKBONES": ["efficientnet_lite0", "efficientnet_lite1"],
            "N_NORMAL": 8,
            "N_ABNORMAL": 5,
            "IMAGE_SIZE": 64,
            "N_BOOT": 200,
            "LAYER_REPEATS": 2,
            "LAYER_IMAGE_SIZE": 64,
        },
    }


def execute_notebooks(
    notebooks: Iterable[str | os.PathLike],
    *,
    out_dir: str | os.PathLike,
    parameters: Mapping[str, Mapping] | None = None,
    timeout: int = 1200,
    cwd: str | os.PathLike | None = None,
) -> dict[str, float]:
    """Execute notebooks by papermill into ``out_dir``; return seconds per notebook.

    Also writes ``out_dir/timings.json`` (``{stem: seconds}``, merged with an
    existing file) and prints one line per notebook.

    Parameters
    ----------
    notebooks : iterable of paths
        Source notebooks (with a cell tagged ``parameters``).
    out_dir : path
        Folder for the executed copies (same file names).
    parameters : mapping, optional
        ``stem -> {name: value}`` injected after the ``parameters`` cell.
    timeout : int [s], default=1200
        Limit per cell.
    cwd : path, optional
        Working directory of the kernels (default: each notebook's folder).
    """
    import papermill

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parameters = parameters or {}
    timings_path = out_dir / "timings.json"
    timings: dict[str, float] = {}
    if timings_path.is_file():
        timings = json.loads(timings_path.read_text(encoding="utf-8"))
    done: dict[str, float] = {}
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for nb in notebooks:
        nb = Path(nb)
        target = out_dir / nb.name
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(nb),
                str(target),
                parameters=dict(parameters.get(nb.stem, {})),
                kernel_name="python3",
                cwd=str(cwd or nb.parent),
                execution_timeout=timeout,
                progress_bar=False,
                report_mode=False,
            )
        finally:
            seconds = round(time.perf_counter() - start, 1)
            done[nb.stem] = timings[nb.stem] = seconds
            atomic_write_text(timings_path, json.dumps(timings, indent=2, sort_keys=True) + "\n")
            print(f"[soundad.book] {nb.name}: {seconds:.1f} s", flush=True)
    return done


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soundad.book", description=__doc__.split("\n")[0])
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

    args = parser.parse_args(argv)
    root = find_root()
    instructor = getattr(args, "instructor", False) or os.environ.get("SOUNDAD_INSTRUCTOR", "") not in {"", "0"}

    if args.command == "build":
        cache = root / "_build" / ".jupyter_cache"
        if instructor:
            output = root / "_build" / "instructor"
            config = write_book_config(
                book_config(root, instructor=True, cache_path=cache), root / "_build" / "_config.instructor.yml"
            )
        else:
            output = root
            config = write_book_config(
                book_config(root, instructor=False, cache_path=cache), root / "_build" / "_config.student.yml"
            )
        start = time.perf_counter()
        html = build_book(root, output=output, config=config, strict=not args.no_strict)
        if not instructor:
            finish_student_book(html, list_notebooks(root), root / STUDENT_DIR)
        print(f"[soundad.book] {'instructor' if instructor else 'student'} book: {html / 'index.html'} "
              f"({time.perf_counter() - start:.0f} s)")
        return 0

    if args.command == "execute":
        notebooks = list_notebooks(root)
        if args.names:
            unknown = set(args.names) - {nb.stem for nb in notebooks}
            if unknown:
                raise ParameterError(f"unknown notebooks {sorted(unknown)}; expected some of {[nb.stem for nb in notebooks]}")
            notebooks = [nb for nb in notebooks if nb.stem in args.names]
        params = ci_parameters(root) if args.ci else {}
        execute_notebooks(notebooks, out_dir=root / args.out, parameters=params)
        return 0

    if args.command == "ci-build":
        stage = Path(args.stage) if args.stage else root / "_build" / ("ci-book-instructor" if instructor else "ci-book")
        config = stage_executed_book(root, root / args.executed, stage, instructor=instructor)
        html = build_book(stage, output=stage, config=config)
        if not instructor:
            finish_student_book(html, list_notebooks(root), root / STUDENT_DIR)
        print(f"[soundad.book] book from executed notebooks: {html / 'index.html'}")
        return 0

    if args.command == "student":
        copies = finish_student_book(root / "_build" / "html", list_notebooks(root), root / args.out)
        print(f"[soundad.book] {len(copies)} student notebooks in {root / args.out}")
        return 0

    if args.command == "set-url":
        changed = set_repository_url(root, args.url)
        print(f"[soundad.book] repository URL {args.url}: {len(changed)} file(s) changed")
        return 0
    return 2  # pragma: no cover


def _cli() -> int:  # pragma: no cover - thin wrapper
    from soundad.errors import SoundadError

    try:
        return main()
    except (SoundadError, RuntimeError) as error:
        print(f"python -m soundad.book: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_cli())
