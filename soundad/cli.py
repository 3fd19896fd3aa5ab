"""The ``soundad`` command line: one subcommand per public entry point.

Each subcommand is a thin mapping of its options onto one function of the
package, so that what the command does can be read (and called) in Python:

=============  ==========================================================
``synth``      :func:`soundad.data.write_synthetic_dataset`
``download``   :func:`soundad.data.download_mimii` /
               :func:`soundad.data.fetch_mimii_subset`
``extract``    :func:`soundad.extract.extract_features` + ``save_features``
``reproduce``  :func:`soundad.reproduce.run_grid`
``bench``      :func:`soundad.bench.run_bench`
=============  ==========================================================

Heavy modules (torch, the data and feature stages) are imported inside the
command functions, so ``soundad --help`` answers at once.

Before any work, :func:`soundad.preflight.check_command` checks every option
of the command (bounds, devices, layers, checkpoints, output and cache
directories, clip headers). Errors that soundad raises on purpose
(:mod:`soundad.errors`) and problems of the environment (a read-only disk, a
broken connection) end the command with a one-line message on stderr and exit
status 2, the status argparse uses for a malformed command line; a closed
output pipe ends it quietly (:mod:`soundad.cli_errors`). ``--debug`` shows the
traceback; anything else is a bug and keeps its traceback.

Chapter 06 of the book walks through every subcommand.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Callable, Sequence

from soundad.cli_errors import EXIT_USAGE, run_guarded, show_warnings_as_lines  # noqa: F401 - EXIT_USAGE kept for importers

# Options whose values may start with a minus sign ("-6dB"): argparse would read such a
# value as an option of its own, so ``--snrs -6dB,6dB`` is rewritten to ``--snrs=-6dB,6dB``.
_SIGNED_VALUE_OPTIONS = ("--snrs", "--snr")
_SIGNED_VALUE = re.compile(r"^-\d")


def _csv(text: str) -> tuple[str, ...]:
    """Split ``"a,b , c"`` into ``("a", "b", "c")``; an empty item is an error."""
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list without empty items, got {text!r}")
    return items


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def _layers(text: str) -> tuple[str | None, ...]:
    """``"default,layer3"`` → ``(None, "layer3")``: "default" is the backbone's own layer."""
    return tuple(None if item in ("default", "none", "-") else item for item in _csv(text))


