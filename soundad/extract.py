"""Window features of many clips through a frozen backbone (chapter 03).

:func:`extract_features` runs the chain of chapters 01-03 on every clip::

    WAV --load_audio--> y --compute_mel--> mel --sliding_windows--> windows
        --windows_to_images--> images --backbone--> features (one row per window)

and returns a :class:`WindowFeatures`: the features of all windows of all
clips, with the clip id of each row.

How it is organised, and why:

- **Streaming.** Clips are decoded into mel windows one clip at a time by a
  ``torch.utils.data.DataLoader`` (``num_workers`` worker processes); the main
  process packs the windows of consecutive clips into batches of
  ``batch_size``, draws them as images on the compute device (one vectorised
  :func:`~soundad.features.windows_to_images` call per batch) and runs the
  backbone. Only one batch of images is in memory at a time; the (small)
  features are accumulated.
- **Overlap.** With ``num_workers >= 1`` the audio decoding and mel
  spectrograms of the next clips happen in other processes (each handing
  over a chunk of clips at a time) while torch runs the forward pass -- the
  default with a GPU, where one batch also stays in flight: its features are
  copied back while the next batch is launched. On a CPU the forward pass
  already uses every core, so by default preprocessing runs in-process between
  batches: it costs a few percent of the forward pass once numpy's BLAS is
  held to one thread (see :func:`default_num_workers` for the measurements).
- **Front end.** With ``front_end="torch"`` (the default on a GPU) the workers
  only read and decode; resampling, STFT, mel and dB run batched on the compute
  device (:mod:`soundad.spectrogram_torch`, chosen in :mod:`soundad.front_end`).
- **Cache.** With ``cache_dir`` set, each clip's features are stored on disk
  (:mod:`soundad.cache`, written by background threads). All clips are looked up *first*; the backbone is
  loaded only if something is missing, so a warm rerun touches neither the
  model nor the network. Each audio file's content fingerprint is remembered
  by (device, inode, size, mtime_ns) (:mod:`soundad.fingerprints`), so a warm
  rerun stats the audio files instead of hashing them (``verify_cache=True``
  rehashes).
- **Deterministic.** Same clips, settings and machine -> identical features:
  the worker order is fixed, batches are always cut at the same windows, and
  random weights come from ``seed``. (A clip computed in a different batch --
  e.g. after some clips came from the cache -- can differ in the last float
  bits, ~1e-6.)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

import soundad
from soundad._io import atomic_path, atomic_write_text
from soundad.backbones import (
    BackboneConfig,
    DEFAULT_LAYERS,
    check_backbone_name,
    onednn_graph_available,
    load_backbone,
    resolve_device,
    resolve_layer,
    resolve_weights,
)
from soundad.cache import FeatureCache
from soundad.fingerprints import FingerprintIndex
from soundad.cuda_forward import cuda_options, make_forward
from soundad.front_end import ClipAudio, resolve_front_end
from soundad.errors import DataError, ParameterError
from soundad.features import (
    ImageConfig,
    MelConfig,
    WindowConfig,
    draw_images,
    compute_mel,
    normalised_lut,
    sliding_windows,
)

__all__ = [
    "WindowFeatures",
    "extract_features",
    "clip_windows",
    "save_features",
    "load_features",
    "default_num_workers",
    "default_batch_size",
]


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
        from soundad.data.groups import evaluation_mask, train_normal_mask

        missing = [c for c in ("clip_id", "split", "label") if c not in clips.columns]
        if missing:
            raise DataError(f"clips table has no column {', '.join(map(repr, missing))}; "
                            "split the clips first (soundad.data.choose_split)")
        table = clips.set_index("clip_id")
        unknown = sorted(set(self.clip_ids) - set(table.index))
        if unknown:
            raise DataError(f"{len(unknown)} clips of these features are not in the clips table, "
                            f"e.g. {unknown[0]!r}")
        per_row = table.loc[self.clip_ids]
        return (self.subset(train_normal_mask(per_row).to_numpy()),
                self.subset(evaluation_mask(per_row).to_numpy()))


def default_batch_size(device: Any = "cpu") -> int:
    """Windows per forward pass used when ``batch_size=None``.

    - CPU: **8**. Larger CPU batches are *slower*: the activations stop
      fitting in cache. Measured on 2 cores, windows/s at batch 2 / 8 / 16:
      ResNet-18 49 / 57 / 56, ResNet-50 19 / 21 / 19, EfficientNet-Lite0
      95 / 63 / 61, SqueezeNet 1.1 203 / 239 / 194 (at batch 32 ResNet-18
      fell to 53 and EfficientNet-Lite0 to 38).
    - GPU (CUDA/MPS): **128**, enough to keep the device busy.
    """
    return 8 if resolve_device(device).type == "cpu" else 128


def default_num_workers(device: Any = "cpu") -> int:
    """Worker processes used when ``num_workers=None``.

    - CPU inference: **0** -- decode and mel in this process, between
      forward passes. torch's forward pass already keeps every core busy, and a
      worker process pre-empting torch's OpenMP threads costs more than the
      preprocessing itself (a 10-s clip: ~5-20 ms of preprocessing against
      ~100-200 ms of ResNet-18 forward pass for its 8 windows). Measured on 2
      cores (``taskset -c 0,1``), ResNet-18, 40 MIMII clips: 0 workers 59.6
      windows/s, 1 worker 54.5, 2 workers 52.7; forward pass alone 61.6.
    - GPU (CUDA/MPS) inference: ``min(12, cpu_count - 1)`` -- the CPU is free
      while the GPU works, and preprocessing becomes the bottleneck: a 10-s
      MIMII clip takes ~3 ms of one core (decoding 0.5 ms, mel spectrogram
      2 ms), i.e. ~2,700 windows/s per worker, while one GPU runs ResNet-18
      at ~20,000 windows/s.
    """
    dev = resolve_device(device)
    if dev.type == "cpu":
        return 0
    return max(0, min(12, (os.cpu_count() or 1) - 1))


# ------------------------------------------------------------------- per clip


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


class _ClipWindows(torch.utils.data.Dataset):
    """Dataset over chunks of clips: item ``k`` holds clips ``k*c .. k*c+c-1`` (``c = clips_per_item``).

    An item is ``(first clip index, rows per clip [shape=(c,)], windows [shape=(sum(rows), n_mels,
    length)])``: one tensor per chunk instead of one per clip, so that a GPU run, which
    consumes thousands of clips per second, pays the inter-process hand-over once per chunk.
    """

    def __init__(self, paths, *, mel, window, channel, clips_per_item: int = 1):
        self.paths = list(paths)
        self.mel, self.window, self.channel = mel, window, channel
        self.clips_per_item = max(1, int(clips_per_item))

    def __len__(self) -> int:
        return -(-len(self.paths) // self.clips_per_item)

    def __getitem__(self, item: int):
        first = item * self.clips_per_item
        arrays = [clip_windows(path, mel=self.mel, window=self.window, channel=self.channel)
                  for path in self.paths[first:first + self.clips_per_item]]
        rows = torch.tensor([len(a) for a in arrays], dtype=torch.int64)
        windows = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        return first, rows, torch.from_numpy(windows)


#: Clips per item a worker process hands over (GPU runs consume thousands of clips per second).
_CLIPS_PER_ITEM = 8


class _CacheWriter:
    """Writes feature-cache entries on background threads.

    One entry is a small file written atomically (temporary name, then rename):
    ~0.5 ms of system calls on this machine, which a GPU run producing thousands
    of clips per second cannot afford on the thread that feeds the device. The
    threads release the GIL during the file system calls. The first entry is
    written in the caller's thread (it also writes the cache's ``settings.json``).
    :meth:`close` waits for every write and re-raises the first failure.
    """

    def __init__(self, cache: FeatureCache, threads: int = 2):
        from concurrent.futures import ThreadPoolExecutor

        self.cache = cache
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="soundad-cache")
        self.futures: deque = deque()

    def save(self, fingerprint: str, features: np.ndarray) -> None:
        if self.cache.feature_dim is None:
            self.cache.save(fingerprint, features)
            return
        self.futures.append(self.pool.submit(self.cache.save, fingerprint, features))
        while self.futures and self.futures[0].done():
            self.futures.popleft().result()  # raises a failed write early

    def close(self, *, check: bool = True) -> None:
        """Wait for every write; with ``check``, re-raise the first that failed."""
        try:
            while self.futures:
                future = self.futures.popleft()
                if check:
                    future.result()
        finally:
            self.pool.shutdown(wait=True)


def _windows_on_device(loader, front: str, dev: torch.device, mel: MelConfig, window: WindowConfig):
    """Yield ``(first clip index, windows per clip, windows on dev)`` for each loader item."""
    from soundad.spectrogram_torch import batched_clip_windows

    for item in loader:
        if front == "torch":
            first, rates, audio = item
            with torch.inference_mode():
                windows, rows = batched_clip_windows([a.to(dev, non_blocking=True) for a in audio], sr=rates,
                                                     config=mel, window=window)
        else:
            first, rows, windows = item
            rows, windows = rows.tolist(), windows.to(dev, non_blocking=True)
        yield int(first), rows, windows


def _limit_blas_threads(worker_id: int | None = None):
    """Let numpy/scipy's BLAS use one thread in the preprocessing (returns the limiter).

    librosa's mel filter bank product goes through OpenBLAS; with several
    BLAS threads fighting torch's threads for the same cores it runs 10x
    slower (40-60 ms instead of 3 ms per 10-s clip, measured on 2 cores).
    torch's own thread pool (OpenMP) is not affected.
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


