"""``soundad synth`` and ``soundad download``: clips on disk in MIMII's (or DCASE's) layout.

=============  ==========================================================
``synth``      :func:`soundad.data.write_synthetic_dataset`
``download``   :func:`soundad.data.download_mimii` /
               :func:`soundad.data.fetch_mimii_subset`
=============  ==========================================================
"""

from __future__ import annotations

import argparse
from pathlib import Path

from soundad.cli.arguments import HelpFormatter, csv_list, positive_int

__all__ = ["add_download", "add_synth", "cmd_download", "cmd_synth", "print_counts"]


def print_counts(root: Path) -> None:
    """Print clips per (snr, machine, model_id, label) as read back by ``read_layout``."""
    from soundad.data import GROUP_COLUMNS, read_layout

    clips = read_layout(root)
    counts = clips.groupby([*GROUP_COLUMNS, "label"]).size().unstack("label", fill_value=0)
    for column in ("normal", "abnormal"):
        if column not in counts.columns:
            counts[column] = 0
    counts = counts[["normal", "abnormal"]].reset_index()
    print(f"{len(clips)} clips under {root}")
    print(counts.to_string(index=False))


def cmd_synth(args: argparse.Namespace) -> int:
    from soundad.data import parse_snrs, write_synthetic_dataset

    n_abnormal = args.abnormal if args.abnormal is not None else max(1, args.clips // 2)
    kwargs = dict(n_normal=args.clips, n_abnormal=n_abnormal, duration=args.duration, seed=args.seed,
                  overwrite=args.overwrite)
    if args.machines is not None:
        kwargs["machines"] = args.machines
    if args.snrs is not None:
        kwargs["snrs"] = tuple(parse_snrs(args.snrs, name="--snrs"))
    if args.model_ids is not None:
        kwargs["model_ids"] = args.model_ids
    if args.layout != "mimii":  # DCASE Task 2 layouts (issue 15): no SNRs, split and domains by folder
        from soundad.data.dcase_synth import write_dcase_synthetic

        kwargs.pop("snrs", None), kwargs.pop("overwrite", None)  # rewritten in place: deterministic
        root = write_dcase_synthetic(args.out, layout=args.layout, **kwargs)
    else:
        root = write_synthetic_dataset(args.out, **kwargs)
    print_counts(Path(root))
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from soundad import data

    kwargs = {}
    if args.url is not None:
        kwargs["base_url"] = args.url
    if args.dataset != "mimii":  # DCASE Task 2 development sets (issue 15)
        from soundad.data.dcase_download import download_dcase, fetch_dcase_subset

        if args.subset:
            root = fetch_dcase_subset(args.dest, dataset=args.dataset, machine=args.machine,
                                      model_id=args.model_id, n_normal=args.normal, n_abnormal=args.abnormal,
                                      **kwargs)
        else:
            root = download_dcase(args.dest, dataset=args.dataset, machines=args.machines, **kwargs)
    elif args.subset:
        if args.snr is not None:
            kwargs["snr"] = data.parse_snrs([args.snr], name="--snr")[0]
        root = data.fetch_mimii_subset(args.dest, machine=args.machine, model_id=args.model_id,
                                       n_normal=args.normal, n_abnormal=args.abnormal, **kwargs)
    else:
        if args.snrs is not None:
            kwargs["snrs"] = tuple(data.parse_snrs(args.snrs, name="--snrs"))
        if args.machines is not None:
            kwargs["machines"] = args.machines
        root = data.download_mimii(args.dest, **kwargs)
    print_counts(root)
    return 0


def add_synth(sub) -> None:
    p = sub.add_parser(
        "synth",
        formatter_class=HelpFormatter,
        help="write synthetic machine sounds in MIMII's directory layout",
        description=(
            "Write deterministic synthetic machine sounds as 16-bit 16 kHz WAVs in MIMII's layout "
            "OUT/<snr>/<machine>/<model_id>/{normal,abnormal}/NNNNNNNN.wav "
            "(soundad.data.write_synthetic_dataset), then print the clip counts read back."
        ),
    )
    p.add_argument("out", metavar="OUT", help="directory to write into (created if missing)")
    p.add_argument("--machines", type=csv_list, default=None, metavar="LIST",
                   help="comma-separated machine types, e.g. fan,valve (default: fan,pump,slider,valve)")
    p.add_argument("--snrs", type=csv_list, default=None, metavar="LIST",
                   help="comma-separated signal-to-noise ratios, e.g. -6dB,0dB,6dB (default: all three)")
    p.add_argument("--model-ids", "--ids", type=csv_list, default=None, metavar="LIST", dest="model_ids",
                   help="comma-separated model IDs, e.g. id_00,id_02 (default: id_00,id_02,id_04,id_06; "
                        "--ids is the old spelling)")
    p.add_argument("--clips", type=positive_int, default=20, metavar="N", help="normal clips per model ID")
    p.add_argument("--abnormal", type=positive_int, default=None, metavar="N",
                   help="abnormal clips per model ID (default: half of --clips)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="clip length [s]")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same files")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a synthetic set written into OUT earlier with other settings")
    p.add_argument("--layout", default="mimii", choices=("mimii", "dcase2020", "dcase2023"),
                   help="folder layout; dcase2023 adds a target domain run at 1.25 x the source speed")
    p.set_defaults(func=cmd_synth)


def add_download(sub) -> None:
    p = sub.add_parser(
        "download",
        formatter_class=HelpFormatter,
        help="download MIMII from Zenodo (whole zips, or a small subset by HTTP ranges)",
        description=(
            "Download the MIMII dataset (Zenodo record 3384388, CC BY-SA 4.0) into DEST. "
            "Without --subset: whole per-SNR, per-machine zips, md5-checked and unpacked "
            "(soundad.data.download_mimii). With --subset: a few clips of one machine and model ID "
            "read out of the remote zip with HTTP range requests (soundad.data.fetch_mimii_subset)."
        ),
    )
    p.add_argument("dest", metavar="DEST", help="directory to download into")
    p.add_argument("--snrs", type=csv_list, default=None, metavar="LIST",
                   help="whole-zip mode: comma-separated SNRs, e.g. -6dB,0dB,6dB (default: all)")
    p.add_argument("--machines", type=csv_list, default=None, metavar="LIST",
                   help="whole-zip mode: comma-separated machine types (default: all four)")
    p.add_argument("--subset", action="store_true",
                   help="fetch only --normal/--abnormal clips of one --machine and --model-id (DCASE sets: "
                        "per split and domain; --model-id id_00 means section_00 from 2021 on)")
    p.add_argument("--snr", default=None, help="subset mode: the SNR zip to read from (default: the library's, 0dB)")
    p.add_argument("--machine", default="fan", help="subset mode: machine type")
    p.add_argument("--model-id", "--id", default="id_00", dest="model_id",
                   help="subset mode: model ID (--id is the old spelling)")
    p.add_argument("--normal", type=positive_int, default=50, metavar="N", help="subset mode: normal clips")
    p.add_argument("--abnormal", type=positive_int, default=50, metavar="N", help="subset mode: abnormal clips")
    p.add_argument("--url", default=None, metavar="BASE",
                   help="base URL of the zips (default: the Zenodo record); a mirror or a local server")
    # no choices here: listing the DCASE sets would import the data stage for every --help;
    # soundad.preflight checks the name before any work
    p.add_argument("--dataset", default="mimii", metavar="NAME",
                   help="which dataset: mimii, or a DCASE Task 2 development set, e.g. dcase2020-dev "
                        "(whole zips per machine; the names: soundad.data.dcase_download.DCASE_DATASETS)")
    p.set_defaults(func=cmd_download)
