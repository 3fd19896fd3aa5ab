"""The grid's cell store: one finished cell per file, written atomically, found again by fingerprint.

A *cell* is one method on one group in one repeat. Its file
``OUT/cells/<method slug>/<snr>__<machine>__<model_id>.json`` (repeat 0) or
``...__r<r>.json`` (repeat ``r >= 1``) holds the per-clip test scores and the
fingerprint of everything that determined them. The fingerprint is
:func:`soundad.cache.settings_digest` of the method, the group's clips with
their labels and split, the feature settings and seed, the method's extra
parameters, the repeat and its seed, and (for a backbone) the fields of its
:class:`~soundad.backbones.BackboneConfig` that change the features. A rerun
reuses a cell whose file is complete, of :data:`CELL_VERSION` and of the same
fingerprint, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from soundad._io import atomic_write_text
from soundad.cache import settings_digest
from soundad.data.groups import GROUP_COLUMNS

from .plan import Method, Unit, numerics, repeat_seed

__all__ = ["CELL_VERSION", "CellStore", "cell_fingerprint"]

#: Format of a cell file. 2: fingerprints by ``settings_digest`` (version 1 cells are recomputed, not misread).
CELL_VERSION = 2


def cell_fingerprint(method: Method, unit: Unit, group: pd.DataFrame, *, settings: Mapping[str, Any],
                     params: Mapping[str, Any], model=None) -> str:
    """Digest of everything that determines a cell's scores (64 hex digits).

    Parameters
    ----------
    method, unit : Method, Unit
        The column and the (repeat, group) of the cell.
    group : pd.DataFrame
        The group's clips in this repeat: ``clip_id``, ``label``, ``split``.
    settings : mapping
        :attr:`soundad.reproduce.plan.GridPlan.settings` (mel, window, image, channel, seed).
    params : mapping
        The detector's or baseline's extra parameters.
    model : BackboneConfig or None
        The backbone config of a transfer-learning method.
    """
    payload = {"method": dataclasses.asdict(method), "clips": group[["clip_id", "label", "split"]].to_numpy().tolist(),
               "settings": dict(settings), "params": dict(params)}
    if unit.repeat:
        payload["repeat"] = [unit.repeat, repeat_seed(settings["seed"], unit.repeat)]
    if model is not None:
        payload["model"] = numerics(model)
    return settings_digest(payload)


class CellStore:
    """The cell files of one output directory (``out/cells``).

    Parameters
    ----------
    out : str or os.PathLike
        The run's output directory.
    """

    def __init__(self, out):
        self.root = Path(out) / "cells"

    def path(self, method: Method, unit: Unit) -> Path:
        """``cells/<method slug>/<snr>__<machine>__<model_id>[__r<repeat>].json``."""
        name = "__".join(unit.key) + (f"__r{unit.repeat}" if unit.repeat else "")
        return self.root / method.slug / (name + ".json")

    def read(self, method: Method, unit: Unit, fingerprint: str) -> dict | None:
        """The cell if its file is complete, of this version and made with the same inputs, else None."""
        try:
            cell = json.loads(self.path(method, unit).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(cell, dict) or cell.get("version") != CELL_VERSION:
            return None
        if cell.get("fingerprint") != fingerprint or not isinstance(cell.get("scores"), dict):
            return None
        return cell

    def write(self, method: Method, unit: Unit, fingerprint: str, *, scores: pd.Series, n_train: int,
              n_train_windows: int, seconds: float) -> dict:
        """Write one finished cell atomically.

        Parameters
        ----------
        scores : pd.Series
            Anomaly score per test clip, indexed by ``clip_id``.
        n_train, n_train_windows : int
            Normal training clips and the windows (or frames) they gave.
        seconds : float [s]
            Time the cell took.
        """
        cell = {
            "version": CELL_VERSION,
            "fingerprint": fingerprint,
            "method": dataclasses.asdict(method),
            "group": dict(zip(GROUP_COLUMNS, unit.key)),
            "repeat": int(unit.repeat),
            "n_train": int(n_train),
            "n_train_windows": int(n_train_windows),
            "seconds": round(float(seconds), 3),
            # repr-exact floats: json round-trips a Python float bit for bit
            "scores": {str(k): float(v) for k, v in scores.sort_index().items()},
        }
        atomic_write_text(self.path(method, unit), json.dumps(cell, indent=1, sort_keys=True))
        return cell
