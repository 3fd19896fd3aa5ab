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
    The pipeline again with the cache it just filled (fastest of ``repeats`` reruns).
``rss``
    Peak resident memory of a pipeline run over N clips and over 10 × N clips,
    each in a fresh Python process (its own ``ru_maxrss``), so that the two do
    not share a peak: a streaming pipeline needs about the same memory for both.

Backbones are timed with random weights (the speed does not depend on the
values of the weights, and random weights need no download), and, for
``forward``, built as :func:`soundad.extract.extract_features` builds them
(BatchNorm folded into the convolutions, channels-last memory, and on a CPU the
traced graph that oneDNN fuses, :meth:`soundad.backbones.Backbone.fuse_for_cpu`).

Modules: :mod:`~soundad.bench.timing` (GEMM, FLOPs, forward),
:mod:`~soundad.bench.pipeline` (the clips, the pipeline and the naive loop),
:mod:`~soundad.bench.memory` (peak RSS in fresh processes),
:mod:`~soundad.bench.run` (one run, per backbone), :mod:`~soundad.bench.report`
(targets, PASS/FAIL, text and JSON) and :mod:`~soundad.bench.projection`
(:func:`project_full_reproduction` turns measured windows per second into the
time the full MIMII reproduction would take; recorded GPU reports).
"""

from __future__ import annotations

from soundad.bench.memory import measure_rss, rss_child
from soundad.bench.pipeline import MAX_DISTINCT_CLIPS, extract_random, naive_loop, prepare_clips
from soundad.bench.projection import (
    MIMII_CLIPS,
    MIMII_DURATION,
    MIMII_SNRS,
    PAPER_BACKBONES,
    RECORDS,
    PaperProjection,
    forward_rates,
    load_record,
    project_full_reproduction,
    project_paper_backbones,
    windows_per_clip,
)
from soundad.bench.report import JSON_KEYS, TARGETS, check_targets, format_report, report_json, time_per_clip
from soundad.bench.run import BENCH_BACKBONES, BenchPlan, bench_log, bench_plan, run_bench, time_backbone
from soundad.bench.steps import ForwardStep, format_steps, forward_steps, steps_for
from soundad.bench.timing import count_flops, measure_forward, measure_gemm

__all__ = [
    "BENCH_BACKBONES", "JSON_KEYS", "MAX_DISTINCT_CLIPS", "MIMII_CLIPS", "MIMII_DURATION", "MIMII_SNRS",
    "PAPER_BACKBONES", "RECORDS", "TARGETS", "BenchPlan", "ForwardStep", "PaperProjection", "bench_log",
    "bench_plan", "check_targets", "count_flops", "extract_random", "format_report", "format_steps",
    "forward_rates", "forward_steps", "load_record", "measure_forward", "measure_gemm", "measure_rss",
    "naive_loop", "prepare_clips", "project_full_reproduction", "project_paper_backbones", "report_json",
    "rss_child", "run_bench", "steps_for", "time_backbone", "time_per_clip", "windows_per_clip"
]
