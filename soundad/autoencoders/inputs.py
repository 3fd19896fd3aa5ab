"""What each autoencoder baseline reads from a clip (chapter 05).

- ``"conv_ae"``: the clip's mel windows, exactly as the ImageNet pipeline cuts
  them (:class:`~soundad.features.MelConfig`, :class:`~soundad.features.WindowConfig`).
- ``"dense_ae"``: MIMII's baseline input, stacked log-mel frames
  (:func:`~soundad.autoencoders.dense_ae_frames`, mel settings
  :data:`~soundad.autoencoders.DENSE_AE_MEL`).
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from soundad.data import load_audio
from soundad.errors import ParameterError
from soundad.features import MelConfig, WindowConfig, compute_mel, sliding_windows

from .frames import DENSE_AE_MEL, dense_ae_frames

__all__ = ["BASELINES", "baseline_inputs", "stack_inputs"]

#: The autoencoder baselines, by the name the grid and the CLI use.
BASELINES = ("conv_ae", "dense_ae")


def baseline_inputs(
    clips: pd.DataFrame,
    names: Iterable[str] = BASELINES,
    *,
    mel: MelConfig = MelConfig(),
    window: WindowConfig = WindowConfig(),
    channel: int | str = 0,
    dense_mel: MelConfig = DENSE_AE_MEL,
) -> dict[str, dict[str, np.ndarray]]:
    """Each baseline's input for every clip, read once per clip.

    Parameters
    ----------
    clips : pd.DataFrame
        Has ``clip_id`` and ``path``.
    names : iterable of {"conv_ae", "dense_ae"}, default=BASELINES
    mel, window : MelConfig, WindowConfig
        The conv AE's mel windows.
    channel : int or "mean", default=0
        Microphone to read.
    dense_mel : MelConfig, default=DENSE_AE_MEL
        The dense AE's mel settings (MIMII's baseline: 64 bands).

    Returns
    -------
    inputs : dict
        ``inputs[name][clip_id]``: ``float32`` array, ``(n_windows, n_mels, length)``
        for ``"conv_ae"``, ``(n_frames, 5 * dense_mel.n_mels)`` for ``"dense_ae"``.
    """
    names = set(names)
    unknown = sorted(names - set(BASELINES))
    if unknown:
        raise ParameterError(f"baselines={sorted(names)!r}; expected some of {', '.join(BASELINES)}")
    inputs: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for clip_id, path in zip(clips["clip_id"], clips["path"]):
        y, sr = load_audio(path, channel=channel, sr=mel.sr)
        if "conv_ae" in names:
            spec = compute_mel(y, sr=sr, config=mel)
            inputs["conv_ae"][clip_id] = sliding_windows(spec, length=window.length, hop=window.hop)
        if "dense_ae" in names:
            if dense_mel.sr != sr:
                y, sr = load_audio(path, channel=channel, sr=dense_mel.sr)
            inputs["dense_ae"][clip_id] = dense_ae_frames(y, sr=sr, mel=dense_mel)
    return inputs


def stack_inputs(per_clip: Mapping[str, np.ndarray], clip_ids: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the given clips in one array, and the clip each row came from.

    Parameters
    ----------
    per_clip : mapping
        ``clip_id -> array (n_rows, ...)``, one baseline's entry of :func:`baseline_inputs`.
    clip_ids : iterable of str
        The clips to stack, in this order (e.g. the training clips).

    Returns
    -------
    rows : np.ndarray [shape=(sum of n_rows, ...)]
    owners : np.ndarray [shape=(sum of n_rows,)] of str
        ``owners[i]`` is the clip of ``rows[i]`` (what
        :func:`soundad.detectors.clip_scores` pools by).
    """
    ids = list(clip_ids)
    if not ids:
        raise ParameterError("clip_ids is empty; expected at least one clip")
    missing = [c for c in ids if c not in per_clip]
    if missing:
        raise ParameterError(f"{len(missing)} clip(s) have no inputs, e.g. {missing[0]!r}")
    rows = np.concatenate([per_clip[c] for c in ids])
    owners = np.concatenate([np.repeat(np.asarray([c], dtype=object), len(per_clip[c])) for c in ids])
    return rows, owners.astype(str)
