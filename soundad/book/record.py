"""Record a notebook's results and read them back (the book's glue).

In the notebooks, :func:`glue` records a result under a name so that the book
can paste it into prose (``{glue}`name```) and tests can read it back from
the executed notebook (:func:`glued_values`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

__all__ = ["glue", "glued_values"]


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
