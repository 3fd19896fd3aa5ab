"""The grid's tables: every cell read back into scores.csv, evaluated into results.csv.

``scores.csv`` has one row per (method, repeat, test clip); ``results.csv``
one row per (snr, machine, model_id, repeat, method), with the columns of
:data:`RESULT_COLUMNS` (see :mod:`soundad.reproduce`). AUC, pAUC and their
intervals come from :func:`soundad.evaluate.evaluate_scores`; a group that
cannot be evaluated keeps a row per method with empty metrics and its status.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from soundad._io import atomic_path
from soundad.data.groups import GROUP_COLUMNS, evaluation_mask, train_normal_mask
from soundad.errors import DataError

from .cells import CellStore
from .plan import GridGroups, Method

__all__ = ["METHOD_COLUMNS", "RESULT_COLUMNS", "collect_scores", "results_table", "write_csv"]

#: Columns of results.csv, in order (any others follow).
RESULT_COLUMNS = [
    "data", "seed", "split", "snr", "machine", "model_id", "repeat", "method", "backbone", "weights", "layer",
    "detector", "auc", "auc_lo", "auc_hi", "pauc", "pauc_lo", "pauc_hi", "n_train", "n_train_windows", "n_test",
    "n_normal_test", "n_abnormal_test", "status",
]
#: The columns that name a method.
METHOD_COLUMNS = ["method", "backbone", "weights", "layer", "detector"]
_COUNTS = ("n_train", "n_train_windows", "n_test", "n_normal_test", "n_abnormal_test")


def _method_row(method: Method) -> dict:
    return {"method": method.label, "backbone": method.backbone, "weights": method.weights,
            "layer": method.layer, "detector": method.detector}


def collect_scores(store: CellStore, fingerprints: Mapping[tuple, str], grid: GridGroups, *,
                   methods: Sequence[Method], data_name: str, seed: int) -> tuple[pd.DataFrame, dict]:
    """Read every cell of this run back into one per-clip scores table.

    Parameters
    ----------
    store : CellStore
    fingerprints : mapping of (Method, Unit) to str
        The fingerprint each cell must carry.
    grid : GridGroups
        The groups; the usable ones have a cell per method.
    methods : sequence of Method
        In the order of the tables.

    Returns
    -------
    scores : pd.DataFrame
        scores.csv: ``data, seed, repeat, snr, machine, model_id, clip_id,
        label, method, backbone, weights, layer, detector, score``.
    cells : dict of (Method, Unit) to dict
        The cells read.
    """
    frames, cells = [], {}
    for method in methods:
        for unit in grid.usable:
            cell = store.read(method, unit, fingerprints[(method, unit)])
            if cell is None:  # pragma: no cover - every cell was just written or checked
                raise DataError(f"cell {store.path(method, unit)} is missing or stale after the run")
            cells[(method, unit)] = cell
            group = grid.groups[unit].set_index("clip_id")
            ids = list(cell["scores"])
            frames.append(pd.DataFrame({
                "data": data_name, "seed": int(seed), "repeat": int(unit.repeat),
                **dict(zip(GROUP_COLUMNS, unit.key)),
                "clip_id": ids, "label": group.loc[ids, "label"].to_numpy(),
                **_method_row(method),
                "score": np.array([cell["scores"][c] for c in ids], dtype=np.float64),
            }))
    return pd.concat(frames, ignore_index=True), cells


def skipped_rows(grid: GridGroups, methods: Sequence[Method]) -> list[dict]:
    """One row per method of every group that cannot be evaluated: no metrics, the reason as status."""
    rows = []
    for unit, status in grid.status.items():
        if status == "ok":
            continue
        group = grid.groups[unit]
        test = group[evaluation_mask(group)]
        counts = {"n_train": int(train_normal_mask(group).sum()), "n_train_windows": 0, "n_test": len(test),
                  "n_normal_test": int((test["label"] == "normal").sum()),
                  "n_abnormal_test": int((test["label"] == "abnormal").sum())}
        metrics = dict.fromkeys(("auc", "auc_lo", "auc_hi", "pauc", "pauc_lo", "pauc_hi"), math.nan)
        for method in methods:
            rows.append({**_method_row(method), "repeat": unit.repeat, **dict(zip(GROUP_COLUMNS, unit.key)),
                         **metrics, **counts, "status": status})
    return rows


def results_table(scores: pd.DataFrame, cells: Mapping[tuple, dict], grid: GridGroups, *,
                  methods: Sequence[Method], data_name: str, seed: int, n_boot: int) -> pd.DataFrame:
    """results.csv: AUC and pAUC with intervals per (group, repeat, method), skipped groups included.

    Rows are sorted by snr, machine, model_id, repeat and the order of ``methods``.
    """
    from soundad.evaluate import evaluate_scores

    evaluated = evaluate_scores(
        scores[["clip_id", "repeat", *GROUP_COLUMNS, "label", "score", *METHOD_COLUMNS]], n_boot=n_boot, seed=seed,
    )
    extra = pd.DataFrame([
        {"method": m.label, "repeat": unit.repeat, **dict(zip(GROUP_COLUMNS, unit.key)),
         "n_train": c["n_train"], "n_train_windows": c["n_train_windows"]}
        for (m, unit), c in cells.items()
    ])
    results = evaluated.merge(extra, on=["method", "repeat", *GROUP_COLUMNS], how="left")
    results["status"] = "ok"
    skipped = skipped_rows(grid, methods)
    if skipped:
        results = pd.concat([results, pd.DataFrame(skipped)], ignore_index=True)
    results["data"] = data_name
    results["seed"] = int(seed)
    results["split"] = grid.rule
    order = results["method"].map({m.label: i for i, m in enumerate(methods)}).rename("order")
    results = results.assign(order=order).sort_values([*GROUP_COLUMNS, "repeat", "order"], kind="stable")
    results = results.drop(columns="order")
    results["repeat"] = results["repeat"].astype(int)
    for column in _COUNTS:
        results[column] = results[column].astype(int)
    columns = RESULT_COLUMNS + [c for c in results.columns if c not in RESULT_COLUMNS]
    return results[columns].reset_index(drop=True)


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` atomically, floats at full precision (``%.17g``: bytes identical on rerun)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.17g")
