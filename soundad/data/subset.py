"""A few MIMII clips without the whole zip: HTTP range requests (chapter 01, downloads).

:func:`fetch_mimii_subset` reads the zip's central directory from the end of
the remote file, then each chosen member, all with HTTP range requests
(:mod:`soundad.data.remotezip`). A hundred clips cost about 250 MB instead of
10 GB, in a handful of requests (Zenodo allows about 60 a minute). Servers
that ignore ``Range`` get a whole download (:func:`download_file`). A
finished subset is recorded in ``<dest>/.soundad/`` (:func:`subset_marker`),
so a rerun needs no network.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Mapping

from soundad._io import atomic_write_text
from soundad.errors import DataError, DownloadError
from soundad.params import check_int

from .archives import STATE_DIR, check_etag, mimii_archive_name, mimii_base_url, registry_entry, snr_arg, zip_folder
from .machines import check_model_ids
from .remotezip import RangeReader, probe_ranges
from .retrieve import download_file
from .zipmembers import choose_members, extract_members

__all__ = ["fetch_mimii_subset", "subset_complete", "subset_marker", "subset_settings"]

#: Bytes read from the end of a remote zip at once: its end records (and zip64 locator) in one request.
TAIL_BYTES = 4 << 10


def fetch_mimii_subset(
    dest: str | os.PathLike,
    *,
    snr: str = "0dB",
    machine: str = "fan",
    model_id: str = "id_00",
    n_normal: int | None = 50,
    n_abnormal: int | None = 50,
    base_url: str | None = None,
    registry: Mapping[str, str | None] | None = None,
    download_dir: str | os.PathLike | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Fetch a few clips of one MIMII model without downloading the whole zip.

    Reads the zip's central directory and then only the chosen members (the
    first ``n_normal`` normal and ``n_abnormal`` abnormal clips of
    ``machine``/``model_id`` in sorted order) with HTTP range requests, and
    writes them to ``<dest>/<snr>/<machine>/<model_id>/<label>/``. Each
    member is checked against the CRC-32 stored in the zip and written
    atomically; members already present with the right size are skipped, so
    an interrupted run resumes. If the server ignores ``Range`` (answers 200
    with the whole body), the whole zip is downloaded (verified against the
    registry md5) and the same members are unpacked from it.

    Parameters
    ----------
    dest : str or path-like
        Dataset root.
    snr : str, default="0dB"
    machine : str, default="fan"
    model_id : str, default="id_00"
    n_normal, n_abnormal : int >= 0 or None, default=50
        How many clips of each label; ``None`` takes all. Fewer available
        gives a warning and all there are.
    base_url : str or None, default=None
        As in :func:`~soundad.data.download.download_mimii`.
    registry : mapping or None, default=None
        Checksums for the whole-download fallback, as in :func:`download_mimii`.
    download_dir : str or path-like or None, default=None
        Where a whole-download fallback puts the zip; ``None``: ``<dest>/zips``.
    timeout : float [s], default=30.0
    progress : bool, default=True

    Returns
    -------
    dest : Path
        The dataset root, ready for :func:`read_layout`.

    Raises
    ------
    ParameterError
        For an unknown SNR, machine or a bad count.
    DataError
        If the zip has no clips of ``machine``/``model_id`` (the message
        lists the model IDs it has) or an unsafe member name.
    DownloadError
        If the server cannot be reached, a member fails its CRC check, or the
        fallback download fails its checksum.
    """
    dest = Path(dest).expanduser()
    snr = snr_arg(snr)
    check_model_ids([model_id], name="model_id")
    settings = subset_settings(snr, machine, model_id, n_normal, n_abnormal)
    marker = subset_marker(dest, snr, machine, model_id)
    if subset_complete(marker, dest, settings):
        return dest
    name = settings["archive"]
    zf = _open_zip(mimii_base_url(base_url) + name, dest, registry=registry, download_dir=download_dir,
                   timeout=timeout, progress=progress)
    with zf:
        chosen = choose_members(zf.infolist(), name, machine, model_id, n_normal, n_abnormal)
        paths = extract_members(zf, chosen, dest, snr, name, progress=progress, desc=f"fetching {machine} {model_id} ({snr})")
    record = dict(settings, files={p.relative_to(dest).as_posix(): p.stat().st_size for p in paths})
    atomic_write_text(marker, json.dumps(record, indent=1, sort_keys=True))
    return dest


def subset_settings(snr: str, machine: str, model_id: str, n_normal, n_abnormal) -> dict:
    """What a subset is made of, as its marker records it (counts checked: integers >= 0 or None)."""
    return {
        "archive": mimii_archive_name(snr, machine),
        "model_id": model_id,
        "n_normal": check_int("n_normal", n_normal, low=0, allow_none=True),
        "n_abnormal": check_int("n_abnormal", n_abnormal, low=0, allow_none=True),
    }


def subset_marker(dest: Path, snr: str, machine: str, model_id: str) -> Path:
    """The file recording a finished subset of ``machine``/``model_id`` at ``snr`` under ``dest``."""
    return Path(dest) / STATE_DIR / f"subset-{snr_arg(snr)}-{machine}-{model_id}.json"


def _open_zip(url: str, dest: Path, *, registry, download_dir, timeout: float, progress: bool) -> zipfile.ZipFile:
    """The remote zip over range requests, or (server without ``Range``) the whole zip downloaded and verified."""
    name = url.rsplit("/", 1)[-1]
    notice = (lambda message: print(f"{name}: {message}", file=sys.stderr, flush=True)) if progress else None
    size, served_md5 = probe_ranges(url, timeout=timeout, on_wait=notice)
    if size is not None:
        check_etag(url, name, served_md5, registry)
        reader = RangeReader(url, size, timeout=timeout, on_wait=notice)
        reader.prefetch(max(0, size - TAIL_BYTES), TAIL_BYTES)  # end records, zip64 locator: one request
        try:
            return zipfile.ZipFile(reader)
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{url} does not look like a zip file ({exc})") from None
    warnings.warn(f"{url}: the server ignores range requests; downloading the whole zip", stacklevel=3)
    known_hash, expected = registry_entry(name, registry)
    zip_dir = zip_folder(dest, download_dir)
    local = download_file(url, zip_dir / name, known_hash=known_hash, expected_size=expected, timeout=timeout,
                          progress=progress)
    try:
        return zipfile.ZipFile(local)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{str(local)!r} is not a readable zip file: {exc}") from None


def subset_complete(marker: Path, dest: Path, settings: dict) -> bool:
    """Whether the subset recorded in ``marker`` is in ``dest`` with these ``settings`` (no download needed)."""
    if not marker.exists():
        return False
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if any(record.get(k) != v for k, v in settings.items()):
        return False
    files = record.get("files", {})
    return bool(files) and all((dest / rel).is_file() and (dest / rel).stat().st_size == size for rel, size in files.items())
