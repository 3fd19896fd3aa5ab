"""Which mel front end feature extraction uses, and the loader items of the torch one.

Two implementations of audio -> mel dB windows exist:

- ``"librosa"``: :func:`soundad.clip_loader.clip_windows` per clip (numpy,
  librosa; the reference of chapter 02), run by the loader (in-process or in
  worker processes);
- ``"torch"``: :mod:`soundad.spectrogram_torch`, batched on the compute
  device; the loader only reads and decodes (:class:`ClipAudio`).

They agree to float32 rounding (tests: < 1e-3 dB; features < 1e-4 relative).
``"auto"`` takes the torch front end on a GPU, where the CPU workers' STFT was
the bottleneck, and :data:`CPU_DEFAULT` on a CPU, chosen by measurement
(:func:`measure_front_ends`; the numbers are in its docstring).

Clips not at the mel rate are resampled where they are decoded when the
compute device is the CPU (with librosa's soxr, as the librosa front end
does), and on the device otherwise (:func:`soundad.spectrogram_torch.resample`,
a windowed sinc: it differs from soxr in the top mel bands).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from soundad.errors import ParameterError, SoundadError
from soundad.features import MelConfig, WindowConfig
from soundad.params import Options, check_int, check_value

__all__ = ["FRONT_ENDS", "CPU_DEFAULT", "resolve_front_end", "ClipAudio", "ClipChunks", "WorkerFailure",
           "measure_front_ends"]

FRONT_ENDS = ("auto", "librosa", "torch")

#: The front end ``"auto"`` uses on a CPU (see :func:`measure_front_ends`).
CPU_DEFAULT = "torch"


def resolve_front_end(front_end: str, device: torch.device) -> str:
    """``"librosa"`` or ``"torch"`` for ``front_end`` in :data:`FRONT_ENDS` on ``device``."""
    check_value("front_end", front_end, Options(*FRONT_ENDS))
    if front_end != "auto":
        return front_end
    return CPU_DEFAULT if device.type == "cpu" else "torch"


@dataclass(frozen=True)
class WorkerFailure:
    """What a loader worker process hands over instead of an item when reading it raised a SoundadError.

    torch would re-raise the error in the main process rewrapped, its message
    the worker's whole traceback ("Caught DataError in DataLoader worker
    process 0. Original Traceback ..."); a user's broken file deserves its one
    line. :func:`soundad.clip_loader.windows_on_device` calls :meth:`reraise`.
    """

    error_type: type
    message: str

    def reraise(self):
        """Raise the worker's error in this process: the same class, the same message."""
        raise self.error_type(self.message)


