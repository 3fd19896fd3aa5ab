"""How fast is the feature pipeline, and where does the time go? (chapter 06)

:func:`run_bench` measures, side by side in one run and on one device:

``gemm``
    A large fp32 matrix multiply (``torch.mm`` of two 2048 × 2048 matrices,
    best of ``repeats``): the arithmetic rate this device reaches at all, in
    GFLOP/s. It is the yardstick for everything below.
``forward``
    The pure batched forward pass of the backbone on ready-made images:
    windows per second, and GFLOP/s from the backbone's FLOP count
    (:class:`torch.utils.flop_counter.FlopCounterMode`).
``pipeline``
    The whole path, cold: decode → mel → windows → images → forward, through
    :func:`soundad.extract.extract_features` with a fresh, empty cache. The
    one-time loading of the backbone is reported apart (``model_load_s``) and
    not counted in the rate, in neither this nor the naive loop.
``naive``
    The straightforward loop a first version would use: per clip, load it with
    librosa at its native rate, compute the mel spectrogram, then turn one
    window at a time into an image and push it through the network alone
    (batch 1), no cache.
``warm``
    The pipeline again with the cache it just filled.
``rss``
    Peak resident memory of a pipeline run over N clips and over 10 × N clips,
    each in a fresh Python process (its own ``ru_maxrss``), so that the two do
    not share a peak: a streaming pipeline needs about the same memory for both.

Backbones are timed with random weights (the speed does not depend on the
values of the weights, and random weights need no download), and, for
``forward``, built as :func:`soundad.extract.extract_features` builds them
(BatchNorm folded into the convolutions, channels-last memory, and on a CPU the
traced graph that oneDNN fuses, :meth:`soundad.backbones.Backbone.fuse_for_cpu`).

Targets (printed as PASS/FAIL; they never fail the command)::

    pipeline >= 0.85 x forward        the data path keeps the network busy
    forward  >= 0.6  x GEMM           the network runs near the device's peak
    pipeline >= 1.2  x naive (CPU)    batching and streaming pay off
             >= 10   x naive (GPU)
    warm     >= 20   x cold           the cache is worth having
    RSS(10N) <  1.2  x RSS(N)         memory does not grow with the data

:func:`project_full_reproduction` turns measured windows per second into the
time the full MIMII reproduction would take.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from soundad._io import atomic_write_text
from soundad.errors import DataError, ParameterError

__all__ = [
    "MIMII_CLIPS",
    "PAPER_BACKBONES",
    "TARGETS",
    "count_flops",
    "format_report",
    "measure_forward",
    "measure_gemm",
    "project_full_reproduction",
    "load_record",
    "run_bench",
    "windows_per_clip",
]

#: Backbones of Müller et al. (2021): ResNets against AlexNet and SqueezeNet
#: (abstract, arXiv:2006.03429: "features extracted from ResNet based networks yield
#: better results than those from AlexNet and Squeezenet").
PAPER_BACKBONES = ("resnet18", "resnet34", "resnet50", "alexnet", "squeezenet1_1")

#: MIMII (Purohit et al., DCASE 2019 Workshop, Table 1; Zenodo record 3384388): clips of
#: 10 s per (machine, model ID) as (normal, abnormal), the same at each of the three SNRs
#: (-6 dB, 0 dB, 6 dB). 18,019 clips per SNR, 54,057 in the 12 zips.
MIMII_CLIPS = {
    ("fan", "id_00"): (1011, 407), ("fan", "id_02"): (1016, 359),
    ("fan", "id_04"): (1033, 348), ("fan", "id_06"): (1015, 361),
    ("pump", "id_00"): (1006, 143), ("pump", "id_02"): (1005, 111),
    ("pump", "id_04"): (702, 100), ("pump", "id_06"): (1036, 102),
    ("slider", "id_00"): (1068, 356), ("slider", "id_02"): (1068, 267),
    ("slider", "id_04"): (534, 178), ("slider", "id_06"): (534, 89),
    ("valve", "id_00"): (991, 119), ("valve", "id_02"): (708, 120),
    ("valve", "id_04"): (1000, 120), ("valve", "id_06"): (992, 120),
}
MIMII_SNRS = ("-6dB", "0dB", "6dB")

#: Synthetic clips the bench writes at most; more are hard links to these (see _prepare_clips).
_MAX_DISTINCT_CLIPS = 256
MIMII_DURATION = 10.0  # [s]

#: name: (measured key, reference key, factor on CPU, factor on GPU, comparison)
TARGETS = {
    "pipeline/forward": ("pipeline_wps", "forward_wps", 0.85, 0.85, ">="),
    "forward/gemm": ("forward_gflops", "gemm_gflops", 0.6, 0.6, ">="),
    "pipeline/naive": ("pipeline_wps", "naive_wps", 1.2, 10.0, ">="),
    "warm/cold": ("warm_speedup", None, 20.0, 20.0, ">="),
    "rss 10N/N": ("rss_ratio_10x", None, 1.2, 1.2, "<"),
}

JSON_KEYS = ("gemm_gflops", "forward_gflops", "forward_wps", "pipeline_wps", "naive_wps", "warm_speedup",
             "rss_ratio_10x")


# --------------------------------------------------------------------------- helpers


def _torch_device(device: str):
    """The bench's device: CPU or CUDA (``"auto"``: CUDA if present), where it can synchronise."""
    from soundad.backbones import resolve_device

    if str(device) not in ("cpu", "cuda", "auto"):
        raise ParameterError(f"device={device!r}; expected 'cpu', 'cuda' or 'auto'")
    return resolve_device(device, mps=False)


