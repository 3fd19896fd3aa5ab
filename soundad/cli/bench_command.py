"""``soundad bench``: speed of GEMM, backbone forward, pipeline, naive loop, cache and memory.

Maps onto :func:`soundad.bench.run_bench`. ``--backbones`` takes a list, as
in ``reproduce``; ``--backbone`` (hidden) takes one name, as in ``extract``.
"""

from __future__ import annotations

import argparse

from soundad.cli.arguments import HelpFormatter, add_quiet, csv_list, positive_int
from soundad.cli.settings import add_backbone_options, add_feature_options, backbone_config, feature_configs

__all__ = ["add_bench", "cmd_bench", "one_backbone"]


def one_backbone(text: str) -> tuple[str]:
    """``--backbone NAME``: one name (as in ``extract``); a list belongs to ``--backbones``."""
    if "," in text:
        raise argparse.ArgumentTypeError(f"takes one name, got {text!r}; use --backbones {text} for several")
    return (text.strip(),)


def cmd_steps(args: argparse.Namespace) -> int:
    """``bench --steps``: the forward pass option by option (soundad.bench.forward_steps) instead of the bench."""
    from soundad._io import atomic_write_text
    from soundad.bench import BENCH_BACKBONES, bench_log, forward_steps, format_steps, measure_gemm, report_json

    backbone = backbone_config(args)
    image = feature_configs(args)["image"]
    log = bench_log(not args.quiet)
    # the steps time autocast on a GPU anyway; a --compile-mode replaces the compile step's default mode
    compile_modes = (backbone.compile_mode,) if backbone.compile_mode else ("reduce-overhead",)
    gemm = measure_gemm(device=backbone.device, repeats=args.repeats, seed=args.seed)  # one yardstick for all
    rows = []
    for name in args.backbones if args.backbones is not None else BENCH_BACKBONES:
        rows += forward_steps(name, device=backbone.device, batch_size=backbone.batch_size, image_size=image.size,
                              repeats=args.repeats, seed=args.seed, compile_modes=compile_modes, gemm_gflops=gemm,
                              log=log)
    print(format_steps(rows))
    if args.json is not None:
        atomic_write_text(args.json, report_json({"steps": rows}))
        print(f"wrote {args.json}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from soundad.bench import BENCH_BACKBONES, PAPER_BACKBONES, format_report, run_bench

    if args.steps:
        return cmd_steps(args)
    backbone = backbone_config(args)
    report = run_bench(
        backbones=args.backbones if args.backbones is not None else BENCH_BACKBONES,
        device=backbone.device,
        n_clips=args.clips,
        naive_clips=args.naive_clips,
        duration=args.duration,
        data=args.data,
        batch_size=backbone.batch_size,
        **feature_configs(args),
        repeats=args.repeats,
        json_path=args.json,
        project=PAPER_BACKBONES if args.project else (),
        rss=not args.no_rss,
        seed=args.seed,
        autocast=backbone.autocast,
        compile_mode=backbone.compile_mode,
        progress=not args.quiet,
    )
    print(format_report(report))
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0


def add_bench(sub) -> None:
    p = sub.add_parser(
        "bench",
        formatter_class=HelpFormatter,
        help="measure GEMM, backbone forward, pipeline, naive loop, cache and memory side by side",
        description=(
            "Benchmark (soundad.bench.run_bench), per backbone and in one run: a 2048x2048 fp32 matrix "
            "multiply (GFLOP/s), the batched backbone forward pass (windows/s and GFLOP/s), the full "
            "pipeline cold (extract_features with a fresh cache), a naive per-clip loop, the warm-cache "
            "rerun and the peak memory for N and 10 x N clips (each in a fresh process). Prints a table "
            "with PASS/FAIL against the targets; the targets never fail the command."
        ),
    )
    p.add_argument("--backbones", type=csv_list, default=None, metavar="LIST",
                   help="comma-separated backbone names (default: resnet18 and the default backbone, "
                        "soundad.bench.BENCH_BACKBONES)")
    p.add_argument("--backbone", type=one_backbone, dest="backbones", default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)
    add_backbone_options(p, fields=("device", "batch_size", "autocast", "compile_mode"), choices={"device": ("auto", "cpu", "cuda")},
                         helps={"device": "torch device; auto picks cuda if there is one, else cpu"})
    p.add_argument("--clips", type=positive_int, default=None, metavar="N",
                   help="clips per timed pipeline run (default: 16 on a CPU, 1024 on a GPU)")
    p.add_argument("--naive-clips", type=positive_int, default=None, metavar="N",
                   help="clips per timed naive-loop run (default: the same, at most 16)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="synthetic clip length [s]")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="time these MIMII-layout clips instead of synthetic ones (the first N are used)")
    p.add_argument("--repeats", type=positive_int, default=3, metavar="N",
                   help="timed repetitions of the GEMM, forward, pipeline and naive measurements "
                        "(the fastest is kept)")
    p.add_argument("--no-rss", action="store_true",
                   help="skip the two peak-memory subprocesses (N and 10 x N clips)")
    p.add_argument("--project", action="store_true",
                   help="also measure the forward rate of the paper's five backbones (resnet18/34/50, alexnet, "
                        "squeezenet1_1) and project the time of the full MIMII reproduction (54,057 clips)")
    p.add_argument("--steps", action="store_true",
                   help="instead of the bench, time the forward pass option by option (channels-last, folded "
                        "BatchNorm, fused graph on a CPU; float16 autocast, CUDA graph, torch.compile on CUDA): "
                        "soundad.bench.forward_steps")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the measurements as JSON here")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic clips and random inputs")
    add_feature_options(p)
    add_quiet(p)
    p.set_defaults(func=cmd_bench)
