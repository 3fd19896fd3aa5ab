"""How long would the full MIMII reproduction take? Projection from measured rates (chapter 06).

:func:`project_full_reproduction` turns measured windows per second into the
time the full MIMII reproduction would take; :func:`load_record` reads a bench
report recorded on a machine CI does not have (a GPU).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from soundad.data.layout import SNRS
from soundad.errors import ParameterError

__all__ = [
    "MIMII_CLIPS", "MIMII_DURATION", "MIMII_SNRS", "PAPER_BACKBONES", "RECORDS", "PaperProjection", "forward_rates",
    "load_record", "project_full_reproduction", "project_paper_backbones", "windows_per_clip",
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
MIMII_SNRS = SNRS  # the three SNR versions of the dataset (soundad.data.layout)
MIMII_DURATION = 10.0  # [s]


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


@dataclass(frozen=True)
class PaperProjection:
    """The full reproduction projected for the paper's backbones, here and on a recorded GPU.

    Attributes
    ----------
    table : pd.DataFrame
        :func:`project_full_reproduction`'s rows for this CPU (device ``"cpu: this
        machine"``) and for the recorded GPU's forward pass.
    hours_cpu, hours_gpu : float [h]
        Each device's total over the backbones.
    gpu_forward_wps, gpu_pipeline_wps : float [windows/s]
        ResNet-18's forward pass and whole pipeline in the recorded report.
    gpu_pipeline_minutes : float [min]
        The grid at the recorded pipeline's pace, for every backbone (on that GPU the
        data path, not the network, set it).
    """

    table: pd.DataFrame
    hours_cpu: float
    hours_gpu: float
    gpu_forward_wps: float
    gpu_pipeline_wps: float
    gpu_pipeline_minutes: float


def forward_rates(names, *, label: str, device: str = "cpu", image_size: int = 224, batch_size: int,
                  repeats: int = 1, seed: int = 0, log=None, **cuda_options) -> dict:
    """``{(name, label): windows/s}``: each backbone's forward pass (random weights) timed on ``device``.

    The rates :func:`project_full_reproduction` takes; ``cuda_options`` are
    :func:`~soundad.bench.timing.measure_forward`'s (autocast, compile_mode).
    """
    from soundad.backbones import load_backbone
    from soundad.bench.timing import measure_forward

    rates = {}
    for name in names:
        if log is not None:
            log(f"{name}: forward rate for the projection")
        model = load_backbone(name, weights="random", device=device)
        rates[(name, label)] = measure_forward(model, image_size=image_size, device=device, batch_size=batch_size,
                                               repeats=repeats, seed=seed, **cuda_options)
    return rates


def project_paper_backbones(*, batch_size: int, seed: int = 0, record: str = "h200", n_weights: int = 2,
                            image_size: int = 224) -> PaperProjection:
    """Time the forward pass of :data:`PAPER_BACKBONES` on this CPU now, and project the grid (chapter 06).

    Each backbone (random weights) is timed once with :func:`~soundad.bench.timing.measure_forward`;
    the GPU rows come from the recorded bench report ``record`` (:func:`load_record`).
    ``n_weights``: weights settings in the grid (ImageNet and random: 2).
    """
    rates = forward_rates(PAPER_BACKBONES, label="cpu: this machine", image_size=image_size, batch_size=batch_size,
                          seed=seed)
    gpu = load_record(record)
    gpu_name = f"cuda: {gpu['meta']['device_name']} (recorded)"
    rates.update({(row["backbone"], gpu_name): row["windows_per_second"] for row in gpu["projection"]})
    table = project_full_reproduction(rates, n_weights=n_weights)
    on_cpu = table["device"].str.startswith("cpu")
    resnet18 = gpu["results"]["resnet18"]
    pipeline = {(name, "cuda pipeline"): resnet18["pipeline_wps"] for name in PAPER_BACKBONES}
    return PaperProjection(
        table=table, hours_cpu=float(table.loc[on_cpu, "hours"].sum()),
        hours_gpu=float(table.loc[~on_cpu, "hours"].sum()),
        gpu_forward_wps=float(resnet18["forward_wps"]), gpu_pipeline_wps=float(resnet18["pipeline_wps"]),
        gpu_pipeline_minutes=60 * float(project_full_reproduction(pipeline, n_weights=n_weights)["hours"].sum()))