def _synchronizer(device) -> Callable[[], None]:
    import torch

    if device.type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def _best_seconds(fn: Callable[[], object], *, repeats: int, sync: Callable[[], None]) -> float:
    """Fastest of ``repeats`` timed calls of ``fn`` (after one untimed warm-up call)."""
    fn()
    sync()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------- measurements


def measure_gemm(*, device: str = "cpu", n: int = 2048, repeats: int = 3, seed: int = 0) -> float:
    """fp32 ``torch.mm`` rate of two ``n × n`` matrices, best of ``repeats`` [GFLOP/s].

    A product of two n × n matrices takes ``2 n³`` floating-point operations.
    """
    import torch

    dev = _torch_device(device)
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=gen).to(dev)
    b = torch.randn(n, n, generator=gen).to(dev)
    with torch.inference_mode():
        seconds = _best_seconds(lambda: torch.mm(a, b), repeats=repeats, sync=_synchronizer(dev))
    return 2.0 * n**3 / seconds / 1e9


def count_flops(model, *, image_size: int, device: str = "cpu") -> float:
    """Floating-point operations of one window's forward pass (batch 1) [FLOP].

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`, which counts
    a multiply-add as two operations (convolutions and matrix products; the
    cheap element-wise operations are not counted).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, image_size, image_size, device=_torch_device(device))
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return float(counter.get_total_flops())


def measure_forward(model, *, image_size: int, batch_size: int = 32, device: str = "cpu", repeats: int = 3,
                    seed: int = 0, channels_last: bool = True) -> float:
    """Windows per second of the batched forward pass on ready-made images.

    Each of ``repeats`` timed runs passes at least 64 windows (3 batches or
    more) through the network back to back; the fastest run is kept.
    """
    import torch

    dev = _torch_device(device)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=gen).to(dev)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    # Sustained rate: each timed run is several consecutive batches (>= 64 windows), as in the
    # pipeline; the best single batch would overstate what a long run can keep up.
    calls = max(3, math.ceil(64 / batch_size))

    def run():
        for _ in range(calls):
            model(x)

    with torch.inference_mode():
        seconds = _best_seconds(run, repeats=repeats, sync=_synchronizer(dev))
    return calls * batch_size / seconds


def windows_per_clip(duration: float = MIMII_DURATION, *, mel=None, window=None) -> int:
    """Number of mel windows of one clip of ``duration`` seconds under the given settings.

    Computed with the real functions (:func:`soundad.features.compute_mel` and
    :func:`soundad.features.sliding_windows` on a silent clip), so it follows
    whatever framing they use.
    """
    from soundad.features import MelConfig, WindowConfig, compute_mel, sliding_windows

    mel = mel if mel is not None else MelConfig()
    window = window if window is not None else WindowConfig()
    y = np.zeros(int(round(duration * mel.sr)), dtype=np.float32)
    spec = compute_mel(y, sr=mel.sr, config=mel)
    return int(sliding_windows(spec, length=window.length, hop=window.hop).shape[0])


def _naive_loop(clips: pd.DataFrame, *, model, image, mel, window, device: str) -> int:
    """The straightforward reference: per clip, per window, batch 1, no cache. Returns windows done.

    ``model`` is the same network the pipeline runs (:func:`soundad.backbones.load_backbone`
    with its defaults), loaded before the clock starts, so that the comparison measures
    what batching, resampling-free decoding and the streamed data path buy -- not a
    slower network.
    """
    import librosa
    import torch

    from soundad.features import compute_mel, sliding_windows, windows_to_images

    dev = _torch_device(device)
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
    _synchronizer(dev)()
    return n


def _extract(clips, *, backbone, image, device, batch_size, cache_dir):
    from soundad.extract import extract_features

    return extract_features(clips, backbone=backbone, weights="random", image=image, device=device,
                            batch_size=batch_size, cache_dir=cache_dir, progress=False)


def _rss_child(argv: Sequence[str]) -> None:
    """Entry of the memory-measuring subprocess: run the pipeline, print peak RSS [bytes]."""
    import resource

    spec = json.loads(argv[0])
    from soundad.data import read_layout
    from soundad.features import ImageConfig

    clips = read_layout(spec["data"]).iloc[: spec["n_clips"]]
    image = ImageConfig(size=spec["image_size"]) if spec["image_size"] else ImageConfig()
    with tempfile.TemporaryDirectory() as cache:
        _extract(clips, backbone=spec["backbone"], image=image, device=spec["device"],
                 batch_size=spec["batch_size"], cache_dir=cache)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    print(json.dumps({"peak_rss_bytes": int(peak) * scale, "n_clips": int(len(clips))}))


def _measure_rss(*, data: Path, n_clips: int, backbone: str, image_size, device: str, batch_size: int) -> dict:
    spec = dict(data=str(data), n_clips=n_clips, backbone=backbone, image_size=image_size, device=device,
                batch_size=batch_size)
    code = "import sys; from soundad.bench import _rss_child; _rss_child(sys.argv[1:])"
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise DataError(f"the memory-measuring subprocess failed (exit {proc.returncode}): {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the bench


def _prepare_clips(data, *, n_clips: int, duration: float, seed: int, workdir: Path) -> tuple[Path, pd.DataFrame]:
    """Clips to time: the first ``10 × n_clips`` under ``data``, or synthetic ones written to ``workdir``."""
    from soundad.data import read_layout, write_synthetic_dataset

    if data is not None:
        root = Path(data)
        clips = read_layout(root)
    else:
        total = 10 * n_clips
        distinct = min(total, _MAX_DISTINCT_CLIPS)
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
        clips = read_layout(root)
    return root, clips


def run_bench(
    *,
    backbones: Sequence[str] = ("resnet18", "efficientnet_lite0"),
    device: str = "cpu",
    n_clips: int | None = None,
    naive_clips: int | None = None,
    duration: float = MIMII_DURATION,
    data: str | os.PathLike | None = None,
    batch_size: int | None = None,
    image_size: int | None = None,
    repeats: int = 3,
    gemm_size: int = 2048,
    rss: bool = True,
    project: Sequence[str] = (),
    json_path: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Measure GEMM, forward, pipeline (cold and warm), naive loop and memory per backbone.

    Parameters
    ----------
    backbones : sequence of str, default=("resnet18", "efficientnet_lite0")
        Backbones to time (random weights).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    n_clips : int >= 1 or None, default=None
        Clips per timed pipeline run (the memory check also runs 10 × n_clips);
        ``None``: 16 on a CPU, 1024 on a GPU, where a run of 16 clips would
        last a few milliseconds and time mostly the start of the worker processes.
        Both the pipeline and the naive loop are timed after a one-clip warm-up,
        so the rates are those of a long run; the warm-up time is ``startup_s``.
        Each is timed ``repeats`` times (the pipeline with a fresh cache each
        time) and the fastest run is kept, as for GEMM and forward.
    naive_clips : int >= 1 or None, default=None
        Clips per timed run of the naive loop; ``None``: ``min(n_clips, 16)``.
        The loop handles one window at a time, so its rate does not depend on
        how many clips it is given, and 1024 clips would take minutes.
    duration : float > 0 [s], default=10.0
        Length of the synthetic clips.
    data : str, os.PathLike or None
        Time these MIMII-layout clips (the first ``n_clips``) instead of synthetic ones.
    batch_size : int >= 1 or None, default=None
        Windows per forward pass (forward and pipeline); ``None``:
        :func:`soundad.extract.default_batch_size` for the device.
    image_size : int or None
        Side length of the images [px]; None: :class:`soundad.features.ImageConfig`'s.
    repeats : int >= 1, default=3
        Timed repetitions of GEMM, forward, pipeline and naive loop (the best
        is kept).
    gemm_size : int, default=2048
        Side of the GEMM matrices.
    rss : bool, default=True
        Run the two memory subprocesses.
    project : sequence of str, default=()
        Backbones (e.g. :data:`PAPER_BACKBONES`) whose forward rate is
        measured to project the full MIMII reproduction with
        :func:`project_full_reproduction`; the result is ``report["projection"]``.
    json_path : str, os.PathLike or None
        Also write the report as JSON here.
    seed : int, default=0
        Seed of the synthetic clips and the random inputs.
    progress : bool, default=True
        Progress lines on stderr.

    Returns
    -------
    report : dict
        ``{"meta": {...}, "results": {backbone: {...}}}``. Each backbone's
        record holds :data:`JSON_KEYS` — ``gemm_gflops, forward_gflops,
        forward_wps, pipeline_wps, naive_wps, warm_speedup, rss_ratio_10x`` —
        plus the raw numbers behind them (``flops_per_window``, seconds,
        ``rss_n_mb``, ``rss_10n_mb``, ...) and ``checks``: target name →
        ``{"value", "target", "pass"}``. ``rss_ratio_10x`` is NaN when ``rss``
        is False.
    """
    import torch

    from soundad.backbones import load_backbone
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    from soundad.extract import default_batch_size

    dev = _torch_device(device)
    if batch_size is None:
        batch_size = default_batch_size(dev)
    if n_clips is None:
        n_clips = 16 if dev.type == "cpu" else 1024
    counts = [("n_clips", n_clips), ("batch_size", batch_size), ("repeats", repeats)]
    if naive_clips is not None:
        counts.append(("naive_clips", naive_clips))
    for name, value in counts:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    if naive_clips is None:
        naive_clips = min(n_clips, 16)
    if not duration > 0:
        raise ParameterError(f"duration must be > 0 seconds, got {duration!r}")
    backbones = (backbones,) if isinstance(backbones, str) else tuple(backbones)
    device = dev.type
    log = (lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    image = ImageConfig(size=image_size) if image_size else ImageConfig()
    mel, window = MelConfig(), WindowConfig()

    meta = {
        "device": device,
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine(),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "n_clips": n_clips, "naive_clips": naive_clips,
        "duration_s": duration,
        "batch_size": batch_size, "image_size": image.size, "gemm_size": gemm_size, "repeats": repeats,
        "weights": "random", "data": str(data) if data is not None else "synthetic",
    }
    log(f"GEMM {gemm_size}x{gemm_size} fp32 on {device}")
    gemm = measure_gemm(device=device, n=gemm_size, repeats=repeats, seed=seed)

    results = {}
    with tempfile.TemporaryDirectory(prefix="soundad-bench-") as tmp:
        workdir = Path(tmp)
        root, all_clips = _prepare_clips(data, n_clips=n_clips, duration=duration, seed=seed, workdir=workdir)
        clips = all_clips.iloc[:n_clips].reset_index(drop=True)
        meta["n_clips"] = len(clips)
        for b, name in enumerate(backbones):
            rec: dict = {"gemm_gflops": gemm}
            # the forward pass as extract_features runs it: BatchNorm folded, channels-last,
            # oneDNN-fused graph on a CPU
            model = load_backbone(name, weights="random", device=device, channels_last=True, fuse_bn=True)
            size = image.size
            rec["flops_per_window"] = count_flops(model, image_size=size, device=device)
            log(f"{name}: forward, batch {batch_size}, {size}x{size}")
            rec["forward_wps"] = measure_forward(model, image_size=size, batch_size=batch_size, device=device,
                                                 repeats=repeats, seed=seed)
            rec["forward_gflops"] = rec["flops_per_window"] * rec["forward_wps"] / 1e9
            del model

            # One-time start-up costs (librosa's first-call compilation, the backend's kernel
            # selection for these shapes) are paid once per process, not per clip: pay them
            # on a throwaway cache before the clock starts, and report them apart.
            log(f"{name}: warm-up (start-up costs, reported apart)")
            t0 = time.perf_counter()
            _extract(clips.iloc[:1], backbone=name, image=image, device=device, batch_size=batch_size,
                     cache_dir=workdir / f"warmup-{b}")
            rec["startup_s"] = time.perf_counter() - t0

            # Cold runs, each with a fresh, empty cache; the fastest of `repeats` is kept, as
            # for the forward pass, so that the two rates are measured alike.
            log(f"{name}: pipeline cold, {len(clips)} clips, best of {repeats}")
            rec["pipeline_s"] = math.inf
            for r in range(repeats):
                cache = workdir / f"cache-{b}-{r}"
                feats = _extract(clips, backbone=name, image=image, device=device, batch_size=batch_size,
                                 cache_dir=cache)
                # the one-time backbone load is reported apart; the rate is that of the data path
                load_s = float(feats.stats["load_seconds"])
                if float(feats.seconds) - load_s < rec["pipeline_s"]:
                    rec["model_load_s"], rec["pipeline_s"] = load_s, float(feats.seconds) - load_s
            rec["n_windows"] = int(len(feats.clip_ids))
            rec["pipeline_wps"] = rec["n_windows"] / rec["pipeline_s"]
            log(f"{name}: pipeline warm")
            warm = _extract(clips, backbone=name, image=image, device=device, batch_size=batch_size, cache_dir=cache)
            rec["warm_s"] = float(warm.seconds)
            rec["warm_speedup"] = rec["pipeline_s"] / rec["warm_s"]
            log(f"{name}: naive loop")
            plain = load_backbone(name, weights="random", device=device)  # as the pipeline's
            _naive_loop(clips.iloc[:1], model=plain, image=image, mel=mel, window=window, device=device)  # warm-up
            rec["naive_s"] = math.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                n_naive = _naive_loop(clips.iloc[:naive_clips], model=plain, image=image, mel=mel, window=window,
                                      device=device)
                rec["naive_s"] = min(rec["naive_s"], time.perf_counter() - t0)
            rec["naive_wps"] = n_naive / rec["naive_s"]
            del plain

            if rss:
                n10 = min(10 * len(clips), len(all_clips))
                log(f"{name}: peak RSS for {len(clips)} and {n10} clips (fresh processes)")
                small = _measure_rss(data=root, n_clips=len(clips), backbone=name, image_size=image_size,
                                     device=device, batch_size=batch_size)
                large = _measure_rss(data=root, n_clips=n10, backbone=name, image_size=image_size,
                                     device=device, batch_size=batch_size)
                rec["rss_n_mb"] = small["peak_rss_bytes"] / 2**20
                rec["rss_10n_mb"] = large["peak_rss_bytes"] / 2**20
                rec["rss_clips"] = [small["n_clips"], large["n_clips"]]
                rec["rss_ratio_10x"] = rec["rss_10n_mb"] / rec["rss_n_mb"]
            else:
                rec["rss_ratio_10x"] = math.nan
            rec["checks"] = _checks(rec, device)
            results[name] = rec

    report = {"meta": meta, "results": results}
    if project:
        rates = {}
        for name in project:
            log(f"{name}: forward rate for the projection")
            model = load_backbone(name, weights="random", device=device, channels_last=True, fuse_bn=True)
            rates[(name, device)] = measure_forward(model, image_size=image.size, batch_size=batch_size,
                                                    device=device, repeats=repeats, seed=seed)
            del model
        report["projection"] = project_full_reproduction(rates).to_dict("records")
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(report, indent=1, sort_keys=True, default=_json_default))
    return report


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _checks(rec: Mapping[str, float], device: str) -> dict:
    checks = {}
    for name, (key, ref, cpu_factor, gpu_factor, op) in TARGETS.items():
        factor = gpu_factor if device == "cuda" else cpu_factor
        value = rec.get(key, math.nan)
        if ref is not None:
            value = value / rec[ref]
        passed = bool(value >= factor) if op == ">=" else bool(value < factor)
        checks[name] = {"value": float(value), "target": f"{op} {factor:g}", "pass": passed if math.isfinite(value) else None}
    return checks


