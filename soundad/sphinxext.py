"""Sphinx extension of the soundad book (listed in ``_config.yml``).

* **Offline maths.** Serves MathJax 3 from the book's own ``_static/mathjax``
  instead of a CDN: the files come from the PyPI package
  ``django-static-mathjax`` (importable as ``mathjax``, no Django needed), which
  ``make book`` installs with the ``book`` extra.
* **Code that fits.** A small style sheet (``_static/soundad.css``) sizes code
  so that 88-character lines fit the text column.
* **Execution statistics.** The directive ``soundad-exec-stats`` becomes a
  table, one row per chapter notebook: run time in this build, how it was run,
  whether it succeeded, and the data it ran on (the notebook's printed
  ``Data used in this chapter: ...`` line).

Run times come from myst-nb's execution records (``execute_notebooks: cache``
or ``force``) or, for a book built from papermill-executed notebooks with
execution off, from the ``timings.json`` named by ``soundad_timings``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

__all__ = ["mathjax_source", "setup"]

DATA_MARK = "Data used in this chapter:"
MATHJAX_DIR = "mathjax"  # under _static
#: MathJax's es5 files the pages need (TeX input, HTML-CSS output with its fonts, menu, a11y).
MATHJAX_KEEP = ("tex-chtml.js", "input/tex", "output/chtml", "ui", "a11y", "adaptors", "sre/mathmaps/en.json")


def mathjax_source() -> Path:
    """Folder holding MathJax 3's ``es5`` files; a one-line error when not installed."""
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        es5 = Path(folder) / "static" / "mathjax" / "es5"
        if (es5 / "tex-chtml.js").is_file():
            return es5
    raise ExtensionError(
        "MathJax for offline pages not found: pip install django-static-mathjax "
        "(`make book` installs it with the 'book' extra)"
    )


def _use_local_mathjax(app: Sphinx, config) -> None:
    mathjax_source()  # fail before any page is written
    config.mathjax_path = f"{MATHJAX_DIR}/tex-chtml.js"


#: The book's own style sheet: an 88-character code line fits the text column of a
#: 1280-pixel-wide window (about 76 characters at the theme's 14 px).
PAGE_CSS = """/* written by soundad.sphinxext */
.bd-article pre { font-size: 0.74rem; }
/* printed messages wrap instead of scrolling; code and tables keep their layout */
.bd-article div.cell_output div.output.stream pre,
.bd-article div.cell_output div.output.stderr pre { white-space: pre-wrap; overflow-wrap: anywhere; }
figure.soundad-listen audio { width: 100%; max-width: 28rem; }
/* wide pandas tables: smaller type so that more columns fit before the table scrolls */
.bd-article div.cell_output table.dataframe { font-size: 0.8rem; }
"""
PAGE_CSS_NAME = "soundad.css"


def _copy_static(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / PAGE_CSS_NAME).write_text(PAGE_CSS, encoding="utf-8")
    source, target = mathjax_source(), static / MATHJAX_DIR
    for item in MATHJAX_KEEP:
        src = source / item
        if src.is_dir():
            shutil.copytree(src, target / item, dirs_exist_ok=True)
        elif src.is_file():
            (target / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / item)


# --------------------------------------------------------------------------- statistics
class ExecStatsNode(nodes.General, nodes.Element):
    """Placeholder, replaced by the table once every document has been read."""


class ExecStatsDirective(SphinxDirective):
    has_content = False

    def run(self):
        stats_pages(self.env).add(self.env.docname)
        return [ExecStatsNode()]


def stats_pages(env) -> set:
    if not hasattr(env, "soundad_stats_pages"):
        env.soundad_stats_pages = set()
    return env.soundad_stats_pages


def data_used(env) -> dict:
    if not hasattr(env, "soundad_data_used"):
        env.soundad_data_used = {}
    return env.soundad_data_used


def _record_data_used(app: Sphinx, doctree) -> None:
    # Only what a cell printed (its output), not the code that prints it.
    for output in doctree.findall(lambda n: isinstance(n, nodes.container) and "cell_output" in n["classes"]):
        match = re.search(re.escape(DATA_MARK) + r"[ \t]*([^\n]+)", output.astext())
        if match:
            data_used(app.env)[app.env.docname] = match.group(1).strip()
            return


def _purge(app: Sphinx, env, docname: str) -> None:
    data_used(env).pop(docname, None)
    stats_pages(env).discard(docname)


def _refresh_stats(app: Sphinx, env):
    return sorted(stats_pages(env))  # rewritten every build: the numbers change with every run


def _timings(app: Sphinx) -> dict:
    path = app.config.soundad_timings
    if not path or not Path(path).is_file():
        return {}
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _row(*cells) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=str(cell))
        row += entry
    return row


def stats_rows(app: Sphinx) -> list[dict]:
    """One dict per executed notebook: docname, seconds, method, ok, data."""
    from myst_nb.sphinx_ import NbMetadataCollector

    env, timings = app.env, _timings(app)
    rows = []
    for docname in sorted(d for d in env.found_docs if str(env.doc2path(d)).endswith(".ipynb")):
        record = NbMetadataCollector.get_doc_data(env).get(docname, {}).get("exec_data") or {}
        stem = Path(docname).name
        seconds = record.get("runtime")
        method = record.get("method") or ""
        if seconds is None and stem in timings:
            seconds, method = timings[stem], "papermill"
        ok = record.get("succeeded", seconds is not None)
        rows.append(dict(docname=docname, seconds=seconds, method=method or "not executed", ok=ok,
                         data=data_used(env).get(docname, "not printed")))
    return rows


class ExecStatsTransform(SphinxPostTransform):
    default_priority = 8  # before references are resolved, so the chapter links work

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(ExecStatsNode)):
            node.replace_self(self._table())

    def _table(self) -> nodes.table:
        from sphinx.addnodes import pending_xref

        rows = stats_rows(self.app)
        table = nodes.table(classes=["colwidths-auto", "soundad-exec-stats"])
        group = nodes.tgroup(cols=5)
        table += group
        group += [nodes.colspec(colwidth=20) for _ in range(5)]
        head = nodes.thead()
        head += _row("chapter", "run time [s]", "how it ran", "status", "data it ran on")
        group += head
        body = nodes.tbody()
        total = 0.0
        for info in rows:
            link = pending_xref(refdoc=self.env.docname, reftarget="/" + info["docname"], reftype="doc",
                                refdomain="std", refexplicit=False, refwarn=True)
            link += nodes.inline(text=Path(info["docname"]).name)
            seconds = info["seconds"]
            total += seconds or 0.0
            body += _row(nodes.paragraph("", "", link), "-" if seconds is None else f"{seconds:.1f}",
                         info["method"], "ok" if info["ok"] else "failed", info["data"])
        body += _row("all chapters", f"{total:.1f}", "", "", "")
        group += body
        return table


def setup(app: Sphinx) -> dict:
    app.add_config_value("soundad_timings", "", "env")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_static)
    app.add_css_file(PAGE_CSS_NAME)
    app.add_node(ExecStatsNode)
    app.add_directive("soundad-exec-stats", ExecStatsDirective)
    app.connect("doctree-read", _record_data_used)
    app.connect("env-purge-doc", _purge)
    app.connect("env-updated", _refresh_stats)
    app.add_post_transform(ExecStatsTransform)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