def _clip_table(clips) -> tuple[list[str], list[str]]:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(clips, pd.DataFrame):
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


def _expected_windows(path: str, mel: MelConfig, window: WindowConfig) -> int | None:
    """Windows a clip will give, from its WAV header (None if not cheaply known)."""
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception:
        return None
    if int(info.samplerate) != mel.sr:
        return None
    frames = 1 + int(info.frames) // mel.hop_length
    if frames < window.length:
        return None
    return 1 + (frames - window.length) // window.hop


def _settings(*, backbone, tag, weights_name, layer, mel, window, image, channel, device, half, fuse_bn,
              channels_last, cpu_fusion) -> dict:
    from importlib.metadata import version  # the installed version, without importing torchvision (slow)

    return {
        "backbone": backbone,
        "weights": tag,
        "weights_name": weights_name,
        "layer": layer,
        "mel": mel,
        "window": window,
        "image": image,
        "channel": channel,
        "numerics": {
            "device_type": device.type,
            "half": bool(half),
            "fuse_bn": bool(fuse_bn),
            "channels_last": bool(channels_last),
            "cpu_fusion": bool(cpu_fusion) and device.type == "cpu" and onednn_graph_available(),
        },
        "versions": {"soundad": soundad.__version__, "torch": torch.__version__,
                     "torchvision": version("torchvision")},
    }


