"""The notebooks' parameters that name a setting default to that setting's config default (issue 12).

Papermill needs literals in a notebook's ``parameters`` cell, so the
notebooks cannot import their defaults; this test keeps the literals equal
to the config objects' defaults instead. A chapter that deliberately runs
with another value lists it in :data:`DELIBERATE`, with the reason.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from soundad.backbones import BackboneConfig
from soundad.features import ImageConfig

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: notebook parameter -> (config object, field)
FIELDS = {
    "BACKBONE": (BackboneConfig, "name"),
    "WEIGHTS": (BackboneConfig, "weights"),
    "IMAGE_SIZE": (ImageConfig, "size"),
}

#: (notebook stem, parameter) -> why it differs from the config default
DELIBERATE = {
    ("07_dcase_domain_shift", "IMAGE_SIZE"): "three EfficientNet-Lites on 112 px images keep chapter 07 within a laptop's minutes",
}


def parameters(path: Path) -> dict:
    """The literal values of a notebook's ``parameters`` cell."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(cells)}"
    values = {}
    for node in ast.parse("".join(cells[0]["source"])).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)  # papermill needs literals
    return values


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_default_to_the_config_defaults(path):
    values = parameters(path)
    checked = 0
    for name, (config, field) in FIELDS.items():
        if name not in values or (path.stem, name) in DELIBERATE:
            continue
        default = getattr(config(), field)
        assert values[name] == default, (
            f"{path.name}: {name} = {values[name]!r}, but {config.__name__}().{field} is {default!r}; "
            "change the literal or list the difference in DELIBERATE with its reason")
        checked += 1
    assert checked >= 2, f"{path.name}: no parameter names a config field (BACKBONE, WEIGHTS)"


def test_deliberate_differences_are_real():
    for (stem, name), reason in DELIBERATE.items():
        values = parameters(next(p for p in NOTEBOOKS if p.stem == stem))
        config, field = FIELDS[name]
        assert values[name] != getattr(config(), field), f"{stem}: {name} no longer differs; drop it ({reason})"
