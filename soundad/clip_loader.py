"""Audio files to mel windows on the compute device, clip after clip (chapter 03).

Feature extraction reads its clips through a ``torch.utils.data.DataLoader``:

- with the librosa front end, each item is the mel windows of one clip (in
  this process) or of a chunk of clips (in worker processes):
  :class:`ClipWindows`, built on :func:`clip_windows`, the chain of chapters
  01-02 for one file;
- with the torch front end, the loader only reads and decodes
  (:class:`soundad.front_end.ClipAudio`) and :func:`windows_on_device` turns a
  chunk of decoded clips into mel windows on the device in one batched call
  (:mod:`soundad.spectrogram_torch`).

numpy's BLAS is held to one thread while it shares the cores with torch
(:func:`limit_blas_threads`): librosa's mel product otherwise runs ~10x slower.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Iterator

import numpy as np
import torch

from soundad.errors import ParameterError
from soundad.features import MelConfig, WindowConfig, compute_mel, sliding_windows
from soundad.front_end import ClipAudio, ClipChunks, WorkerFailure

__all__ = ["clip_windows", "ClipWindows", "CLIPS_PER_ITEM", "make_loader", "windows_on_device",
           "limit_blas_threads"]

#: Clips per item a worker process hands over (GPU runs consume thousands of clips per second).
CLIPS_PER_ITEM = 8


def clip_windows(
    path: str | os.PathLike,
    *,
    mel: MelConfig = MelConfig(),
    window: WindowConfig = WindowConfig(),
    channel: int | str = 0,
) -> np.ndarray:
    """Mel windows of one audio file.

    Parameters
    ----------
    path : str or path-like
        A WAV file (read with :func:`soundad.data.load_audio`, resampled to
        ``mel.sr`` if needed).
    mel, window : MelConfig, WindowConfig
    channel : int or "mean"

    Returns
    -------
    windows : np.ndarray [shape=(n_windows, n_mels, length), dtype=float32]
        In dB, as :func:`soundad.features.sliding_windows` returns them.
    """
    from soundad.data import load_audio  # the data stage; imported lazily

    y, sr = load_audio(path, channel=channel, sr=mel.sr)
    spec = compute_mel(y, sr=sr, config=mel)
    try:
        return sliding_windows(spec, length=window.length, hop=window.hop)
    except ParameterError as err:
        raise ParameterError(f"{os.fspath(path)!r}: {err}") from None


class ClipWindows(ClipChunks):
    """Dataset over chunks of clips: item ``k`` holds clips ``k*c .. k*c+c-1`` (``c = clips_per_item``).

    An item is ``(first clip index, rows per clip [shape=(c,)], windows [shape=(sum(rows), n_mels,
    length)])``: one tensor per chunk instead of one per clip, so that a GPU run, which
    consumes thousands of clips per second, pays the inter-process hand-over once per chunk.
    """

    def load(self, item: int):
        first, paths = self.chunk(item)
        arrays = [clip_windows(path, mel=self.mel, window=self.window, channel=self.channel) for path in paths]
        rows = torch.tensor([len(a) for a in arrays], dtype=torch.int64)
        windows = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        return first, rows, torch.from_numpy(windows)


def make_loader(paths: list[str], settings) -> torch.utils.data.DataLoader:
    """The loader over ``paths`` for an :class:`~soundad.extract_settings.ExtractionSettings`.

    With workers, each hands over a chunk of :data:`CLIPS_PER_ITEM` clips at a
    time; in-process, the librosa front end takes one clip per item.
    """
    config = settings.backbone
    workers = int(config.num_workers)
    kwargs = dict(mel=settings.mel, window=settings.window, channel=settings.channel)
    if config.front_end == "torch":  # the loader only decodes; a chunk of clips is one batched front-end call
        # On a CPU, soxr resamples as the clip is decoded (the librosa front end's numbers);
        # on a GPU the device resamples, so that the loader's CPU cores only decode.
        decode_sr = settings.mel.sr if settings.device.type == "cpu" else None
        dataset = ClipAudio(paths, clips_per_item=CLIPS_PER_ITEM, decode_sr=decode_sr, **kwargs)
    else:
        dataset = ClipWindows(paths, clips_per_item=1 if workers == 0 else CLIPS_PER_ITEM, **kwargs)
    if workers and config.front_end == "librosa":
        # Import and warm the preprocessing here, once: worker processes forked from this
        # one inherit it, instead of each importing librosa (and numba) on its first clip
        # (~2 s per worker, per call -- longer than a GPU needs for a thousand clips).
        mel = settings.mel
        compute_mel(np.zeros(2 * mel.n_fft, dtype=np.float32), sr=mel.sr, config=mel)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        pin_memory=settings.device.type == "cuda",
        prefetch_factor=4 if workers else None,
        worker_init_fn=limit_blas_threads if workers else None,
    )


def windows_on_device(loader, settings) -> Iterator[tuple[int, list[int], torch.Tensor]]:
    """Yield ``(first clip index, windows per clip, windows on the device)`` for each loader item.

    Raises
    ------
    SoundadError
        The error a worker process met reading an item (:class:`~soundad.front_end.WorkerFailure`),
        re-raised here with its class and its one-line message.
    """
    from soundad.spectrogram_torch import batched_clip_windows

    device = settings.device
    for item in loader:
        if isinstance(item, WorkerFailure):
            item.reraise()
        if settings.backbone.front_end == "torch":
            first, rates, audio = item
            with torch.inference_mode():
                windows, rows = batched_clip_windows([a.to(device, non_blocking=True) for a in audio], sr=rates,
                                                     config=settings.mel, window=settings.window)
        else:
            first, rows, windows = item
            rows, windows = rows.tolist(), windows.to(device, non_blocking=True)
        yield int(first), rows, windows


def limit_blas_threads(worker_id: int | None = None):
    """Let numpy/scipy's BLAS use one thread in the preprocessing (returns the limiter, or None).

    librosa's mel filter bank product goes through OpenBLAS; with several
    BLAS threads fighting torch's threads for the same cores it runs 10x
    slower (40-60 ms instead of 3 ms per 10-s clip, measured on 2 cores).
    torch's own thread pool (OpenMP) is not affected. Call
    ``restore_original_limits()`` on the result to undo it.
    """
    controller = _threadpool_controller(len(sys.modules))
    return None if controller is None else controller.limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _threadpool_controller(n_modules: int):
    """threadpoolctl's view of the loaded thread pools, scanned once per set of imported modules.

    A scan walks every loaded shared library: ~4 ms per call once torch and
    a backbone are loaded, paid on every ``extract_features`` call (on 2
    cores ~1 % of a 16-clip EfficientNet-Lite0 run). A library that brings a
    new BLAS comes with a new extension module, so the number of imported
    modules (``n_modules``) is the key: a new import means a fresh scan.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    return ThreadpoolController()
