"""The bench's targets, its PASS/FAIL checks and its report as text and JSON (chapter 06).

Targets (printed as PASS/FAIL; they never fail the command)::

    pipeline >= 0.85 x forward (CPU)  the data path keeps the network busy
             >= 0.7  x forward (GPU)
    forward  >= 0.6  x GEMM           the network runs near the device's peak
    pipeline >= 1.2  x naive (CPU)    batching and streaming pay off
             >= 10   x naive (GPU)
    warm     >= 20   x cold           the cache is worth having
    RSS(10N) <  1.2  x RSS(N)         memory does not grow with the data
"""

from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["JSON_KEYS", "TARGETS", "check_targets", "format_report", "report_json", "time_per_clip"]

#: name: (measured key, reference key, factor on CPU, factor on GPU, comparison)
TARGETS = {
    "pipeline/forward": ("pipeline_wps", "forward_wps", 0.85, 0.7, ">="),
    "forward/gemm": ("forward_gflops", "gemm_gflops", 0.6, 0.6, ">="),
    "pipeline/naive": ("pipeline_wps", "naive_wps", 1.2, 10.0, ">="),
    "warm/cold": ("warm_speedup", None, 20.0, 20.0, ">="),
    "rss 10N/N": ("rss_ratio_10x", None, 1.2, 1.2, "<"),
}

JSON_KEYS = ("gemm_gflops", "forward_gflops", "forward_wps", "pipeline_wps", "naive_wps", "warm_speedup",
             "rss_ratio_10x")


def report_json(report: Mapping) -> str:
    """The report as indented JSON with sorted keys (numpy numbers as plain ones)."""
    return json.dumps(report, indent=1, sort_keys=True, default=_json_default)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def check_targets(rec: Mapping[str, float], device: str) -> dict:
    """Target name -> ``{"value", "target", "pass"}`` for one backbone's record (``pass`` None: not measured)."""
    checks = {}
    for name, (key, ref, cpu_factor, gpu_factor, op) in TARGETS.items():
        factor = gpu_factor if device == "cuda" else cpu_factor
        value = rec.get(key, math.nan)
        if ref is not None:
            value = value / rec[ref]
        passed = bool(value >= factor) if op == ">=" else bool(value < factor)
        checks[name] = {"value": float(value), "target": f"{op} {factor:g}", "pass": passed if math.isfinite(value) else None}
    return checks


def time_per_clip(report: Mapping) -> str:
    """Where the cold pipeline's time goes, in ms per clip, beside the forward pass alone.

    ``pipeline/forward`` is ``forward alone / (draw + forward + rest)``: on a
    CPU, where the data path runs in the same process as the network, the
    ``rest`` (decoding, mel spectrograms, cache look-up and writes) is what the
    pipeline cannot hide.
    """
    n_clips = report["meta"]["n_clips"]
    rows = []
    for name, rec in report["results"].items():
        if "data_path_s" not in rec:  # a record written before these were measured
            continue
        rows.append({"backbone": name,
                     "forward alone": rec["n_windows"] / rec["forward_wps"] / n_clips * 1e3,
                     "pipeline: draw + forward": rec["pipeline_forward_s"] / n_clips * 1e3,
                     "pipeline: the rest": rec["data_path_s"] / n_clips * 1e3})
    if not rows:
        return ""
    table = pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}")
    return ("time per clip [ms] (pipeline/forward = forward alone / (draw + forward + the rest)):\n" + table)


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
    lines += ["", time_per_clip(report)]
    if report.get("projection"):
        table = pd.DataFrame(report["projection"])
        lines += ["", f"projected network time of the full MIMII reproduction ({int(table['clips'].iloc[0])} clips, "
                      f"{int(table['windows'].iloc[0])} windows, one weights setting; forward rate at batch "
                      f"{meta['batch_size']}, {meta['image_size']} px):",
                  table.to_string(index=False, float_format=lambda v: f"{v:.2f}")]
    return "\n".join(lines)
