"""Value parsers and small option helpers shared by every ``soundad`` subcommand (chapter 06).

Names follow one rule across commands: an option that takes one value is
singular (``--backbone``, ``--layer``, ``--snr``, ``--model-id``), an option
that takes a comma-separated list is plural (``--backbones``, ``--layers``,
``--snrs``, ``--model-ids``, ``--detectors``). ``--weights`` is the same word
either way: one value in ``extract``, a list in ``reproduce``.
"""

from __future__ import annotations

import argparse
import re

__all__ = [
    "HelpFormatter", "SIGNED_VALUE_OPTIONS", "add_quiet", "csv_list", "fraction", "join_signed_values",
    "layer_list", "parse_channel", "positive_int",
]

#: Options whose values may start with a minus sign ("-6dB"): argparse would read such a
#: value as an option of its own, so ``--snrs -6dB,6dB`` is rewritten to ``--snrs=-6dB,6dB``.
SIGNED_VALUE_OPTIONS = ("--snrs", "--snr")
_SIGNED_VALUE = re.compile(r"^-\d")


def csv_list(text: str) -> tuple[str, ...]:
    """Split ``"a,b , c"`` into ``("a", "b", "c")``; an empty item is an error."""
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list without empty items, got {text!r}")
    return items


def positive_int(text: str) -> int:
    """``"3"`` -> 3; anything that is not an integer >= 1 is a usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def fraction(text: str) -> float:
    """``"0.5"`` -> 0.5; a number outside (0, 1) is a usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def layer_list(text: str) -> tuple[str | None, ...]:
    """``"default,layer3"`` -> ``(None, "layer3")``: "default" is the backbone's own layer."""
    return tuple(None if item in ("default", "none", "-") else item for item in csv_list(text))


def parse_channel(text: str) -> int | str:
    """``"0"`` -> 0, ``"mean"`` -> ``"mean"``: a microphone index or the mean of all channels."""
    if text == "mean":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer index or 'mean', got {text!r}") from None


def join_signed_values(argv: list[str]) -> list[str]:
    """Glue a minus-signed value to its option: ``["--snrs", "-6dB"]`` -> ``["--snrs=-6dB"]``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and _SIGNED_VALUE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``-q/--quiet``: no progress bars or progress lines."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or progress lines")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: ...)`` only where the help text does not already say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)
