"""Download MIMII from Zenodo, whole or a few clips at a time (chapter 01).

MIMII "public 1.0" (Zenodo record 3384388) is twelve zips, one per SNR and
machine type, 7-11 GB each (about 100 GB in all). Two ways in:

- :func:`download_mimii` (here) fetches whole zips, checks their md5 sums
  against :data:`~soundad.data.archives.MIMII_ARCHIVES` and unpacks them into
  MIMII's layout. Downloads go through pooch (hash check, atomic move) and
  resume from a ``.part`` file after an interruption
  (:func:`~soundad.data.retrieve.download_file`).
- :func:`~soundad.data.subset.fetch_mimii_subset` reads just the clips it
  needs out of the remote zip with HTTP range requests.

The pieces, one module each: :mod:`~soundad.data.archives` (the registry,
URLs and checksums), :mod:`~soundad.data.retrieve` (whole-file downloads),
:mod:`~soundad.data.zipmembers` (safe, resumable unpacking),
:mod:`~soundad.data.subset` (the range-request subset),
:mod:`~soundad.data.remotezip` and :mod:`~soundad.data.ratelimit` (range
requests and the server's rate limits).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence

from soundad._io import atomic_write_text
from soundad.errors import ParameterError

from .archives import extracted_marker, mimii_archive_name, mimii_base_url, registry_entry, zip_folder
from .groups import parse_snrs
from .layout import MACHINES, SNRS
from .retrieve import download_file
from .zipmembers import extract_zip

__all__ = ["download_mimii"]


def download_mimii(
    dest: str | os.PathLike,
    *,
    snrs: Sequence[str] = SNRS,
    machines: Sequence[str] = MACHINES,
    base_url: str | None = None,
    registry: Mapping[str, str | None] | None = None,
    download_dir: str | os.PathLike | None = None,
    extract: bool = True,
    keep_zip: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download MIMII's zips and unpack them into MIMII's layout.

    Each zip (about 7-11 GB) goes to ``<download_dir>/<name>``, resuming a
    ``.part`` file left by an interrupted run, and is checked against its md5
    sum before use; it is then unpacked to ``<dest>/<snr>/<machine>/…``.
    A finished archive is recorded in ``<dest>/.soundad/``, so that running
    again skips it (even when the zip was deleted).

    Parameters
    ----------
    dest : str or path-like
        Dataset root to unpack into.
    snrs : sequence of str, default=("-6dB", "0dB", "6dB")
        Any spelling :func:`normalise_snr` accepts.
    machines : sequence of str, default=("fan", "pump", "slider", "valve")
    base_url : str or None, default=None
        Folder URL holding the zips; ``None`` uses ``$SOUNDAD_MIMII_URL``
        or :data:`ZENODO_URL`.
    registry : mapping of str to str or None, default=None
        Checksums by zip name (``"md5:<hex>"``, or ``None`` for no check);
        ``None`` uses :data:`MIMII_ARCHIVES` (and checks sizes too).
    download_dir : str or path-like or None, default=None
        Where the zips go; ``None`` means ``<dest>/zips``.
    extract : bool, default=True
        Unpack after downloading.
    keep_zip : bool, default=True
        Keep each zip after unpacking (False frees about 10 GB per zip).
    timeout : float [s], default=30.0
        Socket timeout of each request.
    progress : bool, default=True
        Show tqdm progress bars.

    Returns
    -------
    dest : Path
        The dataset root, ready for :func:`read_layout`.

    Raises
    ------
    ParameterError
        For an unknown SNR or machine.
    DownloadError
        If a download fails or a checksum does not match (nothing is left
        under the zip's final name).
    DataError
        If a zip cannot be unpacked or holds an unsafe member name.
    """
    dest = Path(dest).expanduser()
    snr_list = parse_snrs(snrs, name="snrs")
    names = [(snr, mimii_archive_name(snr, machine)) for snr in snr_list for machine in _as_list(machines)]
    base = mimii_base_url(base_url)
    zip_dir = zip_folder(dest, download_dir)
    for snr, name in names:
        if not (extract and extracted_marker(dest, name).exists()):
            _fetch_archive(base + name, zip_dir / name, dest, snr, registry=registry, extract=extract,
                           keep_zip=keep_zip, timeout=timeout, progress=progress)
    return dest


def _fetch_archive(url: str, zip_path: Path, dest: Path, snr: str, *, registry, extract: bool, keep_zip: bool,
                   timeout: float, progress: bool) -> None:
    """Download one zip (verified) and unpack it, recording the finished archive under ``dest``."""
    known_hash, size = registry_entry(zip_path.name, registry)
    download_file(url, zip_path, known_hash=known_hash, expected_size=size, timeout=timeout, progress=progress)
    if extract:
        extract_zip(zip_path, dest, snr=snr, progress=progress)
        marker = extracted_marker(dest, zip_path.name)
        atomic_write_text(marker, json.dumps({"archive": zip_path.name, "hash": known_hash}))
        if not keep_zip:
            zip_path.unlink()


def _as_list(machines) -> list[str]:
    if isinstance(machines, str):
        machines = [v for v in machines.split(",") if v]
    machines = list(machines)
    if not machines:
        raise ParameterError("machines must not be empty")
    return machines
