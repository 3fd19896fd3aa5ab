"""ARCHITECTURE.md stays true: its modules and config objects exist, and imports flow one way.

The stage table of ARCHITECTURE.md is read here as data: each row names a
stage number, the modules (or packages) of that stage and its config objects.
The tests check that

- every module and config object the table names can be imported;
- every module under ``soundad/`` belongs to exactly one row (a new module
  must be placed on the map);
- no module imports a module of a later stage;
- the import graph has no cycles (apart from the ones listed, with a reason,
  in :data:`KNOWN_CYCLES`; a listed cycle that disappears must be removed).

Imports are read from the source with :mod:`ast`, including imports inside
functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "soundad"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

#: Import cycles on main when ARCHITECTURE.md was written, each with why it is
#: tolerated for now. Sorted module names of each cycle's strongly connected part.
KNOWN_CYCLES = {
    ("soundad.evaluate", "soundad.uncertainty"): (
        "evaluate re-exports the interval functions of uncertainty at import time, and "
        "uncertainty imports evaluate's metrics lazily inside its functions"
    ),
    (
        "soundad.exercises",
        "soundad.exercises.ch01",
        "soundad.exercises.ch02",
        "soundad.exercises.ch03",
        "soundad.exercises.ch04",
        "soundad.exercises.ch05",
        "soundad.exercises.ch06",
        "soundad.exercises.ch07",
    ): (
        "registration pattern: the package defines register() and then imports its chapter "
        "modules, which import register from the package"
    ),
}


# --------------------------------------------------------------------------- the table
def stage_rows() -> list[dict]:
    """Rows of the stage table: ``{"stage": int, "modules": [...], "configs": [...]}``."""
    rows = []
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not re.fullmatch(r"\d+", cells[0]):
            continue
        rows.append({
            "stage": int(cells[0]),
            "name": cells[1],
            "modules": re.findall(r"`(soundad[\w.]*)`", cells[2]),
            "configs": re.findall(r"`(soundad[\w.]*)`", cells[4]),
        })
    return rows


def all_modules() -> list[str]:
    """Dotted names of every module under soundad/ (packages by their ``__init__``)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def stage_of(module: str, rows: list[dict]) -> int | None:
    """Stage of the row whose module is the longest prefix of ``module``."""
    best, best_len = None, -1
    for row in rows:
        for name in row["modules"]:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = row["stage"], len(name)
    return best


# --------------------------------------------------------------------------- the imports
def _module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def imports_of(module: str) -> set[str]:
    """soundad modules that ``module`` imports anywhere in its source (lazy imports too)."""
    path = _module_path(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "soundad")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "soundad":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if _module_path(sub) is not None else target)
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in all_modules()}


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected parts with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, parts = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                parts.append(tuple(sorted(part)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(parts)


# --------------------------------------------------------------------------- tests
def test_table_is_found_and_ordered():
    rows = stage_rows()
    assert len(rows) >= 8, "ARCHITECTURE.md's stage table was not found (rows: | n | stage | modules | ...)"
    assert [r["stage"] for r in rows] == sorted(r["stage"] for r in rows)
    assert all(r["modules"] for r in rows)


@pytest.mark.parametrize("name", sorted({m for r in stage_rows() for m in r["modules"]}))
def test_every_module_named_exists(name):
    assert _module_path(name) is not None, f"ARCHITECTURE.md names {name}, which is not in soundad/"
    importlib.import_module(name)


@pytest.mark.parametrize("name", sorted({c for r in stage_rows() for c in r["configs"]}))
def test_every_config_object_named_exists(name):
    module, _, attribute = name.rpartition(".")
    obj = getattr(importlib.import_module(module), attribute, None)
    assert obj is not None, f"ARCHITECTURE.md names config object {name}, which does not exist"


def test_every_module_is_on_the_map():
    rows = stage_rows()
    missing = [m for m in all_modules() if m != "soundad" and stage_of(m, rows) is None]
    assert not missing, f"modules in no row of ARCHITECTURE.md's stage table (add them): {missing}"


def test_package_root_imports_no_stage():
    assert imports_of("soundad") == set(), "import soundad must stay cheap: its __init__ imports no submodule"


def test_no_earlier_stage_imports_a_later_one():
    rows = stage_rows()
    wrong = [
        f"{a} (stage {stage_of(a, rows)}) imports {b} (stage {stage_of(b, rows)})"
        for a, targets in import_graph().items()
        for b in targets
        if None not in (stage_of(a, rows), stage_of(b, rows)) and stage_of(a, rows) < stage_of(b, rows)
    ]
    assert not wrong, "imports against the flow of ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_no_import_cycles_but_the_known_ones():
    found = cycles(import_graph())
    new = [c for c in found if c not in KNOWN_CYCLES]
    gone = [c for c in KNOWN_CYCLES if c not in found]
    assert not new, f"import cycles among soundad modules: {new}"
    assert not gone, f"these known cycles are gone; remove them from KNOWN_CYCLES: {gone}"


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [("a", "b", "c")]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_name_crosses_a_module_boundary():
    """What one module takes from another is public: no ``from soundad.x import _name``."""
    crossings = []
    for path in sorted((ROOT / "soundad").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("soundad")):
                crossings += [f"{path.relative_to(ROOT)}: {node.module or '.'}.{alias.name}"
                              for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not crossings, "private names imported across modules: " + ", ".join(crossings)