class ClipChunks(torch.utils.data.Dataset):
    """A dataset over chunks of clips: item ``k`` holds clips ``k*c .. k*c+c-1`` (``c = clips_per_item``).

    Subclasses say what an item holds (:meth:`load`, using :meth:`chunk`). In a
    loader worker process, a :class:`~soundad.errors.SoundadError` raised by
    :meth:`load` is handed over as a :class:`WorkerFailure`.
    """

    def __init__(self, paths: Sequence[str], *, mel: MelConfig, window: WindowConfig, channel,
                 clips_per_item: int = 1):
        self.paths = list(paths)
        self.mel, self.window, self.channel = mel, window, channel
        self.clips_per_item = max(1, int(clips_per_item))

    def __len__(self) -> int:
        return -(-len(self.paths) // self.clips_per_item)

    def chunk(self, item: int) -> tuple[int, list[str]]:
        """Index of the chunk's first clip, and the chunk's paths."""
        first = item * self.clips_per_item
        return first, self.paths[first:first + self.clips_per_item]

    def load(self, item: int):
        """Item ``item`` (subclasses define it)."""
        raise NotImplementedError

    def __getitem__(self, item: int):
        if torch.utils.data.get_worker_info() is None:  # in this process: the error as raised
            return self.load(item)
        try:
            return self.load(item)
        except SoundadError as err:
            return WorkerFailure(type(err), str(err))


class ClipAudio(ClipChunks):
    """Decoded clips in chunks, for the torch front end: item ``k`` holds clips ``k*c .. k*c+c-1``.

    An item is ``(first clip index, sample rates [list of int], audio [list of float32
    tensors of shape (n_i,)])``: the loader only reads and decodes; STFT and mel happen
    on the compute device.

    Parameters
    ----------
    paths : sequence of str
    mel, window : MelConfig, WindowConfig
        Only used to reject, here and with the file's name, a clip too short
        for one window.
    channel : int or "mean"
    clips_per_item : int >= 1
    decode_sr : int > 0 [Hz] or None, default=None
        Resample each clip to this rate as it is decoded (soxr, through
        :func:`soundad.data.load_audio`); None hands over each file's native
        rate, for the device to resample.
    """

    def __init__(self, paths: Sequence[str], *, mel: MelConfig, window: WindowConfig, channel,
                 clips_per_item: int = 8, decode_sr: int | None = None):
        super().__init__(paths, mel=mel, window=window, channel=channel, clips_per_item=clips_per_item)
        self.decode_sr = decode_sr

    def load(self, item: int):
        from soundad.data import load_audio

        first, paths = self.chunk(item)
        rates, audio = [], []
        for path in paths:
            y, sr = load_audio(path, channel=self.channel, sr=self.decode_sr)
            n = int(np.ceil(len(y) * self.mel.sr / sr))  # length after resampling
            frames = 1 + n // self.mel.hop_length
            if frames < self.window.length:
                raise ParameterError(
                    f"{os.fspath(path)!r}: window length {self.window.length} frames is longer than the "
                    f"spectrogram's {frames} frames; use a shorter WindowConfig.length or longer clips"
                )
            rates.append(int(sr))
            audio.append(torch.from_numpy(y))
        return first, rates, audio


def measure_front_ends(paths: Sequence[str], *, mel: MelConfig = MelConfig(), window: WindowConfig = WindowConfig(),
                       channel: Any = 0, batch: int = 8, repeats: int = 3) -> dict:
    """Windows per second of each front end on the CPU, from decoded audio (decoding excluded).

    Both are timed in this process as feature extraction runs them on a CPU: the
    librosa one clip by clip with numpy's BLAS held to one thread, the torch one
    ``batch`` clips at a time with torch's own threads. Clips at another rate
    are resampled by soxr once, with the decoding, before the timing. Best of
    ``repeats``.

    Measured on this project's 2-core machine with nothing else running
    (2026-11-30), 16 MIMII clips of 10 s, 128 windows, torch 2.14.1, librosa
    0.11.0, two runs: librosa 4,546 and 4,782 windows/s, torch 9,965 and 8,118.
    In feature extraction (``soundad bench``, EfficientNet-Lite0, four runs of
    each) the time per clip outside the drawing and the forward pass fell from
    3.4-3.6 ms with librosa to 1.7-1.8 ms with torch, and the pipeline went from
    0.81-0.83 to 0.85-0.90 x the forward pass's rate. Hence :data:`CPU_DEFAULT`.
    (An earlier measurement, taken while other jobs loaded the machine, had
    found the opposite; ``soundad bench`` on your own machine tells which wins
    there.)

    Returns
    -------
    dict
        ``{"librosa": windows/s, "torch": windows/s, "windows": n}``.
    """
    batch, repeats = check_int("batch", batch, low=1), check_int("repeats", repeats, low=1)
    from threadpoolctl import threadpool_limits

    from soundad.data import load_audio
    from soundad.features import compute_mel, sliding_windows
    from soundad.spectrogram_torch import batched_clip_windows

    # decoded (and, for clips at another rate, resampled by soxr) once, outside the timing,
    # as both front ends receive it on a CPU
    decoded = [load_audio(p, channel=channel, sr=mel.sr)[0] for p in paths]
    out: dict = {}

    def run_librosa() -> int:
        n = 0
        with threadpool_limits(limits=1, user_api="blas"):
            for y in decoded:
                spec = compute_mel(y, sr=mel.sr, config=mel)
                n += len(sliding_windows(spec, length=window.length, hop=window.hop))
        return n

    def run_torch() -> int:
        n = 0
        with torch.inference_mode():
            for i in range(0, len(decoded), batch):
                chunk = [torch.from_numpy(y) for y in decoded[i:i + batch]]
                windows, _ = batched_clip_windows(chunk, sr=[mel.sr] * len(chunk), config=mel, window=window)
                n += int(windows.shape[0])
        return n

    for name, fn in (("librosa", run_librosa), ("torch", run_torch)):
        fn()  # warm-up: imports, filter bank, FFT plans
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            n = fn()
            best = min(best, time.perf_counter() - t)
        out[name] = n / best
        if out.setdefault("windows", n) != n:  # a bug: both front ends cut the same windows
            raise AssertionError(f"the {name} front end made {n} windows, librosa {out['windows']}")
    return out
