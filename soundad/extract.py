"""Window features of many clips through a frozen backbone (chapter 03).

:func:`extract_features` runs the chain of chapters 01-03 on every clip::

    WAV --load_audio--> y --compute_mel--> mel --sliding_windows--> windows
        --windows_to_images--> images --backbone--> features (one row per window)

and returns a :class:`~soundad.window_features.WindowFeatures`: the features of
all windows of all clips, with the clip id of each row. It is a pipeline of
named steps, each in its own module:

1. **Settings** (:mod:`soundad.extract_settings`): one
   :class:`~soundad.backbones.BackboneConfig` (from ``config=`` or the
   keywords) with the mel, window and image settings, checked and resolved for
   this machine before any work is done; they give the cache key.
2. **Plan** (:mod:`soundad.extract_cache`): a rerun of the same clips reads
   their whole-run pack (:mod:`soundad.cache_packs`); otherwise every clip is
   looked up in the feature cache *first*, by the fingerprint of its audio file.
3. **Model** (:mod:`soundad.extract_loop`): the backbone is loaded only if a
   clip is missing, so a warm rerun touches neither the model nor the network.
4. **Loop**: a ``torch.utils.data.DataLoader`` (:mod:`soundad.clip_loader`)
   decodes the missing clips, which become mel windows (in the loader or on
   the compute device, by the front end); :class:`~soundad.extract_loop.BatchLoop`
   packs them into batches across clip boundaries, draws the images on the
   compute device and runs the backbone; each finished clip is written to the
   cache on background threads (:class:`~soundad.extract_cache.CacheWriter`).
5. **Assemble**: the clips' features, in the order given, become one array
   with the clip id and window position of each row, and the run's statistics.

How it runs, and why:

- **Overlap.** With ``num_workers >= 1`` the audio decoding (and, with the
  librosa front end, the mel spectrograms) of the next clips happen in other
  processes (each handing over a chunk of clips at a time) while torch runs
  the forward pass -- the default with a GPU, where one batch also stays in
  flight. On a CPU the forward pass already uses every core, so by default
  preprocessing runs in-process between batches (see :func:`default_num_workers`).
- **Front end.** With ``front_end="torch"`` (the default, :data:`soundad.front_end.CPU_DEFAULT`
  on a CPU) the loader only reads and decodes (on a CPU it also resamples, with
  soxr); STFT, mel and dB run batched on the compute device
  (:mod:`soundad.spectrogram_torch`). The librosa front end computes them in the
  loader, clip by clip, with numpy's BLAS held to one thread.
- **Deterministic.** Same clips, settings and machine -> identical features:
  the worker order is fixed, batches are always cut at the same windows, and
  random weights come from ``seed``. (A clip computed in a different batch --
  e.g. after some clips came from the cache -- can differ in the last float
  bits, ~1e-6.)

Backbone keywords
-----------------
``backbone``, ``weights``, ``layer``, ``device``, ``batch_size``,
``num_workers``, ``half``, ``channels_last``, ``fuse_bn``, ``cpu_fusion``,
``front_end``, ``autocast`` and ``compile_mode`` are the fields of
:class:`~soundad.backbones.BackboneConfig` (``backbone`` is its ``name``),
documented there. What they mean for extraction:

- ``weights``: ``"imagenet"``, ``"random"``, a torchvision weights name or
  enum (:func:`soundad.backbones.load_backbone`); ``seed`` seeds random weights.
- ``layer``: the layer(s) to cut at; ``None`` is the backbone's pooled last
  stage, ``"intermediate"`` a preset (same cache entries as its node).
- ``batch_size``: windows per forward pass (batches span clip boundaries);
  ``None`` is :func:`default_batch_size` (8 on a CPU, 128 on a GPU).
- ``num_workers``: processes that decode audio and compute mel windows while
  the backbone runs; ``None`` is :func:`default_num_workers` (0 on a CPU).
- ``half``: float16 on a GPU (ignored with a warning on a CPU).
- ``channels_last``, ``fuse_bn``: speed-ups that change features only by float
  rounding (~1e-6); both are part of the cache key.
- ``cpu_fusion``: on a CPU, a traced graph whose convolutions oneDNN fuses
  (EfficientNet-Lite0 ~1.4x faster on 2 cores, identical features); part of
  the cache key where it takes effect.
- ``front_end``: ``"librosa"`` in the loader, ``"torch"`` batched on the
  device, ``"auto"`` torch on a GPU and :data:`soundad.front_end.CPU_DEFAULT`
  on a CPU. They agree to float32 rounding; torch is part of the cache key.
- ``autocast``, ``compile_mode``: CUDA only (:mod:`soundad.cuda_forward`);
  part of the cache key when on.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from soundad.backbones import BackboneConfig, changed_keywords
from soundad.clip_loader import clip_windows, limit_blas_threads, make_loader, windows_on_device
from soundad.data import check_clip_headers
from soundad.errors import DataError, ParameterError
from soundad.extract_cache import CachePlan, CacheWriter, open_cache, plan_clips, read_pack, write_pack
from soundad.extract_loop import BatchLoop, LoadedModel, Progress, load_model
from soundad.extract_settings import (
    ExtractionSettings,
    default_batch_size,
    default_num_workers,
    resolve_settings,
)
from soundad.features import ImageConfig, MelConfig, WindowConfig
from soundad.window_features import WindowFeatures, load_features, save_features

__all__ = [
    "WindowFeatures",
    "extract_features",
    "clip_windows",
    "clip_table",
    "save_features",
    "load_features",
    "default_num_workers",
    "default_batch_size",
]


#: The backbone keywords' defaults are BackboneConfig's (one home for them).
_DEFAULT = BackboneConfig()


def config_from(config: BackboneConfig | None, keywords: dict) -> BackboneConfig:
    """``config``, or one built from the backbone keywords; refuses both at once.

    A keyword that differs from its :class:`BackboneConfig` default while a
    config is given would be silently ignored, so it is an error instead.
    """
    if config is None:
        return BackboneConfig(**keywords)
    if not isinstance(config, BackboneConfig):
        raise ParameterError(f"config must be a soundad.backbones.BackboneConfig, got {type(config).__name__}")
    given = changed_keywords(keywords)
    if given:
        changes = ", ".join(f"{k}={v!r}" for k, v in given.items())
        keywords_given = ", ".join("backbone" if k == "name" else k for k in given)  # the caller's names
        raise ParameterError(f"extract_features(config=...) takes {keywords_given} from the config, not as "
                             f"keywords; pass config=config.replace({changes}) instead")
    return config


def extract_features(
    clips, *, config: BackboneConfig | None = None,
    mel: MelConfig = MelConfig(), window: WindowConfig = WindowConfig(), image: ImageConfig = ImageConfig(),
    channel: int | str = 0, cache_dir: str | os.PathLike | None = None, verify_cache: bool = False,
    progress: bool = True, seed: int = 0, strict_rate: bool = False,
    backbone: str = _DEFAULT.name, weights: Any = _DEFAULT.weights, layer: str | Sequence[str] | None = _DEFAULT.layer,
    device: Any = _DEFAULT.device, batch_size: int | None = _DEFAULT.batch_size,
    num_workers: int | None = _DEFAULT.num_workers, half: bool = _DEFAULT.half,
    channels_last: bool = _DEFAULT.channels_last, fuse_bn: bool = _DEFAULT.fuse_bn,
    cpu_fusion: bool = _DEFAULT.cpu_fusion, front_end: str = _DEFAULT.front_end, autocast: bool = _DEFAULT.autocast,
    compile_mode: str | None = _DEFAULT.compile_mode,
) -> WindowFeatures:
    """Features of every mel window of every clip, from a frozen backbone.

    Parameters
    ----------
    clips : pd.DataFrame or sequence of paths
        A table with at least ``clip_id`` and ``path`` columns (e.g. from
        :func:`soundad.data.read_layout`), or a list of WAV paths (their own ids).
    config : BackboneConfig or None, default=None
        The backbone and how it runs. When given, it replaces the keywords
        ``backbone`` … ``compile_mode`` (leave those at their defaults), which
        otherwise build one: see "Backbone keywords" in the module docstring.
    mel, window, image : MelConfig, WindowConfig, ImageConfig
        Spectrogram, window and image settings (chapter 02).
    channel : int >= 0 or "mean", default=0
        Microphone of the (8-channel) MIMII recordings.
    cache_dir : str, path-like or None, default=None
        Feature cache directory (:mod:`soundad.cache`); ``None`` disables it. A
        rerun of the same clips reads one file (:mod:`soundad.cache_packs`).
    verify_cache : bool, default=False
        Rehash every audio file instead of trusting the fingerprints memoised
        in ``cache_dir`` (:mod:`soundad.fingerprints` says what that trusts).
    progress : bool, default=True
        Show a tqdm progress bar over clips.
    seed : int, default=0
        Seed of random weights.
    strict_rate : bool, default=False
        Refuse clips not at ``mel.sr`` instead of resampling them with one
        warning (:func:`soundad.data.check_clip_headers`).

    Returns
    -------
    WindowFeatures
        ``features`` float32 [shape=(N, D)], ``clip_ids`` [shape=(N,)], timing.

    Raises
    ------
    ParameterError
        Bad settings, unknown backbone or layer, a clip shorter than a window.
    DataError
        A missing or corrupt audio file (the message names it).
    WeightsUnavailableError
        Pretrained weights neither cached nor downloadable.

    Examples
    --------
    >>> from soundad.data import read_layout  # doctest: +SKIP
    >>> wf = extract_features(read_layout("mimii-sample"), backbone="resnet18", weights="random")  # doctest: +SKIP
    >>> wf.features.shape  # doctest: +SKIP
    (320, 512)
    """
    start = time.perf_counter()
    config = config_from(config, dict(
        name=backbone, weights=weights, layer=layer, device=device, batch_size=batch_size, num_workers=num_workers,
        half=half, channels_last=channels_last, fuse_bn=fuse_bn, cpu_fusion=cpu_fusion, front_end=front_end,
        autocast=autocast, compile_mode=compile_mode))
    settings = resolve_settings(config, mel=mel, window=window, image=image, channel=channel)
    ids, paths = clip_table(clips)
    cache_settings = settings.cache_settings()
    cache = open_cache(cache_dir, cache_settings, verify=verify_cache)
    packed = read_pack(paths, cache)
    if packed is not None:  # a rerun of the same clips: one file, nothing else read
        return assemble_features(ids, *packed, settings, cache_settings, n_cached=len(ids), stats=ComputeStats(),
                                 start=start)
    rates = check_clip_headers(paths, sr=mel.sr, strict_rate=strict_rate)
    plan = plan_clips(paths, cache, mel=mel, window=window)
    stats = compute_missing(plan, paths, settings, seed=seed, progress=progress, start=start)
    return finish_run(ids, plan, settings, cache_settings, stats=stats, start=start, cache_dir=cache_dir,
                      pack=rates == {mel.sr: len(paths)})


def finish_run(ids: list[str], plan: CachePlan, settings: ExtractionSettings, cache_settings: dict, *,
               stats: ComputeStats, start: float, cache_dir, pack: bool) -> WindowFeatures:
    """Stack the clips' features in order, store them as one pack if ``pack``, and wrap them up.

    A pack hit skips the header check, so only runs it had nothing to say about
    (every clip at the expected rate) should be packed.
    """
    n_cached = plan.n_cached
    features, counts = stack_clips(plan.features, cache_dir=cache_dir)
    if pack:
        write_pack(plan, features, counts)
    return assemble_features(ids, features, counts, settings, cache_settings, n_cached=n_cached, stats=stats,
                             start=start)


def clip_table(clips) -> tuple[list[str], list[str]]:
    """``(clip ids, paths)`` of a clips table (``clip_id``, ``path``) or a list of paths (their own ids)."""
    import pandas as pd

    if isinstance(clips, pd.DataFrame):
        missing = [c for c in ("clip_id", "path") if c not in clips.columns]
        if missing:
            raise ParameterError(
                f"clips table lacks column(s) {missing}; expected at least 'clip_id' and 'path' "
                f"(got {list(clips.columns)})"
            )
        ids = [str(c) for c in clips["clip_id"]]
        paths = [os.fspath(p) for p in clips["path"]]
    elif isinstance(clips, (str, os.PathLike)):
        raise ParameterError("clips must be a table with 'clip_id' and 'path' columns or a list of paths, "
                             f"got a single path {os.fspath(clips)!r}")
    else:
        paths = [os.fspath(p) for p in clips]
        ids = list(paths)
    if not paths:
        raise ParameterError("extract_features got no clips")
    return ids, paths


@dataclass
class ComputeStats:
    """What computing the missing clips cost."""

    load_seconds: float = 0.0
    forward_seconds: float = 0.0
    computed_windows: int = 0


class MissingClips:
    """Computes the clips a :class:`~soundad.extract_cache.CachePlan` lacks and stores each one.

    Each finished clip goes into ``plan.features`` and, with a cache, to a
    :class:`~soundad.extract_cache.CacheWriter`; every entry is on disk when
    :meth:`run` returns (a failed write is re-raised).
    """

    def __init__(self, plan: CachePlan, paths: list[str], settings: ExtractionSettings, progress: Progress):
        self.plan, self.settings, self.progress = plan, settings, progress
        self.paths = [paths[i] for i in plan.todo]
        self.writer = CacheWriter(plan.cache) if plan.cache is not None else None

    def store(self, idx: int, feats: np.ndarray) -> None:
        """Keep the features of the ``idx``-th missing clip."""
        clip = self.plan.todo[idx]
        self.plan.features[clip] = feats
        if self.writer is not None:
            self.writer.save(self.plan.fingerprints[clip], feats)
        self.progress.clip_done(len(feats))

    def run(self, loaded: LoadedModel) -> BatchLoop:
        """Decode, draw and run every missing clip through ``loaded``; the loop holds the counts."""
        loop = BatchLoop(loaded, self.settings, self.store)
        loader = make_loader(self.paths, self.settings)
        limiter = None if self.settings.backbone.num_workers else limit_blas_threads()
        try:
            for first, rows_per_clip, windows in windows_on_device(loader, self.settings):
                loop.add(first, rows_per_clip, windows)
            loop.flush()
            if self.writer is not None:
                self.writer.close()  # every entry on disk before returning; re-raises a failed write
        finally:
            if self.writer is not None:
                self.writer.close(check=False)  # after an error: let the writes under way finish
            if limiter is not None:
                limiter.restore_original_limits()
        return loop


def compute_missing(plan: CachePlan, paths: list[str], settings: ExtractionSettings, *, seed: int,
                    progress: bool, start: float) -> ComputeStats:
    """Load the backbone and compute the clips not in the cache (nothing, if none is missing).

    ``progress``: show a progress bar over the clips (cached ones counted as done at ``start``).
    """
    bar = Progress.of_plan(plan, desc=f"{settings.backbone.name} ({settings.weights_tag})", enabled=progress,
                           start=start)
    try:
        if not plan.todo:
            return ComputeStats()
        loaded = load_model(settings, seed=seed)
        loop = MissingClips(plan, paths, settings, bar).run(loaded)
    finally:
        bar.close()
    return ComputeStats(load_seconds=loaded.seconds, forward_seconds=loop.forward_seconds,
                        computed_windows=loop.computed_windows)


def stack_clips(per_clip: list, *, cache_dir) -> tuple[np.ndarray, list[int]]:
    """One float32 array [shape=(N, D)] of the clips' features, in order, and each clip's row count.

    The clips' arrays are let go (``per_clip`` entries become ``None``) as they
    are copied: the peak is one copy of the features, not two (``np.concatenate``
    would hold both).
    """
    dims = {p.shape[1] for p in per_clip if p is not None and p.shape[0]}
    if len(dims) > 1:  # cannot happen with a consistent cache; guard against mixing
        raise DataError(f"features of different dimensions {sorted(dims)} for one setting; clear {cache_dir}")
    counts = [int(p.shape[0]) for p in per_clip]
    features = np.empty((sum(counts), dims.pop() if dims else 0), dtype=np.float32)
    row = 0
    for i, count in enumerate(counts):
        features[row:row + count] = per_clip[i]
        per_clip[i] = None
        row += count
    return features, counts


def assemble_features(ids: list[str], features: np.ndarray, counts: list[int], settings: ExtractionSettings,
                      cache_settings: dict, *, n_cached: int, stats: ComputeStats, start: float) -> WindowFeatures:
    """The run's :class:`WindowFeatures` from every clip's rows in order, the settings and the statistics."""
    n_clips = len(ids)
    from_cache = n_cached == n_clips
    clip_ids = np.repeat(np.asarray(ids, dtype=object), counts)
    clip_ids = clip_ids.astype(str) if clip_ids.size else np.array([], dtype=str)
    window_index = np.concatenate([np.arange(count, dtype=np.int64) for count in counts])
    config = settings.backbone
    seconds = time.perf_counter() - start
    return WindowFeatures(
        features=features, clip_ids=clip_ids, window_index=window_index, backbone=config.name,
        weights=settings.weights_tag, weights_name=settings.weights_name, layer=settings.layer_label,
        settings=cache_settings, seconds=seconds, from_cache=from_cache,
        windows_per_second=len(features) / seconds if seconds > 0 else float("inf"),
        stats={
            "clips": n_clips,
            "windows": int(len(features)),
            "cached_clips": n_cached,
            "computed_windows": stats.computed_windows,
            "load_seconds": stats.load_seconds,
            "forward_seconds": stats.forward_seconds,
            "batch_size": int(config.batch_size),
            "num_workers": int(config.num_workers),
            "device": str(settings.device),
        },
    )
