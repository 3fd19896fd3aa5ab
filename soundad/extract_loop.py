"""The forward loop of feature extraction: windows in, each clip's features out (chapter 03).

:func:`load_model` loads the backbone as an
:class:`~soundad.extract_settings.ExtractionSettings` asks (only called when
some clip is not in the cache). :class:`BatchLoop` packs the windows of
consecutive clips into batches of ``batch_size`` -- batches span clip
boundaries and are always cut at the same windows, so the features do not
depend on the loader -- draws them as images on the compute device (one
vectorised :func:`~soundad.features.draw_images` call per batch), runs the
backbone and hands each clip's rows to a callback once the clip's last
window is through. Only one batch of images is in memory at a time.

On a GPU one batch stays in flight: its features are copied back while the
next batch is drawn and launched, so the device never waits for the Python side.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from soundad.backbones import load_backbone
from soundad.cuda_forward import make_forward
from soundad.features import draw_images, normalised_lut

__all__ = ["LoadedModel", "load_model", "BatchLoop", "Progress"]


@dataclass
class LoadedModel:
    """The backbone, the function that runs it, and how long loading took."""

    model: torch.nn.Module
    forward: Callable[[torch.Tensor], torch.Tensor]
    seconds: float


def load_model(settings, *, seed: int = 0) -> LoadedModel:
    """Load, convert and warm the backbone of ``settings`` (an ``ExtractionSettings``).

    ``seed`` seeds random weights. The fused CPU graph optimises itself on its
    first calls, so the model is warmed at the run's batch size here, outside
    the timed forward passes.
    """
    t0 = time.perf_counter()
    config = settings.backbone
    model = load_backbone(config.name, weights=config.weights, layer=config.layer, device=settings.device,
                          seed=seed, channels_last=config.channels_last, fuse_bn=config.fuse_bn,
                          cpu_fusion=config.cpu_fusion)
    if config.half:
        model = model.half()
    model.warm_up(config.batch_size)
    forward = make_forward(model, batch_size=config.batch_size, autocast=config.autocast,
                           compile_mode=config.compile_mode)
    return LoadedModel(model=model, forward=forward, seconds=time.perf_counter() - t0)


class BatchLoop:
    """Runs the backbone over windows in fixed batches and hands back each clip's features.

    Parameters
    ----------
    loaded : LoadedModel
    settings : ExtractionSettings
    on_clip : callable ``(index, features) -> None``
        Called once per clip, when its last window is through (clips without
        windows at once), with the clip's index in the loader and its features,
        float32 [shape=(n_windows, D)] (a copy, not a view of a batch).

    Attributes
    ----------
    forward_seconds : float [s]
        Time spent drawing images and running the backbone.
    computed_windows : int
    """

    def __init__(self, loaded: LoadedModel, settings, on_clip: Callable[[int, np.ndarray], None]):
        config = settings.backbone
        self.forward, self.on_clip = loaded.forward, on_clip
        self.feature_dim = loaded.model.feature_dim
        self.batch_size, self.half, self.channels_last = config.batch_size, config.half, config.channels_last
        self.image = settings.image
        self.lut = normalised_lut(settings.image.colormap, mean=loaded.model.mean, std=loaded.model.std,
                                  device=settings.device)
        self.depth = 1 if settings.device.type == "cuda" else 0  # batches left in flight
        self.pending_windows: list[torch.Tensor] = []  # on the compute device
        self.n_pending = 0
        self.pending_rows: deque[tuple[int, int]] = deque()  # (clip index, rows not yet in a result)
        self.parts: dict[int, list[np.ndarray]] = {}
        self.in_flight: deque = deque()  # (host tensor, CUDA event, rows)
        self.forward_seconds = 0.0
        self.computed_windows = 0

    def add(self, first: int, rows_per_clip: list[int], windows: torch.Tensor) -> None:
        """Queue the windows of clips ``first, first + 1, ...``; run every full batch."""
        for j, rows in enumerate(rows_per_clip):
            idx = first + j
            self.parts[idx] = []
            if rows == 0:
                self._finish(idx)
            else:
                self.pending_rows.append((idx, rows))
        if windows.shape[0]:
            self.pending_windows.append(windows)
            self.n_pending += int(windows.shape[0])
        while self.n_pending >= self.batch_size:
            self._run_batch(self.batch_size)

    def flush(self) -> None:
        """Run the last, partial batch and wait for every batch in flight."""
        if self.n_pending:
            self._run_batch(self.n_pending)
        self._drain(keep=0)

    def _run_batch(self, n: int) -> None:
        pending = self.pending_windows
        batch = pending[0] if len(pending) == 1 else torch.cat(pending)
        take, rest = batch[:n], batch[n:]
        t = time.perf_counter()
        with torch.inference_mode():
            # Images are drawn per batch, on the compute device: a few large tensor
            # operations instead of many small ones, and on a GPU the (small) windows
            # travel instead of the (20x larger) images.
            images = draw_images(take, self.lut, config=self.image, channels_last=self.channels_last)
            if self.half:
                images = images.half()
            feats = self.forward(images)
            if self.depth:
                host = feats.to("cpu", non_blocking=True)  # into pinned memory, in stream order
                ready = torch.cuda.Event()
                ready.record()
                self.in_flight.append((host, ready, n))
            else:
                self._collect(feats.numpy(), n)
        self._drain(keep=self.depth)
        self.forward_seconds += time.perf_counter() - t
        self.computed_windows += n
        pending.clear()
        if rest.shape[0]:
            pending.append(rest)
        self.n_pending -= n

    def _drain(self, *, keep: int) -> None:
        """Collect finished GPU batches, oldest first, until ``keep`` are left in flight."""
        while len(self.in_flight) > keep:
            host, ready, m = self.in_flight.popleft()
            ready.synchronize()
            self._collect(host.numpy(), m)

    def _collect(self, feats: np.ndarray, n: int) -> None:
        """Hand the n rows of one finished batch to their clips, in order."""
        offset = 0
        while offset < n:
            idx, rows = self.pending_rows[0]
            used = min(rows, n - offset)
            self.parts[idx].append(feats[offset:offset + used])
            offset += used
            if used == rows:  # the clip's last rows
                self.pending_rows.popleft()
                self._finish(idx)
            else:
                self.pending_rows[0] = (idx, rows - used)

    def _finish(self, idx: int) -> None:
        chunks = self.parts.pop(idx)
        # a copy, not a view: a view would keep its whole batch (on a GPU, a pinned
        # buffer) alive for as long as the clip's features live
        if not chunks:  # a clip without windows
            feats = np.zeros((0, self.feature_dim), dtype=np.float32)
        else:
            feats = np.concatenate(chunks) if len(chunks) != 1 else chunks[0].copy()
        self.on_clip(idx, feats)


class Progress:
    """A tqdm bar over clips, with the windows per second so far."""

    def __init__(self, *, total: int, done: int, done_windows: int, desc: str, enabled: bool, start: float):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="clip", desc=desc, disable=not enabled)
        self.bar.update(done)
        self.windows, self.start = done_windows, start

    @classmethod
    def of_plan(cls, plan, *, desc: str, enabled: bool, start: float) -> "Progress":
        """A bar over the clips of a :class:`~soundad.extract_cache.CachePlan`, its cached clips done."""
        return cls(total=len(plan.features), done=plan.n_cached, desc=desc, enabled=enabled, start=start,
                   done_windows=sum(len(f) for f in plan.features if f is not None))

    def clip_done(self, n_windows: int) -> None:
        """One more clip, with ``n_windows`` windows."""
        self.bar.update(1)
        self.windows += n_windows
        elapsed = time.perf_counter() - self.start
        if elapsed > 0:
            self.bar.set_postfix(windows_per_s=f"{self.windows / elapsed:.1f}", refresh=False)

    def close(self) -> None:
        self.bar.close()
