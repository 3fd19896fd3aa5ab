"""Modules a reader can hold: no module over ~500 lines, no function over ~80 (issue 12).

The limits hold for every module of the package (:data:`CHECKED`); a
module that grows past them is split by meaning, not cut in halves. Print
the current top sizes of the whole package with::

    python tests/test_sizes.py [N]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: Modules and packages held to the limits (paths relative to the repository root).
CHECKED = ("soundad/",)


def sizes(root: Path = ROOT / "soundad", *, base: Path = ROOT) -> tuple[dict[str, int], dict[str, int]]:
    """Lines per module (``path`` relative to ``base``) and per function (``path:qualified.name``)."""
    modules, functions = {}, {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(base).as_posix()
        source = path.read_text(encoding="utf-8")
        modules[name] = len(source.splitlines())

        def walk(node, prefix=""):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qualified = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        functions[f"{name}:{qualified}"] = child.end_lineno - child.lineno + 1
                    walk(child, qualified + ".")
                else:
                    walk(child, prefix)

        walk(ast.parse(source))
    return modules, functions


def _over(table: dict[str, int], limit: int) -> list[str]:
    return [
        f"{name}: {lines} lines (limit {limit})"
        for name, lines in table.items()
        if name.split(":")[0].startswith(CHECKED) and lines > limit
    ]


def test_no_module_over_the_limit():
    modules, _ = sizes()
    assert not _over(modules, MAX_MODULE_LINES), "\n".join(_over(modules, MAX_MODULE_LINES))


def test_no_function_over_the_limit():
    _, functions = sizes()
    assert not _over(functions, MAX_FUNCTION_LINES), "\n".join(_over(functions, MAX_FUNCTION_LINES))


def test_sizes_counts_nested_functions_and_methods(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text("class A:\n    def f(self):\n        def g():\n            pass\n        return 1\n")
    modules, functions = sizes(package, base=tmp_path)
    assert modules == {"pkg/m.py": 5}
    assert functions == {"pkg/m.py:A.f": 4, "pkg/m.py:A.f.g": 2}


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    modules, functions = sizes()
    for title, table in (("modules", modules), ("functions", functions)):
        print(f"top {n} {title} (lines):")
        for name, lines in sorted(table.items(), key=lambda kv: -kv[1])[:n]:
            print(f"  {lines:5d}  {name}")
