"""The real MIMII clips shipped inside the package (chapter 01; the offline default).

``soundad/data/mimii_sample/`` holds 40 clips of MIMII (Purohit et al., 2019;
Zenodo record 3384388): fan, model id_00, 0 dB, 20 normal and 20 abnormal,
10 s each, in MIMII's layout (``0dB/fan/id_00/{normal,abnormal}/NNNNNNNN.flac``).
What was changed from MIMII: only microphone 0 of the eight channels is
kept, stored losslessly as 16-bit FLAC at MIMII's 16 kHz (the samples are
exactly those of channel 0 of the original WAV files). The licence and
citation are in ``soundad/data/mimii_sample/LICENSE.md``; MIMII is
© Hitachi, Ltd., CC BY-SA 4.0.

Regenerate it from a copy of the original clips with::

    python -m soundad.data.embedded /path/to/mimii-sample

(the default destination is the package folder).
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import numpy as np

from soundad.errors import DataError

from .layout import read_layout

__all__ = ["EMBEDDED_NAME", "embedded_sample_root", "write_embedded_sample"]

#: Title of the embedded sample (what :class:`soundad.data.DataSource` calls it).
EMBEDDED_NAME = "embedded real MIMII sample (fan id_00, 0 dB, microphone 0, 40 clips)"
_FOLDER = "mimii_sample"


def embedded_sample_root() -> Path:
    """Directory of the embedded sample, in MIMII's layout (FLAC files).

    Returns
    -------
    Path
        A real directory inside the installed package.

    Raises
    ------
    DataError
        If the package was installed without its data files.
    """
    root = Path(str(resources.files("soundad.data") / _FOLDER))
    if not root.is_dir() or not any(root.rglob("*.flac")):
        raise DataError(
            f"the embedded MIMII sample is missing from {root}; reinstall soundad (its package data "
            "includes soundad/data/mimii_sample) or set SOUNDAD_DATA to a MIMII-layout directory"
        )
    return root


def write_embedded_sample(source: str | os.PathLike, dest: str | os.PathLike | None = None, *,
                          channel: int = 0) -> list[Path]:
    """Write channel ``channel`` of every clip under ``source`` as 16-bit FLAC, same layout.

    Parameters
    ----------
    source : str or path-like
        Directory of WAV files in MIMII's layout (e.g. ``../shared/data/mimii-sample``).
    dest : str, path-like or None, default=None
        Where to write; None: the package's ``soundad/data/mimii_sample``.
    channel : int, default=0
        Microphone to keep.

    Returns
    -------
    list of Path
        The FLAC files written, in clip order.

    Raises
    ------
    DataError
        If a clip is not 16-bit PCM or lacks the channel.
    """
    import soundfile as sf

    dest_root = Path(dest) if dest is not None else Path(__file__).resolve().parent / _FOLDER
    written = []
    for clip_id, path in read_layout(source)[["clip_id", "path"]].itertuples(index=False):
        info = sf.info(path)
        if info.subtype != "PCM_16" or info.channels <= channel:
            raise DataError(f"{path}: {info.subtype}, {info.channels} channel(s); expected 16-bit PCM with "
                            f"channel {channel}")
        data, sr = sf.read(path, dtype="int16", always_2d=True)
        target = dest_root / Path(clip_id).with_suffix(".flac")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        sf.write(tmp, np.ascontiguousarray(data[:, channel]), sr, format="FLAC", subtype="PCM_16")
        os.replace(tmp, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print("usage: python -m soundad.data.embedded SOURCE [DEST]", file=sys.stderr)
        return 2
    written = write_embedded_sample(*args)
    size = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} FLAC files, {size / 1e6:.2f} MB, under {written[0].parents[4]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
