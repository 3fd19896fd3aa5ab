"""What the bench times end to end: its clips, the batched pipeline and the naive loop (chapter 06)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from soundad.bench.timing import synchronizer, torch_device

__all__ = ["MAX_DISTINCT_CLIPS", "extract_random", "naive_loop", "prepare_clips"]

#: Synthetic clips the bench writes at most; more are hard links to these (see prepare_clips).
MAX_DISTINCT_CLIPS = 256


def prepare_clips(data, *, n_clips: int, duration: float, seed: int, workdir: Path) -> tuple[Path, pd.DataFrame]:
    """Clips to time: the first ``10 × n_clips`` under ``data``, or synthetic ones written to ``workdir``."""
    from soundad.data import read_layout, write_synthetic_dataset

    if data is not None:
        root = Path(data)
        return root, read_layout(root)
    total = 10 * n_clips
    distinct = min(total, MAX_DISTINCT_CLIPS)
    n_abnormal = distinct // 2
    root = Path(write_synthetic_dataset(workdir / "clips", machines=("fan",), snrs=("0dB",), model_ids=("id_00",),
                                        n_normal=distinct - n_abnormal, n_abnormal=n_abnormal,
                                        duration=duration, seed=seed))
    # Beyond that, further clips are hard links to the ones written: the same bytes
    # under new names. Speed does not depend on the sound, and writing 10,240
    # synthetic clips for a GPU run would take minutes.
    folder = root / "0dB" / "fan" / "id_00" / "normal"
    sources = sorted(folder.glob("*.wav"))
    for k in range(total - distinct):
        os.link(sources[k % len(sources)], folder / f"{len(sources) + k:08d}.wav")
    return root, read_layout(root)


def extract_random(clips, *, backbone: str, mel, window, image, device: str, batch_size: int, cache_dir,
                   autocast: bool = False, compile_mode: str | None = None):
    """:func:`soundad.extract.extract_features` with random weights (speed does not depend on them)."""
    from soundad.extract import extract_features

    return extract_features(clips, backbone=backbone, weights="random", mel=mel, window=window, image=image,
                            device=device, batch_size=batch_size, cache_dir=cache_dir, progress=False,
                            autocast=autocast, compile_mode=compile_mode)


def naive_loop(clips: pd.DataFrame, *, model, image, mel, window, device: str) -> int:
    """The straightforward reference: per clip, per window, batch 1, no cache. Returns windows done.

    ``model`` is the same network the pipeline runs (:func:`soundad.backbones.load_backbone`
    with its defaults), loaded before the clock starts, so that the comparison measures
    what batching, resampling-free decoding and the streamed data path buy -- not a
    slower network.
    """
    import librosa
    import torch

    from soundad.features import compute_mel, sliding_windows, windows_to_images

    dev = torch_device(device)
    n = 0
    with torch.inference_mode():
        for path in clips["path"]:
            y, sr = librosa.load(path, sr=None, mono=False)  # native rate, all channels
            y = np.asarray(y if y.ndim == 1 else y[0], dtype=np.float32)
            spec = compute_mel(y, sr=sr, config=mel)
            for win in sliding_windows(spec, length=window.length, hop=window.hop):
                img = windows_to_images(win[None], config=image, mean=model.mean, std=model.std)
                model(torch.as_tensor(np.asarray(img)).to(dev))
                n += 1
    synchronizer(dev)()
    return n