def _layer_label(backbone: str, layer) -> str:
    if layer is None:
        return DEFAULT_LAYERS[backbone]
    if isinstance(layer, str):
        return "+".join(part for part in layer.split("+") if part)
    return "+".join(str(part) for part in layer)


# ------------------------------------------------------------------- main entry


def extract_features(
    clips,
    *,
    config: BackboneConfig | None = None,
    backbone: str = "efficientnet_lite0",
    weights: Any = "imagenet",
    layer: str | Sequence[str] | None = None,
    mel: MelConfig = MelConfig(),
    window: WindowConfig = WindowConfig(),
    image: ImageConfig = ImageConfig(),
    channel: int | str = 0,
    device: Any = "auto",
    batch_size: int | None = None,
    num_workers: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    seed: int = 0,
    half: bool = False,
    channels_last: bool = True,
    fuse_bn: bool = True,
    cpu_fusion: bool = True,
    verify_cache: bool = False,
    front_end: str = "auto",
    autocast: bool = False,
    compile_mode: str | None = None,
    strict_rate: bool = False,
) -> WindowFeatures:
    """Features of every mel window of every clip, from a frozen backbone.

    Parameters
    ----------
    config : BackboneConfig or None, default=None
        The backbone and how it runs, as one object
        (:class:`soundad.backbones.BackboneConfig`). When given, it replaces
        the keywords ``backbone`` … ``compile_mode`` below (leave those at
        their defaults).
    clips : pd.DataFrame or sequence of paths
        A table with at least ``clip_id`` and ``path`` columns (e.g. from
        :func:`soundad.data.read_layout`), or a list of WAV paths (then the
        path is the clip id).
    backbone : str, default="efficientnet_lite0"
        One of :data:`soundad.backbones.BACKBONES`.
    weights : str, WeightsEnum or None, default="imagenet"
        ``"imagenet"`` or ``"random"`` (see :func:`soundad.backbones.load_backbone`).
    layer : str, list of str or None, default=None
        Layer(s) to cut at; ``None`` is the backbone's pooled last stage.
    mel, window, image : MelConfig, WindowConfig, ImageConfig
        Spectrogram, window and image settings (chapter 02).
    channel : int or "mean", default=0
        Microphone of the (8-channel) MIMII recordings.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA, else MPS, else CPU.
    batch_size : int > 0 or None, default=None
        Windows per forward pass (batches span clip boundaries); ``None`` uses
        :func:`default_batch_size` (8 on a CPU, 128 on a GPU).
    num_workers : int >= 0 or None, default=None
        Worker processes that decode audio and compute mel windows while the backbone
        runs; ``0`` does everything in this process, between forward passes;
        ``None`` uses :func:`default_num_workers` (0 for CPU inference, where
        torch already uses every core; up to 12 with a GPU).
    cache_dir : str, path-like or None, default=None
        Feature cache directory (:mod:`soundad.cache`); ``None`` disables it.
    progress : bool, default=True
        Show a tqdm progress bar over clips.
    seed : int, default=0
        Seed of random weights (``weights="random"``).
    half : bool, default=False
        float16 forward pass on a GPU (ignored with a warning on CPU).
    channels_last, fuse_bn : bool, default=True
        Speed-ups of the forward pass (channels-last memory format; BatchNorm
        folded into convolutions). Each changes features only by float
        rounding (max abs difference ~1e-6); both are part of the cache key.
    cpu_fusion : bool, default=True
        On a CPU, run the backbone as a traced graph whose convolutions oneDNN
        fuses with the operations after them
        (:meth:`soundad.backbones.Backbone.fuse_for_cpu`; EfficientNet-Lite0
        ~1.4x faster on 2 cores, identical features). Part of the cache key.
    verify_cache : bool, default=False
        Rehash every audio file instead of trusting the fingerprints memoised
        by (device, inode, size, mtime_ns) in ``cache_dir``
        (:mod:`soundad.fingerprints`; an in-place edit that keeps a file's size
        and modification time would otherwise go unnoticed).
    front_end : {"auto", "librosa", "torch"}, default="auto"
        Where audio becomes mel windows: ``"librosa"`` in the loader (numpy,
        per clip), ``"torch"`` batched on the compute device
        (:mod:`soundad.spectrogram_torch`; loader workers then only decode).
        ``"auto"``: torch on a GPU, on a CPU the faster one as measured
        (:data:`soundad.front_end.CPU_DEFAULT`). The two agree to float32
        rounding; the torch one is part of the cache key.
    autocast : bool, default=False
        CUDA only: float16 autocast of the forward pass
        (:mod:`soundad.cuda_forward`). Part of the cache key when on.
    compile_mode : {None, "default", "reduce-overhead", "max-autotune"}, default=None
        CUDA only: :func:`torch.compile` the backbone with this mode
        (``"reduce-overhead"`` uses CUDA graphs). Part of the cache key when on.
    strict_rate : bool, default=False
        Clips not at ``mel.sr`` are resampled with one warning naming their
        rates (:func:`soundad.data.check_clip_headers`); True refuses them.

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
    from tqdm.auto import tqdm

    if config is not None:
        if not isinstance(config, BackboneConfig):
            raise ParameterError(f"config must be a soundad.backbones.BackboneConfig, got {type(config).__name__}")
        (backbone, weights, layer, device, batch_size, num_workers, half, channels_last, fuse_bn, cpu_fusion,
         front_end, autocast, compile_mode) = (
            config.name, config.weights, config.layer, config.device, config.batch_size, config.num_workers,
            config.half, config.channels_last, config.fuse_bn, config.cpu_fusion, config.front_end,
            config.autocast, config.compile_mode)
    start = time.perf_counter()
    check_backbone_name(backbone)
    mel.validate()
    window.validate()
    image.validate()
    if batch_size is None:
        batch_size = default_batch_size(device)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ParameterError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if not (channel == "mean" or (isinstance(channel, (int, np.integer)) and not isinstance(channel, bool)
                                  and channel >= 0)):
        raise ParameterError(f"channel must be a non-negative int or 'mean', got {channel!r}")
    dev = resolve_device(device)
    from soundad.validate import check_image_size

    check_image_size(image.size, backbones=[backbone], batch_size=int(batch_size), device=str(dev),
                     option="ImageConfig.size", batch_option="batch_size")
    if num_workers is None:
        num_workers = default_num_workers(dev)
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
        raise ParameterError(f"num_workers must be an integer >= 0 or None, got {num_workers!r}")
    if half and dev.type == "cpu":
        warnings.warn("half=True needs a GPU; computing in float32 on the CPU", stacklevel=2)
        half = False
    front = resolve_front_end(front_end, dev)
    autocast, compile_mode = cuda_options(dev, autocast=autocast, compile_mode=compile_mode)
    ids, paths = _clip_table(clips)
    from soundad.data import check_clip_headers  # the data stage; imported lazily

    check_clip_headers(paths, sr=mel.sr, strict_rate=strict_rate)
    tag, _, weights_name = resolve_weights(backbone, weights)
    layer = resolve_layer(backbone, layer)  # a preset name becomes its node: one cache key for both
    layer_label = _layer_label(backbone, layer)
    settings = _settings(backbone=backbone, tag=tag, weights_name=weights_name, layer=layer_label, mel=mel,
                         window=window, image=image, channel=channel, device=dev, half=half, fuse_bn=fuse_bn,
                         channels_last=channels_last, cpu_fusion=cpu_fusion)
    if front == "torch":  # the librosa front end keeps the key that existing caches were written under
        settings["numerics"]["front_end"] = "torch"
    if autocast or compile_mode:  # likewise: added only when on
        settings["numerics"].update(autocast=autocast, compile_mode=compile_mode)

    # 1. Look every clip up in the cache before touching the model.
    per_clip: list[np.ndarray | None] = [None] * len(paths)
    fingerprints: list[str | None] = [None] * len(paths)
    cache = FeatureCache(cache_dir, settings) if cache_dir is not None else None
    if cache is not None:
        # Fingerprints are memoised by (device, inode, size, mtime_ns): a warm run stats the
        # audio files instead of hashing them (see soundad.fingerprints for what that trusts).
        index = FingerprintIndex(cache_dir, verify=verify_cache)

        def look_up(path: str) -> tuple[str, np.ndarray | None]:
            try:
                fingerprint = index.fingerprint(path)
            except OSError as err:
                raise DataError(f"audio file {path!r} cannot be read: {err}") from None
            return fingerprint, cache.load(fingerprint, n_windows=_expected_windows(path, mel, window))

        # Hashing the audio and reading the entries is I/O and hashlib, both of which
        # release the GIL, so threads overlap them: a warm rerun of the 40 MIMII sample
        # clips took 1.3 instead of 2.0 ms per clip with 2 threads on 2 cores.
        threads = max(1, min(8, os.cpu_count() or 1, len(paths) // 16))
        if threads == 1:
            found = [look_up(path) for path in paths]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="soundad-lookup") as pool:
                found = list(pool.map(look_up, paths))
        for i, (fingerprint, feats) in enumerate(found):
            fingerprints[i], per_clip[i] = fingerprint, feats
        del found
        index.save()
    todo = [i for i, feats in enumerate(per_clip) if feats is None]
    n_cached = len(paths) - len(todo)

    bar = tqdm(total=len(paths), unit="clip", desc=f"{backbone} ({tag})", disable=not progress)
    bar.update(n_cached)
    load_seconds = forward_seconds = 0.0
    computed_windows = 0
    if todo:
        t0 = time.perf_counter()
        model = load_backbone(backbone, weights=weights, layer=layer, device=dev, seed=seed,
                              channels_last=channels_last, fuse_bn=fuse_bn, cpu_fusion=cpu_fusion)
        if half:
            model = model.half()
        model.warm_up(batch_size)  # the fused CPU graph optimises itself on its first calls
        forward = make_forward(model, batch_size=batch_size, autocast=autocast, compile_mode=compile_mode)
        load_seconds = time.perf_counter() - t0
        # With workers, each hands over a chunk of clips at a time (see _ClipWindows).
        todo_paths = [paths[i] for i in todo]
        if front == "torch":  # workers only decode; a chunk of clips is one batched front-end call
            dataset = ClipAudio(todo_paths, mel=mel, window=window, channel=channel,
                                clips_per_item=_CLIPS_PER_ITEM)
        else:
            dataset = _ClipWindows(todo_paths, mel=mel, window=window, channel=channel,
                                   clips_per_item=1 if num_workers == 0 else _CLIPS_PER_ITEM)
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=None,
            shuffle=False,
            num_workers=int(num_workers),
            pin_memory=dev.type == "cuda",
            prefetch_factor=4 if num_workers else None,
            worker_init_fn=_limit_blas_threads if num_workers else None,
        )
        if num_workers and front == "librosa":
            # Import and warm the preprocessing here, once: worker processes forked from this
            # one inherit it, instead of each importing librosa (and numba) on its first clip
            # (~2 s per worker, per call -- longer than a GPU needs for a thousand clips).
            compute_mel(np.zeros(2 * mel.n_fft, dtype=np.float32), sr=mel.sr, config=mel)
        limiter = None if num_workers else _limit_blas_threads()
        lut = normalised_lut(image.colormap, mean=model.mean, std=model.std, device=dev)
        pending_windows: list[torch.Tensor] = []  # on the compute device
        pending_rows: deque[tuple[int, int]] = deque()  # (dataset index, rows not yet in a result)
        parts: dict[int, list[np.ndarray]] = {}
        n_pending = 0
        # On a GPU one batch stays in flight: its features are copied back while the next
        # batch is drawn and launched, so the device never waits for the Python side.
        in_flight: deque = deque()
        depth = 1 if dev.type == "cuda" else 0
        writer = _CacheWriter(cache) if cache is not None else None
        done_windows = [sum(len(p) for p in per_clip if p is not None)]  # for the progress bar

        def run_batch(n: int) -> None:
            nonlocal n_pending, forward_seconds, computed_windows
            batch = pending_windows[0] if len(pending_windows) == 1 else torch.cat(pending_windows)
            take, rest = batch[:n], batch[n:]
            t = time.perf_counter()
            with torch.inference_mode():
                # Images are drawn per batch, on the compute device: a few large tensor
                # operations instead of many small ones, and on a GPU the (small) windows
                # travel instead of the (20x larger) images.
                images = draw_images(take, lut, config=image, channels_last=channels_last)
                if half:
                    images = images.half()
                feats = forward(images)
                if depth:
                    host = feats.to("cpu", non_blocking=True)  # into pinned memory, in stream order
                    ready = torch.cuda.Event()
                    ready.record()
                    in_flight.append((host, ready, n))
                else:
                    collect(feats.numpy(), n)
            drain(keep=depth)
            forward_seconds += time.perf_counter() - t
            computed_windows += n
            pending_windows.clear()
            if rest.shape[0]:
                pending_windows.append(rest)
            n_pending -= n

        def drain(*, keep: int) -> None:
            """Collect finished GPU batches, oldest first, until ``keep`` are left in flight."""
            while len(in_flight) > keep:
                host, ready, m = in_flight.popleft()
                ready.synchronize()
                collect(host.numpy(), m)

        def collect(feats: np.ndarray, n: int) -> None:
            """Hand the n rows of one finished batch to their clips, in order."""
            offset = 0
            while offset < n:
                idx, rows = pending_rows[0]
                used = min(rows, n - offset)
                parts[idx].append(feats[offset:offset + used])
                offset += used
                if used == rows:  # the clip's last rows
                    pending_rows.popleft()
                    finish(idx)
                else:
                    pending_rows[0] = (idx, rows - used)

        def finish(idx: int) -> None:
            clip = todo[idx]
            chunks = parts.pop(idx)
            # a copy, not a view: a view would keep its whole batch (on a GPU, a pinned
            # buffer) alive for as long as the clip's features live
            if not chunks:  # a clip without windows
                per_clip[clip] = np.zeros((0, model.feature_dim), dtype=np.float32)
            else:
                per_clip[clip] = np.concatenate(chunks) if len(chunks) != 1 else chunks[0].copy()
            if writer is not None:
                writer.save(fingerprints[clip], per_clip[clip])
            bar.update(1)
            done_windows[0] += len(per_clip[clip])
            elapsed = time.perf_counter() - start
            if elapsed > 0:
                bar.set_postfix(windows_per_s=f"{done_windows[0] / elapsed:.1f}", refresh=False)

        try:
            for first, rows_per_clip, windows in _windows_on_device(loader, front, dev, mel, window):
                for j, rows in enumerate(rows_per_clip):
                    idx = first + j
                    parts[idx] = []
                    if rows == 0:
                        finish(idx)
                    else:
                        pending_rows.append((idx, rows))
                if windows.shape[0]:
                    pending_windows.append(windows)
                    n_pending += int(windows.shape[0])
                while n_pending >= batch_size:
                    run_batch(batch_size)
            if n_pending:
                run_batch(n_pending)
            drain(keep=0)
            if writer is not None:
                writer.close()  # every entry on disk before returning; re-raises a failed write
        finally:
            bar.close()
            if writer is not None:
                writer.close(check=False)  # after an error: let the writes under way finish
            if limiter is not None:
                limiter.restore_original_limits()
    else:
        bar.close()

    dims = {p.shape[1] for p in per_clip if p is not None and p.shape[0]}
    if len(dims) > 1:  # cannot happen with a consistent cache; guard against mixing
        raise DataError(f"features of different dimensions {sorted(dims)} for one setting; clear {cache_dir}")
    dim = dims.pop() if dims else 0
    counts = [int(p.shape[0]) for p in per_clip]
    # One array for all rows, filled clip by clip while each clip's own array is let go:
    # the peak is one copy of the features, not two (np.concatenate would hold both).
    features = np.empty((sum(counts), dim), dtype=np.float32)
    row = 0
    for i, count in enumerate(counts):
        features[row:row + count] = per_clip[i]
        per_clip[i] = None
        row += count
    clip_ids = np.repeat(np.asarray(ids, dtype=object), counts)
    clip_ids = clip_ids.astype(str) if clip_ids.size else np.array([], dtype=str)
    window_index = np.concatenate([np.arange(count, dtype=np.int64) for count in counts])
    seconds = time.perf_counter() - start
    return WindowFeatures(
        features=features,
        clip_ids=clip_ids,
        window_index=window_index,
        backbone=backbone,
        weights=tag,
        weights_name=weights_name,
        layer=layer_label,
        settings=settings,
        windows_per_second=len(features) / seconds if seconds > 0 else float("inf"),
        seconds=seconds,
        from_cache=not todo,
        stats={
            "clips": len(paths),
            "windows": int(len(features)),
            "cached_clips": n_cached,
            "computed_windows": computed_windows,
            "load_seconds": load_seconds,
            "forward_seconds": forward_seconds,
            "batch_size": int(batch_size),
            "num_workers": int(num_workers),
            "device": str(dev),
        },
    )


# ----------------------------------------------------------------- save / load


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
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "features.npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(wf.features, dtype=np.float32), allow_pickle=False)
    table = pd.DataFrame({"clip_id": wf.clip_ids, "window": wf.window_index})
    with atomic_path(out / "windows.csv") as tmp:
        table.to_csv(tmp, index=False)
    from soundad.cache import plain_settings

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
    import pandas as pd

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
