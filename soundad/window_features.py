"""The features of every window of every clip, and how they are saved (chapter 03).

:class:`WindowFeatures` is what :func:`soundad.extract.extract_features`
returns: one row of backbone features per mel window, with the clip id and
window position of each row, the settings that produced them and the run's
timing. :meth:`WindowFeatures.split` cuts it into the windows a one-class
detector is fitted on and the windows it is tested on (chapter 04).
:func:`save_features` / :func:`load_features` write and read it as a
directory (``soundad extract --out``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from soundad._io import atomic_path, atomic_write_text
from soundad.cache import plain_settings
from soundad.errors import DataError

__all__ = ["WindowFeatures", "save_features", "load_features"]


@dataclass
class WindowFeatures:
    """Features of every window of every clip.

    Attributes
    ----------
    features : np.ndarray [shape=(N, D), dtype=float32]
        One row per window, clips in the order given, windows in time order.
    clip_ids : np.ndarray [shape=(N,), dtype=str]
        The clip of each row.
    window_index : np.ndarray [shape=(N,), dtype=int64]
        Position of each window within its clip (0, 1, ...).
    backbone : str
    weights : str
        ``"imagenet"`` or ``"random"``.
    weights_name : str
        The exact checkpoint, e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``.
    layer : str
    settings : dict
        Everything that determined the features (the cache key's settings).
    windows_per_second : float
        ``N`` divided by the wall-clock time of the call.
    seconds : float [s]
        Wall-clock time of the call.
    from_cache : bool
        True if every clip came from the cache (the backbone was not loaded).
    stats : dict
        ``clips``, ``windows``, ``cached_clips``, ``computed_windows``,
        ``load_seconds`` (backbone), ``forward_seconds``, ``batch_size``,
        ``num_workers``, ``device``.
    """

    features: np.ndarray
    clip_ids: np.ndarray
    window_index: np.ndarray
    backbone: str
    weights: str
    weights_name: str
    layer: str
    settings: dict = field(default_factory=dict)
    windows_per_second: float = float("nan")
    seconds: float = float("nan")
    from_cache: bool = False
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def feature_dim(self) -> int:
        """``D``, the length of a feature vector."""
        return int(self.features.shape[1])

    def rows_of(self, clip_id: str) -> np.ndarray:
        """Row indices of one clip's windows."""
        return np.flatnonzero(self.clip_ids == clip_id)

    def subset(self, rows: np.ndarray) -> "WindowFeatures":
        """The windows selected by ``rows`` (a boolean mask of length N or row indices), same metadata."""
        return dataclasses.replace(self, features=self.features[rows], clip_ids=self.clip_ids[rows],
                                   window_index=self.window_index[rows], stats=dict(self.stats))

    def split(self, clips: pd.DataFrame) -> tuple["WindowFeatures", "WindowFeatures"]:
        """The training and test windows, by the clips' ``split`` and ``label`` columns.

        Parameters
        ----------
        clips : pd.DataFrame
            Has ``clip_id``, ``split`` and ``label`` for every clip of these
            features (e.g. from :func:`soundad.data.choose_split`).

        Returns
        -------
        train : WindowFeatures
            Windows of normal training clips (what a one-class detector is fitted on).
        test : WindowFeatures
            Windows of test clips, normal and abnormal.

        Raises
        ------
        DataError
            If a clip of these features is not in ``clips`` or ``clips`` has no split.
        """
        from soundad.data.groups import evaluation_mask, rows_of_clips, train_normal_mask

        per_row = rows_of_clips(self.clip_ids, clips, owner="these features")
        return (self.subset(train_normal_mask(per_row).to_numpy()),
                self.subset(evaluation_mask(per_row).to_numpy()))


def save_features(wf: WindowFeatures, out_dir: str | os.PathLike) -> Path:
    """Write window features to a directory, each file atomically.

    Files: ``features.npy`` (float32 [shape=(N, D)]), ``windows.csv``
    (``clip_id, window`` per row) and ``meta.json`` (backbone, weights, layer,
    settings, timing).

    Parameters
    ----------
    wf : WindowFeatures
    out_dir : str or path-like
        Created if missing.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "features.npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(wf.features, dtype=np.float32), allow_pickle=False)
    table = pd.DataFrame({"clip_id": wf.clip_ids, "window": wf.window_index})
    with atomic_path(out / "windows.csv") as tmp:
        table.to_csv(tmp, index=False)
    meta = {
        "backbone": wf.backbone,
        "weights": wf.weights,
        "weights_name": wf.weights_name,
        "layer": wf.layer,
        "n_windows": len(wf),
        "feature_dim": int(wf.features.shape[1]) if wf.features.ndim == 2 else 0,
        "settings": plain_settings(wf.settings),
        "windows_per_second": wf.windows_per_second,
        "seconds": wf.seconds,
        "from_cache": wf.from_cache,
        "stats": plain_settings(wf.stats),
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1, sort_keys=True))
    return out


def load_features(path: str | os.PathLike) -> WindowFeatures:
    """Read a directory written by :func:`save_features`.

    Raises
    ------
    DataError
        Missing or inconsistent files (the message names them).
    """
    root = Path(path)
    try:
        features = np.load(root / "features.npy", allow_pickle=False)
        table = pd.read_csv(root / "windows.csv", dtype={"clip_id": str})
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read saved features in {str(root)!r}: {err}") from err
    if features.ndim != 2 or len(table) != features.shape[0]:
        raise DataError(
            f"saved features in {str(root)!r} are inconsistent: features.npy has shape {features.shape}, "
            f"windows.csv has {len(table)} rows"
        )
    return WindowFeatures(
        features=features.astype(np.float32, copy=False),
        clip_ids=table["clip_id"].to_numpy(dtype=str),
        window_index=table["window"].to_numpy(dtype=np.int64),
        backbone=meta.get("backbone", ""),
        weights=meta.get("weights", ""),
        weights_name=meta.get("weights_name", ""),
        layer=meta.get("layer", ""),
        settings=meta.get("settings", {}),
        windows_per_second=float(meta.get("windows_per_second", float("nan"))),
        seconds=float(meta.get("seconds", float("nan"))),
        from_cache=bool(meta.get("from_cache", False)),
        stats=meta.get("stats", {}),
    )
