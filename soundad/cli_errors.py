"""How the command line reports failures: one line for the user's problems, tracebacks for bugs.

:func:`run_guarded` runs one subcommand and maps

- errors soundad raises on purpose (:class:`~soundad.errors.SoundadError`),
- the environment's: file-system errors (``OSError``: a read-only disk, a
  file where a directory should be, a missing permission, a full disk),
  network errors (``URLError``, ``IncompleteRead``, timeouts),

to one line on stderr and exit status 2. A closed pipe (``soundad reproduce
... | head -1``) ends the command quietly with status 141, as a shell reports a
process killed by SIGPIPE. Ctrl-C gives status 130. Any other exception is a
bug and keeps its traceback; ``--debug`` (or ``SOUNDAD_DEBUG=1``) shows the
traceback of the mapped errors too.

Messages of the Python API suggest Python arguments (``weights='random'``);
:func:`cli_advice` rewrites those to the matching command-line flags.
"""

from __future__ import annotations

import errno
import http.client
import os
import socket
import sys
import urllib.error
import warnings
from typing import Callable

from soundad.errors import SoundadError

__all__ = [
    "EXIT_USAGE", "EXIT_PIPE", "EXIT_INTERRUPTED", "cli_advice", "describe_error", "run_guarded",
    "show_warnings_as_lines",
]

EXIT_USAGE = 2  # the user's input or environment: same status as argparse's usage errors
EXIT_PIPE = 141  # 128 + SIGPIPE
EXIT_INTERRUPTED = 130  # 128 + SIGINT

#: Python-API advice in messages -> what a command-line user types instead.
_CLI_ADVICE = (
    ("weights='random'", "--weights random"),
    ("weights=\"random\"", "--weights random"),
    ("pass overwrite=True", "pass --overwrite"),
    ("pass strict=False to accept it, or sr=... to resample", "leave out --strict-rate to resample it"),
    ("strict_rate=True", "--strict-rate"),
    ("random_split(clips, train_fraction=...)", "--split random"),
    ("train_fraction", "--train-fraction"),
    ("base_url must be", "--url must be"),
    ("Use fewer components or more training clips",
     "Use more (or longer) training clips, or leave gmm out of --detectors"),
    ("channel=", "--channel "),
)

_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError)

_ERRNO_ADVICE = {
    errno.EROFS: "the file system is read-only; choose a directory on a writable disk",
    errno.EACCES: "permission denied; choose a directory you can write to",
    errno.EPERM: "operation not permitted; choose a directory you can write to",
    errno.ENOSPC: "the disk is full; free space or choose another directory",
    errno.ENOTDIR: "a file stands where a directory is needed; remove it or choose another path",
    errno.EEXIST: "a file stands where a directory is needed; remove it or choose another path",
    errno.EISDIR: "a directory stands where a file is needed; choose another path",
    errno.ENOENT: "no such file or directory",
    errno.EDQUOT: "the disk quota is exceeded; free space or choose another directory",
}


def cli_advice(message: str) -> str:
    """Rewrite Python-API advice in ``message`` into command-line flags."""
    for api, flag in _CLI_ADVICE:
        message = message.replace(api, flag)
    return message


def describe_error(error: BaseException) -> str | None:
    """One line for an error that is the user's or the environment's, or None for a bug."""
    if isinstance(error, SoundadError):
        text = str(error)
    elif isinstance(error, _NETWORK_ERRORS):
        reason = getattr(error, "reason", None) or error
        if isinstance(error, http.client.IncompleteRead):
            reason = f"the connection closed after {len(error.partial)} bytes, {error.expected} short"
        text = f"network error: {reason}; check the connection and run the same command again (it resumes)"
    elif isinstance(error, OSError):
        where = " ".join(repr(str(f)) for f in (error.filename, error.filename2) if f is not None)
        advice = _ERRNO_ADVICE.get(error.errno, error.strerror or str(error))
        text = f"cannot use {where}: {advice}" if where else f"{error.strerror or error}: {advice}"
    else:
        return None
    return " ".join(cli_advice(text).split())  # one line, whatever the text holds


def run_guarded(command: str, func: Callable[[], int], *, debug: bool = False) -> int:
    """Run ``func()`` as subcommand ``command``; map expected failures to one stderr line (see module doc)."""
    try:
        status = func()
        sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt:
        print(f"soundad {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        line = describe_error(error)
        if line is None or debug:
            raise
        print(f"soundad {command}: error: {line}", file=sys.stderr)
        return EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def show_warnings_as_lines(command: str):
    """Print each warning as one line ``soundad COMMAND: warning: ...``, advice in command-line terms.

    Returns the formatter it replaced, for the caller to restore.
    """
    previous = warnings.formatwarning

    def format_line(message, category, filename, lineno, line=None) -> str:
        return f"soundad {command}: warning: {' '.join(cli_advice(str(message)).split())}\n"

    warnings.formatwarning = format_line
    return previous
