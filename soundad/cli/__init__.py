"""The ``soundad`` command line: one subcommand per public entry point.

Each subcommand is a thin mapping of its options onto one function of the
package, so that what the command does can be read (and called) in Python:

=============  ==========================================================  ==============================
``synth``      :func:`soundad.data.write_synthetic_dataset`                :mod:`soundad.cli.data_commands`
``download``   :func:`soundad.data.download_mimii` /                       :mod:`soundad.cli.data_commands`
               :func:`soundad.data.fetch_mimii_subset`
``extract``    :func:`soundad.extract.extract_features` + ``save_features``  :mod:`soundad.cli.extract_command`
``reproduce``  :func:`soundad.reproduce.run_grid`                          :mod:`soundad.cli.reproduce_command`
``bench``      :func:`soundad.bench.run_bench`                             :mod:`soundad.cli.bench_command`
=============  ==========================================================  ==============================

The settings of the stages are options derived from their frozen settings
objects (``--n-mels`` from :class:`~soundad.features.MelConfig`,
``--window-length`` from :class:`~soundad.features.WindowConfig`,
``--image-size`` from :class:`~soundad.features.ImageConfig`, ``--backbone``,
``--batch-size`` ... from :class:`~soundad.backbones.BackboneConfig`), with
the same defaults (:mod:`soundad.cli.config_options`, :mod:`soundad.cli.settings`).
An option with one value is singular, one with a comma-separated list plural
(:mod:`soundad.cli.arguments`).

Heavy modules (torch, the data and feature-extraction stages) are imported
inside the command functions, so ``soundad --help`` answers at once.

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
import sys
import warnings
from typing import Callable, Sequence

from soundad.cli.arguments import join_signed_values
from soundad.cli.bench_command import add_bench
from soundad.cli.data_commands import add_download, add_synth
from soundad.cli.extract_command import add_extract
from soundad.cli.reproduce_command import add_reproduce
from soundad.cli_errors import run_guarded, show_warnings_as_lines
from soundad.network import env_flag

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``soundad`` argument parser (exposed so that tests and docs can inspect it)."""
    from soundad import __version__

    parser = argparse.ArgumentParser(
        prog="soundad",
        description=(
            "Acoustic anomaly detection for machine sounds with ImageNet transfer learning "
            "(Mueller et al., ICAART 2021) on MIMII-layout data. "
            "Run 'soundad COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"soundad {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (also accepted after COMMAND; "
                             "or set SOUNDAD_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (add_synth, add_download, add_extract, add_reproduce, add_bench):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``soundad`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    argv = join_signed_values(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in argv or env_flag("SOUNDAD_DEBUG")
    argv = [a for a in argv if a != "--debug"]  # accepted before or after the subcommand
    args = build_parser().parse_args(argv)
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