def format_report(report: Mapping) -> str:
    """The bench report as plain-text tables: the measurements, then the targets."""
    meta = report["meta"]
    lines = [
        f"device {meta['device']} ({meta['device_name']}), torch {meta['torch']}, {meta['torch_threads']} threads; "
        f"{meta['n_clips']} clips of {meta['duration_s']:g} s ({meta['data']}), batch {meta['batch_size']}, "
        f"{meta['image_size']} px images, random weights",
        "",
    ]
    rows = []
    for name, rec in report["results"].items():
        rows.append({
            "backbone": name,
            "GEMM GFLOP/s": rec["gemm_gflops"],
            "GFLOP/window": rec["flops_per_window"] / 1e9,
            "forward win/s": rec["forward_wps"],
            "forward GFLOP/s": rec["forward_gflops"],
            "pipeline win/s": rec["pipeline_wps"],
            "naive win/s": rec["naive_wps"],
            "warm speedup": rec["warm_speedup"],
            "RSS N MB": rec.get("rss_n_mb", math.nan),
            "RSS 10N MB": rec.get("rss_10n_mb", math.nan),
        })
    lines.append(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    lines.append("")
    checks = []
    for name, rec in report["results"].items():
        for check, c in rec["checks"].items():
            verdict = "n/a" if c["pass"] is None else ("PASS" if c["pass"] else "FAIL")
            checks.append({"backbone": name, "check": check, "value": c["value"], "target": c["target"],
                           "result": verdict})
    lines.append(pd.DataFrame(checks).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if report.get("projection"):
        table = pd.DataFrame(report["projection"])
        lines += ["", f"projected network time of the full MIMII reproduction ({int(table['clips'].iloc[0])} clips, "
                      f"{int(table['windows'].iloc[0])} windows, one weights setting; forward rate at batch "
                      f"{meta['batch_size']}, {meta['image_size']} px):",
                  table.to_string(index=False, float_format=lambda v: f"{v:.2f}")]
    return "\n".join(lines)


# --------------------------------------------------------------------------- projection


def project_full_reproduction(
    rates,
    *,
    clips: Mapping[tuple[str, str], tuple[int, int]] = MIMII_CLIPS,
    n_snrs: int = len(MIMII_SNRS),
    n_weights: int = 1,
    windows: int | None = None,
) -> pd.DataFrame:
    """Project the feature-extraction time of the full MIMII reproduction.

    Every clip of every SNR is turned into windows once per (backbone,
    weights); the time is windows / measured windows per second. Detector
    fitting is not included (it is small next to the forward passes of the
    larger backbones, and does not depend on the device).

    Parameters
    ----------
    rates : mapping or pd.DataFrame
        Measured windows per second: ``{backbone: wps}``, ``{(backbone,
        device): wps}``, or a table with columns ``backbone``,
        ``windows_per_second`` (and optionally ``device``).
    clips : mapping, default=MIMII_CLIPS
        (normal, abnormal) clips per (machine, model ID) at one SNR.
    n_snrs : int, default=3
        SNR versions of the dataset.
    n_weights : int, default=1
        Weights per backbone (2 to include the random-weights control).
    windows : int or None
        Windows per clip; None computes it with :func:`windows_per_clip` for
        MIMII's 10 s clips under the default settings.

    Returns
    -------
    projection : pd.DataFrame
        One row per (backbone, device): ``backbone, device,
        windows_per_second, clips, windows, hours``.
    """
    if isinstance(rates, pd.DataFrame):
        table = rates.copy()
        if "device" not in table.columns:
            table["device"] = "cpu"
    else:
        rows = []
        for key, wps in dict(rates).items():
            backbone, dev = key if isinstance(key, tuple) else (key, "cpu")
            rows.append({"backbone": backbone, "device": dev, "windows_per_second": float(wps)})
        table = pd.DataFrame(rows, columns=["backbone", "device", "windows_per_second"])
    bad = table[~(table["windows_per_second"] > 0)]
    if len(bad):
        raise ParameterError(f"windows per second must be > 0, got {bad.to_dict('records')}")
    per_snr = sum(n + a for n, a in clips.values())
    n_clips = per_snr * n_snrs
    wpc = windows if windows is not None else windows_per_clip(MIMII_DURATION)
    table = table[["backbone", "device", "windows_per_second"]].copy()
    table["clips"] = n_clips * n_weights
    table["windows"] = table["clips"] * wpc
    table["hours"] = table["windows"] / table["windows_per_second"] / 3600.0
    return table.reset_index(drop=True)


#: Bench reports recorded on machines CI does not have (``soundad/records/bench-<name>.json``).
RECORDS = ("h200",)


def load_record(name: str = "h200") -> dict:
    """A bench report recorded on another machine, shipped with the package.

    ``"h200"``: ``soundad bench --device cuda --project --json`` on one NVIDIA
    H200 (16 CPU cores, torch 2.11), 2026-11-26, during this package's
    development (the data path then ran a single loader worker and drew images
    on the CPU, which capped the GPU pipeline far below the forward pass; the
    forward rates are the device's ceiling). The book projects the full MIMII
    reproduction on a GPU from it, since CI has no GPU.

    Returns
    -------
    report : dict
        Same layout as :func:`run_bench`'s report (``meta``, ``results``, ``projection``).
    """
    from importlib import resources

    if name not in RECORDS:
        raise ParameterError(f"unknown bench record {name!r}; choose one of {', '.join(RECORDS)}")
    text = resources.files("soundad").joinpath("records", f"bench-{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
