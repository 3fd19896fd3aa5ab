"""``soundad extract``: backbone features of every mel window of every clip.

Maps onto :func:`soundad.extract.extract_features` and
:func:`soundad.extract.save_features`. Its settings are the four settings
objects, built from the options by :mod:`soundad.cli.settings`.
"""

from __future__ import annotations

import argparse

from soundad.cli.arguments import HelpFormatter, add_quiet, parse_channel
from soundad.cli.settings import add_backbone_options, add_feature_options, backbone_config, feature_configs

__all__ = ["add_extract", "add_extraction_options", "cmd_extract"]

def add_extraction_options(p) -> None:
    """Options of reading clips and caching features, shared by ``extract`` and ``reproduce``."""
    p.add_argument("--channel", type=parse_channel, default="0", metavar="C",
                   help="microphone channel of multi-channel WAVs: an index, or 'mean'")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="feature cache directory; a second run with the same settings reads the features "
                        "from it")
    p.add_argument("--verify-cache", action="store_true",
                   help="rehash every audio file instead of trusting the fingerprints the cache remembers "
                        "by (device, inode, size, mtime); catches in-place edits that keep size and mtime")
    p.add_argument("--strict-rate", action="store_true",
                   help="refuse clips not at 16 kHz instead of resampling them (with one warning)")


def cmd_extract(args: argparse.Namespace) -> int:
    from soundad.data import read_layout
    from soundad.extract import extract_features, save_features

    clips = read_layout(args.data)
    wf = extract_features(
        clips,
        config=backbone_config(args),
        **feature_configs(args),
        channel=args.channel,
        cache_dir=args.cache,
        progress=not args.quiet,
        verify_cache=args.verify_cache,
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


def add_extract(sub) -> None:
    p = sub.add_parser(
        "extract",
        formatter_class=HelpFormatter,
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
    add_backbone_options(p.add_argument_group("backbone (BackboneConfig)"))
    add_extraction_options(p)
    add_feature_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="directory to save the features into")
    add_quiet(p)
    p.set_defaults(func=cmd_extract)
