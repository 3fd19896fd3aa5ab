"""``soundad reproduce``: the paper's grid, through :func:`soundad.reproduce.run_grid`.

Lists are plural options (``--backbones``, ``--weights``, ``--layers``,
``--detectors``, ``--baselines``); the mel, window and image settings and the
backbone's execution options (``--device``, ``--batch-size``, ``--front-end``)
come from the settings objects (:mod:`soundad.cli.settings`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from soundad.cli.arguments import HelpFormatter, add_quiet, csv_list, fraction, layer_list, positive_int
from soundad.cli.extract_command import add_extraction_options
from soundad.cli.settings import (
    DEFAULT_BACKBONE,
    add_backbone_options,
    add_feature_options,
    backbone_config,
    feature_configs,
)

__all__ = ["REPRODUCE_BACKBONE_FIELDS", "add_reproduce", "cmd_reproduce", "print_reproduction"]

#: The BackboneConfig fields run_grid takes (name, weights and layer are lists here).
REPRODUCE_BACKBONE_FIELDS = ("device", "batch_size", "front_end")


def cmd_reproduce(args: argparse.Namespace) -> int:
    from soundad.executors import grid_executor

    # --workers / --dask-scheduler: the cells run as tasks there (dask checked before any work)
    with grid_executor(workers=args.workers, dask_scheduler=args.dask_scheduler) as executor:
        results = run_grid_from_args(args, executor)
    return print_reproduction(args, results)


def run_grid_from_args(args: argparse.Namespace, executor):
    """Call :func:`soundad.reproduce.run_grid` with the parsed options."""
    from soundad.reproduce import run_grid

    baseline_params = {}
    if args.ae_epochs is not None:
        baseline_params = {name: {"max_epochs": args.ae_epochs} for name in ("conv_ae", "dense_ae")}
    backbone = backbone_config(args)
    return run_grid(
        args.data,
        backbones=args.backbones,
        weights=args.weights,
        layers=args.layers,
        detectors=args.detectors,
        baselines=() if args.baselines == ("none",) else args.baselines,
        split=args.split,
        train_fraction=args.train_fraction,
        seed=args.seed,
        repeats=args.repeats,
        out=args.out,
        cache_dir=args.cache,
        device=backbone.device,
        batch_size=backbone.batch_size,
        front_end=backbone.front_end,
        channel=args.channel,
        **feature_configs(args),
        baseline_params=baseline_params,
        progress=not args.quiet,
        verify_cache=args.verify_cache,
        executor=executor,
    )


def print_reproduction(args: argparse.Namespace, results) -> int:
    """Print the split, the mean AUC/pAUC per method with intervals, DCASE scores and layer comparisons."""
    import pandas as pd

    from soundad.data.groups import GROUP_COLUMNS
    from soundad.evaluate import format_ci, render_markdown

    ok = results[results["auc"].notna()]
    order = list(dict.fromkeys(results["method"]))  # the grid's order: features first, then baselines
    scores = pd.read_csv(Path(args.out) / "scores.csv", dtype={"clip_id": str})
    means = pd.DataFrame(results.attrs["overall"]).set_index("method").reindex(order)  # summary.md's table
    table = pd.DataFrame({
        "method": means.index,
        "AUC [95% CI]": [format_ci(r.auc, r.auc_lo, r.auc_hi, digits=3) for r in means.itertuples()],
        "pAUC [95% CI]": [format_ci(r.pauc, r.pauc_lo, r.pauc_hi, digits=3) for r in means.itertuples()],
        "n_repeats": means["n_repeats"].to_numpy(),
    })
    rule = results.attrs.get("split_rule", args.split)
    chosen = " (chosen by --split auto)" if args.split == "auto" else ""
    print(f"split: {rule}{chosen}; computed {len(results.attrs.get('computed_cells', []))} cells, "
          f"reused {len(results.attrs.get('reused_cells', []))}")
    print(f"mean over {ok[list(GROUP_COLUMNS)].drop_duplicates().shape[0]} ({', '.join(GROUP_COLUMNS)}) groups"
          + (f" and {args.repeats} repeated splits" if args.repeats > 1 else "") + ":")
    print(render_markdown(table), end="")
    if results.attrs.get("dcase_summary") is not None:  # DCASE layouts (issue 15)
        dcase = pd.read_csv(results.attrs["dcase_summary"])
        dcase = dcase[[c for c in ("method", "repeat", "machine", "auc_source_hmean", "auc_target_hmean",
                                   "auc_mean", "pauc_mean", "official_score") if c in dcase.columns]]
        dcase = dcase.dropna(axis=1, how="all")  # DCASE 2020: no domains, no official score
        print(f"DCASE scores ({results.attrs['dcase_summary']}):\n" + render_markdown(dcase), end="")
    layers = set(scores["layer"]) - {"-"} if "layer" in scores.columns else set()  # "-": baselines
    if len(layers) > 1 and "default" in layers:  # issue 15, item 6
        from soundad.layer_study import compare_layers

        print("layers against the default (paired bootstrap over repeats and clips):")
        print("\n".join(compare_layers(scores, seed=args.seed)["sentence"]))
    print(f"wrote {Path(args.out) / 'results.csv'} and {Path(args.out) / 'summary.md'}")
    return 0


def add_reproduce(sub) -> None:
    p = sub.add_parser(
        "reproduce",
        formatter_class=HelpFormatter,
        help="run the paper's grid: backbones x weights x detectors, plus autoencoder baselines",
        description=(
            "Run the reproduction grid (soundad.reproduce.run_grid) over every (snr, machine, model ID) "
            "group under --data: features once per (backbone, weights, layer), each detector fitted on "
            "the group's normal training windows, clip score = mean window score, AUC and pAUC per "
            "group; the conv and dense autoencoder baselines per group too; --repeats K: on K seeded "
            "splits, with 95% bootstrap intervals on every AUC. Resumable: finished cells "
            "under OUT/cells/ are reused. Writes OUT/results.csv, scores.csv, summary.md and figures."
        ),
    )
    p.add_argument("--data", required=True, metavar="DIR", help="directory in MIMII's layout")
    _add_grid_options(p)
    add_backbone_options(p.add_argument_group("backbone execution (BackboneConfig)"),
                         fields=REPRODUCE_BACKBONE_FIELDS)
    add_extraction_options(p)
    add_feature_options(p)
    p.add_argument("--ae-epochs", type=positive_int, default=None, metavar="N",
                   help="most training epochs of each autoencoder baseline (default: the baseline's own)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (reused to resume)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="run the grid's cells in N local processes (features are extracted first, once)")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the grid's cells on a Dask cluster, e.g. tcp://host:8786 (needs "
                        "pip install 'soundad[dask]'; workers must see --data, --cache and --out)")
    add_quiet(p)
    p.set_defaults(func=cmd_reproduce)


def _add_grid_options(p) -> None:
    """The grid's lists, its split and its seed."""
    p.add_argument("--backbones", type=csv_list, default=DEFAULT_BACKBONE, metavar="LIST",
                   help="comma-separated backbone names")
    p.add_argument("--weights", type=csv_list, default="imagenet,random", metavar="LIST",
                   help="comma-separated weights: imagenet and/or random (the control)")
    p.add_argument("--layers", type=layer_list, default="default", metavar="LIST",
                   help="comma-separated layers; 'default' is the backbone's penultimate layer, "
                   "'a+b' concatenates pooled layers (e.g. default,_blocks.10,_blocks.14 for "
                   "efficientnet_lite0: soundad.layer_study.STAGES), or a named preset such as "
                   "'intermediate' (soundad.backbones.LAYER_PRESETS); with 'default' and "
                   "others, each is compared with the default")
    p.add_argument("--detectors", type=csv_list, default="gmm,ocsvm", metavar="LIST",
                   help="comma-separated detectors (see soundad.detectors.DETECTORS)")
    p.add_argument("--baselines", type=csv_list, default="conv_ae,dense_ae", metavar="LIST",
                   help="comma-separated autoencoder baselines (conv_ae, dense_ae) or 'none'")
    p.add_argument("--split", default="auto", choices=("auto", "mimii", "random", "given"),
                   help="train/test split: MIMII's rule, a seeded random split of the normal clips, "
                        "given (DCASE layouts: the train/test folders), or auto (given for DCASE data, "
                        "else MIMII's rule unless it leaves a group fewer than 10 training clips)")
    p.add_argument("--train-fraction", type=fraction, default=0.5, metavar="F",
                   help="random split: fraction of the normal clips used for training")
    p.add_argument("--seed", type=int, default=0, help="one seed for the split, detectors and autoencoders")
    p.add_argument("--repeats", type=positive_int, default=1, metavar="K",
                   help="K seeded random splits per group (repeat 0 uses --seed, repeat r the seed "
                        "soundad.reproduce.repeat_seed(seed, r)); features are extracted once")
