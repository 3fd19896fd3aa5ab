"""The work of one grid cell: fit a detector or an autoencoder on a group, score its test clips.

:func:`run_detector` and :func:`run_baseline` compute a cell's clip scores
from features or baseline inputs already at hand (the serial run).
:func:`detector_cell` and :func:`baseline_cell` are the same work as
independent tasks for an executor (``run_grid(executor=...)``): each reads
what it needs itself (a detector cell its group's features from the feature
cache) and writes its cell file.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from soundad.data.groups import evaluation_mask, train_normal_mask
from soundad.errors import DataError

from .cells import CellStore
from .plan import Method, Unit

__all__ = ["baseline_cell", "cached_features", "detector_cell", "rows_by_clip", "run_baseline", "run_detector"]

#: The scores of one cell: clip scores of the test clips, normal training clips, training windows.
CellResult = tuple[pd.Series, int, int]


def rows_by_clip(clip_ids) -> pd.Series:
    """The row numbers of each clip in a features array whose rows belong to ``clip_ids``."""
    return pd.Series(np.arange(len(clip_ids))).groupby(np.asarray(clip_ids)).apply(np.asarray)


def run_detector(features: np.ndarray, rows_of: pd.Series, group: pd.DataFrame, name: str, *, seed: int,
                 params: Mapping[str, Any]) -> CellResult:
    """Fit detector ``name`` on the group's normal training windows; mean window score of each test clip.

    Parameters
    ----------
    features : np.ndarray [shape=(n_windows, n_features)]
        Window features of (at least) the group's clips.
    rows_of : pd.Series
        ``clip_id`` -> row numbers of that clip in ``features``.
    group : pd.DataFrame
        The group's clips with ``split`` and ``label``.
    name, seed, params
        Passed to :func:`soundad.detectors.make_detector`.
    """
    from soundad.detectors import anomaly_scores, clip_scores, make_detector

    train_ids = group.loc[train_normal_mask(group), "clip_id"]
    test_ids = group.loc[evaluation_mask(group), "clip_id"]
    train_rows = np.concatenate([rows_of[c] for c in train_ids])
    test_rows = np.concatenate([rows_of[c] for c in test_ids])
    detector = make_detector(name, seed=seed, **params).fit(features[train_rows])
    window_scores = anomaly_scores(detector, features[test_rows])
    test_clip_of_row = np.concatenate([[c] * len(rows_of[c]) for c in test_ids])
    return clip_scores(window_scores, test_clip_of_row, how="mean"), len(train_ids), len(train_rows)


def run_baseline(name: str, inputs: Mapping[str, np.ndarray], group: pd.DataFrame, *, seed: int, device: str,
                 params: Mapping[str, Any], progress: bool) -> CellResult:
    """Train baseline ``name`` on the group's normal training clips; mean error of each test clip.

    ``inputs`` maps ``clip_id`` to the clip's baseline input
    (:func:`soundad.autoencoders.baseline_inputs`).
    """
    from soundad import autoencoders
    from soundad.detectors import anomaly_scores, clip_scores

    cls = autoencoders.ConvAutoencoderDetector if name == "conv_ae" else autoencoders.DenseAutoencoderDetector
    kwargs = {"random_state": seed, "device": device, "progress": progress, **params}
    train_ids = list(group.loc[train_normal_mask(group), "clip_id"])
    X_train, _ = autoencoders.stack_inputs(inputs, train_ids)
    X_test, test_clip_of_row = autoencoders.stack_inputs(inputs, group.loc[evaluation_mask(group), "clip_id"])
    detector = cls(**kwargs).fit(X_train)
    return clip_scores(anomaly_scores(detector, X_test), test_clip_of_row, how="mean"), len(train_ids), len(X_train)


def cached_features(group: pd.DataFrame, *, cache_dir, settings: Mapping[str, Any]) -> tuple[np.ndarray, pd.Series]:
    """The group's window features from the feature cache, and each clip's rows.

    Raises ``DataError`` when a clip is not in the cache (a worker that does
    not see the cache directory the grid filled).
    """
    from soundad.cache import FeatureCache
    from soundad.fingerprints import FingerprintIndex

    cache = FeatureCache(cache_dir, settings)
    index = FingerprintIndex(cache_dir)
    arrays, rows, start = [], {}, 0
    for clip_id, clip_path in zip(group["clip_id"], group["path"]):
        array = cache.load(index.fingerprint(clip_path))
        if array is None:
            raise DataError(f"the features of {str(clip_path)!r} are not in the feature cache {str(cache_dir)!r}; "
                            "every worker must see the same cache directory (a shared file system)")
        arrays.append(array)
        rows[clip_id] = np.arange(start, start + len(array))
        start += len(array)
    return np.concatenate(arrays), pd.Series(rows)


def detector_cell(method: Method, unit: Unit, group: pd.DataFrame, *, store: CellStore, fingerprint: str,
                  cache_dir, settings: Mapping[str, Any], seed: int, params: Mapping[str, Any]) -> float:
    """One transfer-learning cell as an independent task; returns its run time [s].

    The group's features are read from the feature cache (``settings``: the
    cache settings of the extraction the grid ran); no model is loaded, so
    the task needs neither a GPU nor the weights. The cell is written
    atomically to ``store``.
    """
    t0 = time.perf_counter()
    features, rows_of = cached_features(group, cache_dir=cache_dir, settings=settings)
    scores, n_train, n_windows = run_detector(features, rows_of, group, method.detector, seed=seed, params=params)
    seconds = time.perf_counter() - t0
    store.write(method, unit, fingerprint, scores=scores, n_train=n_train, n_train_windows=n_windows,
                seconds=seconds)
    return seconds


def baseline_cell(method: Method, unit: Unit, group: pd.DataFrame, *, store: CellStore, fingerprint: str, mel,
                  window, channel, seed: int, device: str, params: Mapping[str, Any]) -> float:
    """One autoencoder-baseline cell as an independent task; returns its run time [s]."""
    from soundad.autoencoders import baseline_inputs

    t0 = time.perf_counter()
    inputs = baseline_inputs(group, [method.backbone], mel=mel, window=window, channel=channel)
    scores, n_train, n_windows = run_baseline(method.backbone, inputs[method.backbone], group, seed=seed,
                                              device=device, params=params, progress=False)
    seconds = time.perf_counter() - t0
    store.write(method, unit, fingerprint, scores=scores, n_train=n_train, n_train_windows=n_windows,
                seconds=seconds)
    return seconds
