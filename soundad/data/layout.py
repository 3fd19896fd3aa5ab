"""Read the MIMII folder layout into a tidy table of clips (chapter 01).

MIMII ships one zip per SNR and machine type; unpacked, every clip sits at

.. code-block:: text

    <root>/<snr>/<machine>/<model_id>/<label>/<8 digits>.wav
    e.g.   0dB/fan/id_00/normal/00000000.wav

The SNR folder is spelled differently depending on who unpacked it: the zips
are called ``-6_dB_fan.zip``, the official baseline unpacks into ``min6dB``,
others write ``-6dB`` or ``6_dB``. :func:`normalise_snr` maps all of these to
one canonical spelling (``"-6dB"``, ``"0dB"``, ``"6dB"``) so that tables from
differently unpacked copies compare equal.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from soundad.errors import DataError

from .groups import normalise_snr

__all__ = [
    "LABELS",
    "MACHINES",
    "MODEL_IDS",
    "SNRS",
    "LAYOUT_COLUMNS",
    "normalise_snr",
    "read_layout",
]

#: The four machine types of MIMII "public 1.0".
MACHINES = ("fan", "pump", "slider", "valve")
#: The four product models per machine type released in MIMII "public 1.0".
MODEL_IDS = ("id_00", "id_02", "id_04", "id_06")
#: The three signal-to-noise ratios MIMII is mixed at, canonical spelling.
SNRS = ("-6dB", "0dB", "6dB")
#: The two labels, as MIMII's folder names.
LABELS = ("normal", "abnormal")
#: Columns of the table :func:`read_layout` returns, in order.
LAYOUT_COLUMNS = ("clip_id", "path", "snr", "machine", "model_id", "label")

_MODEL_ID_PATTERN = re.compile(r"^id_\d+$")
#: File name endings :func:`read_layout` lists (lower case).
AUDIO_SUFFIXES = (".wav", ".flac")

_LAYOUT_HINT = "<root>/<snr>/<machine>/<model_id>/{normal,abnormal}/<name>.wav"


def read_layout(root: str | os.PathLike) -> pd.DataFrame:
    """List every WAV file of a MIMII-layout directory as a tidy table.

    Parameters
    ----------
    root : str or path-like
        Directory holding SNR folders, laid out as
        ``<root>/<snr>/<machine>/<model_id>/{normal,abnormal}/*.wav``
        (``*.flac`` too: the embedded sample is FLAC). Hidden files (names
        starting with ``.``) and other files are ignored. DCASE Task 2
        folders are recognised and read by :mod:`soundad.data.dcase`
        (same columns plus ``split``, and ``domain`` from 2021 on).

    Returns
    -------
    clips : pd.DataFrame
        One row per WAV file, sorted by ``clip_id``, with the columns

        - ``clip_id`` (str): POSIX path relative to ``root``, e.g.
          ``"0dB/fan/id_00/normal/00000000.wav"``; unique key of the clip.
        - ``path`` (str): absolute path of the file.
        - ``snr`` (str): canonical SNR, see :func:`normalise_snr`.
        - ``machine`` (str): machine type, e.g. ``"fan"``.
        - ``model_id`` (str): product model, e.g. ``"id_00"``.
        - ``label`` (str): ``"normal"`` or ``"abnormal"``.

    Raises
    ------
    DataError
        If ``root`` is missing or not a directory, holds no WAV files, or a
        WAV file sits at a place that does not fit the layout (the message
        names the file and the expected layout), or two SNR folders are
        spellings of the same SNR (``0dB`` and ``0_dB``; the message names
        both).

    Notes
    -----
    Symbolic links to folders and files are followed; a folder reached twice
    (a link loop, or two links to one folder) is read once.

    See Also
    --------
    mimii_split, random_split : add the train/test column.
    """
    root_path = Path(root).expanduser()
    if not root_path.exists():
        raise DataError(f"data directory {str(root_path)!r} does not exist; expected {_LAYOUT_HINT}")
    if not root_path.is_dir():
        raise DataError(f"data path {str(root_path)!r} is not a directory; expected {_LAYOUT_HINT}")
    root_path = root_path.resolve()
    from soundad.data import dcase  # DCASE Task 2 layouts (issue 15): detected here, read there

    if dcase.detect_layout(root_path) != "mimii":
        return dcase.read_dcase_layout(root_path)

    rows = [_parse_clip(root_path, full) for full in _wav_files(root_path)]
    if not rows:
        raise DataError(f"no WAV files (or FLAC) found under {str(root_path)!r}; expected {_LAYOUT_HINT}")

    _check_snr_spellings(rows, root_path)
    clips = pd.DataFrame(rows, columns=list(LAYOUT_COLUMNS))
    clips = clips.sort_values("clip_id", kind="stable").reset_index(drop=True)
    return clips


def _wav_files(root: Path) -> list[Path]:
    """Every visible ``*.wav`` (or ``*.flac``) under ``root``, following symbolic links to folders and files.

    Every folder is entered once: a link to a folder that is reachable without
    links, or to one already walked (a loop back to an ancestor, two links to
    one folder), is skipped, so a loop cannot make the walk endless and no clip
    is listed twice. Paths keep the link's name (the layout is read from the
    path under ``root``, not from the target's).
    """
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    real = set()  # folders reachable without links: a link to one of them adds nothing
    for dirpath, _, _ in os.walk(root):
        info = os.stat(dirpath)
        real.add((info.st_dev, info.st_ino))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = os.stat(dirpath)
        if (here.st_dev, here.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((here.st_dev, here.st_ino))
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                try:
                    target = os.stat(full)
                except OSError:
                    continue  # a broken link
                if (target.st_dev, target.st_ino) in real | seen:
                    continue
            kept.append(d)
        dirnames[:] = kept
        for name in filenames:
            full = Path(dirpath) / name
            if name.startswith(".") or not name.lower().endswith(AUDIO_SUFFIXES) or not full.is_file():
                continue
            found.append(full)
    return found


def _check_snr_spellings(rows: list[dict], root: Path) -> None:
    """Raise DataError if two SNR folders mean the same SNR (``0dB`` and ``0_dB``): one group, counted twice."""
    folders: dict[str, set[str]] = {}
    for row in rows:
        folders.setdefault(row["snr"], set()).add(row["clip_id"].split("/", 1)[0])
    clashes = {snr: sorted(names) for snr, names in folders.items() if len(names) > 1}
    if clashes:
        snr, names = next(iter(sorted(clashes.items())))
        raise DataError(
            f"folders {' and '.join(repr(n) for n in names)} under {str(root)!r} are both SNR {snr}: "
            "their clips would be merged into one group (copies of a clip could land in both train and test); "
            "keep one of them, or move the other out of the data directory"
        )


def _parse_clip(root: Path, full: Path) -> dict:
    """Split one WAV path into the layout's fields, or raise DataError."""
    rel = full.relative_to(root)
    parts = rel.parts
    if len(parts) != 5:
        hint = ""
        if len(parts) == 4:
            hint = " (is the root one level too deep, inside an SNR folder? point it at the parent)"
        elif len(parts) == 6:
            hint = " (is the root one level too high? point it at the folder holding the SNR folders)"
        raise DataError(f"WAV file {rel.as_posix()!r} under {str(root)!r} does not fit the layout {_LAYOUT_HINT}{hint}")
    snr_dir, machine, model_id, label, _ = parts
    try:
        snr = normalise_snr(snr_dir)
    except DataError as exc:
        raise DataError(f"WAV file {rel.as_posix()!r}: its SNR folder {snr_dir!r} is not an SNR; {exc}") from None
    if label not in LABELS:
        raise DataError(
            f"WAV file {rel.as_posix()!r}: label folder {label!r} must be 'normal' or 'abnormal' ({_LAYOUT_HINT})"
        )
    if not _MODEL_ID_PATTERN.match(model_id):
        raise DataError(f"WAV file {rel.as_posix()!r}: model folder {model_id!r} must look like 'id_00' ({_LAYOUT_HINT})")
    return {
        "clip_id": rel.as_posix(),
        "path": str(full),
        "snr": snr,
        "machine": machine,
        "model_id": model_id,
        "label": label,
    }