def _snrs(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    from soundad.data import normalise_snr

    return tuple(normalise_snr(value) for value in values)


def _join_signed_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in _SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and _SIGNED_VALUE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _print_counts(root: Path) -> None:
    """Print clips per (snr, machine, model_id, label) as read back by ``read_layout``."""
    from soundad.data import read_layout

    clips = read_layout(root)
    counts = (
        clips.groupby(["snr", "machine", "model_id", "label"]).size().unstack("label", fill_value=0)
    )
    for column in ("normal", "abnormal"):
        if column not in counts.columns:
            counts[column] = 0
    counts = counts[["normal", "abnormal"]].reset_index()
    print(f"{len(clips)} clips under {root}")
    print(counts.to_string(index=False))


# --------------------------------------------------------------------------- commands


def cmd_synth(args: argparse.Namespace) -> int:
    from soundad.data import write_synthetic_dataset

    n_abnormal = args.abnormal if args.abnormal is not None else max(1, args.clips // 2)
    kwargs = dict(n_normal=args.clips, n_abnormal=n_abnormal, duration=args.duration, seed=args.seed,
                  overwrite=args.overwrite)
    if args.machines is not None:
        kwargs["machines"] = args.machines
    if args.snrs is not None:
        kwargs["snrs"] = _snrs(args.snrs)
    if args.ids is not None:
        kwargs["ids"] = args.ids
    if args.layout != "mimii":  # DCASE Task 2 layouts (issue 15): no SNRs, split and domains by folder
        from soundad.data.dcase_synth import write_dcase_synthetic

        kwargs.pop("snrs", None), kwargs.pop("overwrite", None)  # rewritten in place: deterministic
        root = write_dcase_synthetic(args.out, layout=args.layout, **kwargs)
    else:
        root = write_synthetic_dataset(args.out, **kwargs)
    _print_counts(Path(root))
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from soundad import data

    kwargs = {}
    if args.url is not None:
        kwargs["base_url"] = args.url
    if args.dataset != "mimii":  # DCASE Task 2 development sets (issue 15)
        from soundad.data.dcase_download import download_dcase, fetch_dcase_subset

        if args.subset:
            root = fetch_dcase_subset(args.dest, dataset=args.dataset, machine=args.machine, model_id=args.id,
                                      n_normal=args.normal, n_abnormal=args.abnormal, **kwargs)
        else:
            root = download_dcase(args.dest, dataset=args.dataset, machines=args.machines, **kwargs)
    elif args.subset:
        if args.snr is not None:
            kwargs["snr"] = _snrs([args.snr])[0]
        root = data.fetch_mimii_subset(
            args.dest,
            machine=args.machine,
            model_id=args.id,
            n_normal=args.normal,
            n_abnormal=args.abnormal,
            **kwargs,
        )
    else:
        if args.snrs is not None:
            kwargs["snrs"] = _snrs(args.snrs)
        if args.machines is not None:
            kwargs["machines"] = args.machines
        root = data.download_mimii(args.dest, **kwargs)
    _print_counts(Path(root) if root is not None else Path(args.dest))
    return 0


def _dcase_dataset_names() -> tuple[str, ...]:
    from soundad.data.dcase_download import DCASE_DATASETS

    return tuple(DCASE_DATASETS)


def cmd_extract(args: argparse.Namespace) -> int:
    from soundad.data import read_layout
    from soundad.extract import extract_features, save_features
    from soundad.features import ImageConfig

    clips = read_layout(args.data)
    image = ImageConfig(size=args.image_size) if args.image_size is not None else ImageConfig()
    wf = extract_features(
        clips,
        backbone=args.backbone,
        weights=args.weights,
        layer=args.layer,
        image=image,
        channel=args.channel,
        device=args.device,
        batch_size=args.batch_size,
        cache_dir=args.cache,
        progress=not args.quiet,
        verify_cache=args.verify_cache,
        front_end=args.front_end,
        strict_rate=args.strict_rate,
    )
    out = save_features(wf, args.out)
    source = "served from the feature cache" if wf.from_cache else (
        f"computed ({wf.stats.get('cached_clips', 0)} of {len(clips)} clips from the cache)"
        if args.cache is not None else "computed (no cache)")
    print(
        f"{len(wf.clip_ids)} windows of {len(clips)} clips -> {wf.features.shape[1]}-d features "
        f"({wf.backbone}, {wf.weights} weights, layer {wf.layer}); {source}"
    )
    print(f"{wf.seconds:.2f} s, {wf.windows_per_second:.1f} windows/s; saved to {out}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from soundad.executors import grid_executor

    # --workers / --dask-scheduler: the cells run as tasks there (dask checked before any work)
    with grid_executor(workers=args.workers, dask_scheduler=args.dask_scheduler) as executor:
        results = _run_grid_from_args(args, executor)
    return _print_reproduction(args, results)


def _run_grid_from_args(args: argparse.Namespace, executor):
    from soundad.reproduce import run_grid

    baseline_params = {}
    if args.ae_epochs is not None:
        baseline_params = {name: {"max_epochs": args.ae_epochs} for name in ("conv_ae", "dense_ae")}
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
        device=args.device,
        batch_size=args.batch_size,
        channel=args.channel,
        image_size=args.image_size,
        baseline_params=baseline_params,
        progress=not args.quiet,
        verify_cache=args.verify_cache,
        front_end=args.front_end,
        executor=executor,
    )


def _print_reproduction(args: argparse.Namespace, results) -> int:
    import pandas as pd

    from soundad.evaluate import format_ci, render_markdown
    from soundad.report import interval_table

    ok = results[results["auc"].notna()]
    order = list(dict.fromkeys(results["method"]))  # the grid's order: features first, then baselines
    scores = pd.read_csv(Path(args.out) / "scores.csv", dtype={"clip_id": str})
    means = interval_table(results, scores, seed=args.seed).set_index("method").reindex(order)
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
    print(f"mean over {ok[['snr', 'machine', 'model_id']].drop_duplicates().shape[0]} (snr, machine, model_id) groups"
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


def cmd_bench(args: argparse.Namespace) -> int:
    from soundad.bench import PAPER_BACKBONES, format_report, run_bench

    report = run_bench(
        backbones=args.backbone,
        device=args.device,
        n_clips=args.clips,
        naive_clips=args.naive_clips,
        duration=args.duration,
        data=args.data,
        batch_size=args.batch_size,
        image_size=args.image_size,
        repeats=args.repeats,
        json_path=args.json,
        project=PAPER_BACKBONES if args.project else (),
        rss=not args.no_rss,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(format_report(report))
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0


# --------------------------------------------------------------------------- parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: ...)`` only where the help text does not already say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def _add_extraction_options(p) -> None:
    """Options of feature extraction shared by ``extract`` and ``reproduce``."""
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="torch device; auto picks cuda, then mps, then cpu")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                   help="windows per forward pass (default: 8 on a CPU, 128 on a GPU)")
    p.add_argument("--channel", default="0", metavar="C",
                   help="microphone channel of multi-channel WAVs: an index, or 'mean'")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="feature cache directory; a second run with the same settings reads the features "
                        "from it")
    p.add_argument("--image-size", type=_positive_int, default=None, metavar="PX",
                   help="side length of the window images fed to the backbone (default: ImageConfig's, 224)")
    p.add_argument("--verify-cache", action="store_true",
                   help="rehash every audio file instead of trusting the fingerprints the cache remembers "
                        "by (device, inode, size, mtime); catches in-place edits that keep size and mtime")
    p.add_argument("--front-end", default="auto", choices=("auto", "librosa", "torch"),
                   help="where audio becomes mel windows: librosa in the loader, or torch batched on the "
                        "device; auto: torch on a GPU, librosa on a CPU (faster there, as measured)")
    p.add_argument("--strict-rate", action="store_true",
                   help="refuse clips not at 16 kHz instead of resampling them (with one warning)")


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or progress lines")


def build_parser() -> argparse.ArgumentParser:
    """The ``soundad`` argument parser (exposed so that tests and docs can inspect it)."""
    fmt = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="soundad",
        description=(
            "Acoustic anomaly detection for machine sounds with ImageNet transfer learning "
            "(Mueller et al., ICAART 2021) on MIMII-layout data. "
            "Run 'soundad COMMAND --help' for the options of a command."
        ),
    )
    from soundad import __version__

    parser.add_argument("--version", action="version", version=f"soundad {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (also accepted after COMMAND; "
                             "or set SOUNDAD_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # synth ---------------------------------------------------------------------------
    p = sub.add_parser(
        "synth",
        formatter_class=fmt,
        help="write synthetic machine sounds in MIMII's directory layout",
        description=(
            "Write deterministic synthetic machine sounds as 16-bit 16 kHz WAVs in MIMII's layout "
            "OUT/<snr>/<machine>/<id>/{normal,abnormal}/NNNNNNNN.wav "
            "(soundad.data.write_synthetic_dataset), then print the clip counts read back."
        ),
    )
    p.add_argument("out", metavar="OUT", help="directory to write into (created if missing)")
    p.add_argument("--machines", type=_csv, default=None, metavar="LIST",
                   help="comma-separated machine types, e.g. fan,valve (default: fan,pump,slider,valve)")
    p.add_argument("--snrs", type=_csv, default=None, metavar="LIST",
                   help="comma-separated signal-to-noise ratios, e.g. -6dB,0dB,6dB (default: all three)")
    p.add_argument("--ids", type=_csv, default=None, metavar="LIST",
                   help="comma-separated model IDs, e.g. id_00,id_02 (default: id_00,id_02,id_04,id_06)")
    p.add_argument("--clips", type=_positive_int, default=20, metavar="N", help="normal clips per model ID")
    p.add_argument("--abnormal", type=_positive_int, default=None, metavar="N",
                   help="abnormal clips per model ID (default: half of --clips)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="clip length [s]")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same files")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a synthetic set written into OUT earlier with other settings")
    p.add_argument("--layout", default="mimii", choices=("mimii", "dcase2020", "dcase2023"),
                   help="folder layout; dcase2023 adds a target domain run at 1.25 x the source speed")
    p.set_defaults(func=cmd_synth)

    # download ------------------------------------------------------------------------
    p = sub.add_parser(
        "download",
        formatter_class=fmt,
        help="download MIMII from Zenodo (whole zips, or a small subset by HTTP ranges)",
        description=(
            "Download the MIMII dataset (Zenodo record 3384388, CC BY-SA 4.0) into DEST. "
            "Without --subset: whole per-SNR, per-machine zips, md5-checked and unpacked "
            "(soundad.data.download_mimii). With --subset: a few clips of one machine and model ID "
            "read out of the remote zip with HTTP range requests (soundad.data.fetch_mimii_subset)."
        ),
    )
    p.add_argument("dest", metavar="DEST", help="directory to download into")
    p.add_argument("--snrs", type=_csv, default=None, metavar="LIST",
                   help="whole-zip mode: comma-separated SNRs, e.g. -6dB,0dB,6dB (default: all)")
    p.add_argument("--machines", type=_csv, default=None, metavar="LIST",
                   help="whole-zip mode: comma-separated machine types (default: all four)")
    p.add_argument("--subset", action="store_true",
                   help="fetch only --normal/--abnormal clips of one --machine and --id (DCASE sets: per "
                        "split and domain; --id id_00 means section_00 from 2021 on)")
    p.add_argument("--snr", default=None, help="subset mode: the SNR zip to read from (default: the library's, 0dB)")
    p.add_argument("--machine", default="fan", help="subset mode: machine type")
    p.add_argument("--id", default="id_00", help="subset mode: model ID")
    p.add_argument("--normal", type=_positive_int, default=50, metavar="N", help="subset mode: normal clips")
    p.add_argument("--abnormal", type=_positive_int, default=50, metavar="N", help="subset mode: abnormal clips")
    p.add_argument("--url", default=None, metavar="BASE",
                   help="base URL of the zips (default: the Zenodo record); a mirror or a local server")
    p.add_argument("--dataset", default="mimii", choices=("mimii", *_dcase_dataset_names()),
                   help="which dataset: MIMII, or a DCASE Task 2 development set (whole zips per machine)")
    p.set_defaults(func=cmd_download)

    # extract -------------------------------------------------------------------------
    p = sub.add_parser(
        "extract",
        formatter_class=fmt,
        help="extract backbone features of every mel window of every clip",
        description=(
            "Read the clips under --data (soundad.data.read_layout), turn each into mel windows, "
            "images and frozen-backbone features (soundad.extract.extract_features, through the feature "
            "cache), and save them to --out (soundad.extract.save_features): features.npy (float32, "
            "windows x features), windows.csv (clip_id and window index per row) and meta.json. "
            "Prints the windows per second and whether the features came from the cache."
        ),
    )
    p.add_argument("--data", required=True, metavar="DIR", help="directory in MIMII's layout")
    p.add_argument("--backbone", default="efficientnet_lite0", metavar="NAME",
                   help="backbone name (see soundad.backbones.BACKBONES)")
    p.add_argument("--weights", default="imagenet", choices=("imagenet", "random"),
                   help="ImageNet-pretrained weights or the random-weights control")
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="layer whose pooled output is the feature (default: the backbone's penultimate)")
    _add_extraction_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="directory to save the features into")
    _add_quiet(p)
    p.set_defaults(func=cmd_extract)

    # reproduce -----------------------------------------------------------------------
    p = sub.add_parser(
        "reproduce",
        formatter_class=fmt,
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
    p.add_argument("--backbones", type=_csv, default="efficientnet_lite0", metavar="LIST",
                   help="comma-separated backbone names")
    p.add_argument("--weights", type=_csv, default="imagenet,random", metavar="LIST",
                   help="comma-separated weights: imagenet and/or random (the control)")
    p.add_argument("--layers", type=_layers, default="default", metavar="LIST",
                   help="comma-separated layers; 'default' is the backbone's penultimate layer, "
                   "'a+b' concatenates pooled layers (e.g. default,_blocks.10,_blocks.14 for "
                   "efficientnet_lite0: soundad.layer_study.STAGES), or a named preset such as "
                   "'intermediate' (soundad.backbones.LAYER_PRESETS); with 'default' and "
                   "others, each is compared with the default")
    p.add_argument("--detectors", type=_csv, default="gmm,ocsvm", metavar="LIST",
                   help="comma-separated detectors (see soundad.detectors.DETECTORS)")
    p.add_argument("--baselines", type=_csv, default="conv_ae,dense_ae", metavar="LIST",
                   help="comma-separated autoencoder baselines (conv_ae, dense_ae) or 'none'")
    p.add_argument("--split", default="auto", choices=("auto", "mimii", "random", "given"),
                   help="train/test split: MIMII's rule, a seeded random split of the normal clips, "
                        "given (DCASE layouts: the train/test folders), or auto (given for DCASE data, "
                        "else MIMII's rule unless it leaves a group fewer than 10 training clips)")
    p.add_argument("--train-fraction", type=_fraction, default=0.5, metavar="F",
                   help="random split: fraction of the normal clips used for training")
    p.add_argument("--seed", type=int, default=0, help="one seed for the split, detectors and autoencoders")
    p.add_argument("--repeats", type=_positive_int, default=1, metavar="K",
                   help="K seeded random splits per group (repeat 0 uses --seed, repeat r the seed "
                        "soundad.reproduce.repeat_seed(seed, r)); features are extracted once")
    _add_extraction_options(p)
    p.add_argument("--ae-epochs", type=_positive_int, default=None, metavar="N",
                   help="most training epochs of each autoencoder baseline (default: the baseline's own)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (reused to resume)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="run the grid's cells in N local processes (features are extracted first, once)")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the grid's cells on a Dask cluster, e.g. tcp://host:8786 (needs "
                        "pip install 'soundad[dask]'; workers must see --data, --cache and --out)")
    _add_quiet(p)
    p.set_defaults(func=cmd_reproduce)

    # bench ---------------------------------------------------------------------------
    p = sub.add_parser(
        "bench",
        formatter_class=fmt,
        help="measure GEMM, backbone forward, pipeline, naive loop, cache and memory side by side",
        description=(
            "Benchmark (soundad.bench.run_bench), per backbone and in one run: a 2048x2048 fp32 matrix "
            "multiply (GFLOP/s), the batched backbone forward pass (windows/s and GFLOP/s), the full "
            "pipeline cold (extract_features with a fresh cache), a naive per-clip loop, the warm-cache "
            "rerun and the peak memory for N and 10 x N clips (each in a fresh process). Prints a table "
            "with PASS/FAIL against the targets; the targets never fail the command."
        ),
    )
    p.add_argument("--backbone", type=_csv, default="resnet18,efficientnet_lite0", metavar="LIST",
                   help="comma-separated backbone names")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"), help="torch device")
    p.add_argument("--clips", type=_positive_int, default=None, metavar="N",
                   help="clips per timed pipeline run (default: 16 on a CPU, 1024 on a GPU)")
    p.add_argument("--naive-clips", type=_positive_int, default=None, metavar="N",
                   help="clips per timed naive-loop run (default: the same, at most 16)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="synthetic clip length [s]")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="time these MIMII-layout clips instead of synthetic ones (the first N are used)")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                   help="windows per forward pass (default: 8 on a CPU, 128 on a GPU)")
    p.add_argument("--image-size", type=_positive_int, default=None, metavar="PX",
                   help="image side length fed to the backbone (default: ImageConfig's, 224)")
    p.add_argument("--repeats", type=_positive_int, default=3, metavar="N",
                   help="timed repetitions of the GEMM, forward, pipeline and naive measurements "
                        "(the fastest is kept)")
    p.add_argument("--no-rss", action="store_true",
                   help="skip the two peak-memory subprocesses (N and 10 x N clips)")
    p.add_argument("--project", action="store_true",
                   help="also measure the forward rate of the paper's five backbones (resnet18/34/50, alexnet, "
                        "squeezenet1_1) and project the time of the full MIMII reproduction (54,057 clips)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the measurements as JSON here")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic clips and random inputs")
    _add_quiet(p)
    p.set_defaults(func=cmd_bench)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``soundad`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    argv = _join_signed_values(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in argv or os.environ.get("SOUNDAD_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]  # accepted before or after the subcommand
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "channel", None) is not None and args.channel != "mean":
        try:
            args.channel = int(args.channel)
        except ValueError:
            parser.error(f"--channel: expected an integer index or 'mean', got {args.channel!r}")
    func: Callable[[argparse.Namespace], int] = args.func
    previous_format = show_warnings_as_lines(args.command)

    def run() -> int:
        from soundad.preflight import check_command

        check_command(args)  # every option, directory, device and checkpoint: before any work
        return func(args)

    try:
        return run_guarded(args.command, run, debug=debug)
    finally:
        warnings.formatwarning = previous_format  # main() may be called in-process (tests, notebooks)


if __name__ == "__main__":  # pragma: no cover - python -m soundad.cli
    sys.exit(main())
