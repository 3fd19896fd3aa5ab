"""Download MIMII from Zenodo, whole or a few clips at a time (chapter 01).

MIMII "public 1.0" (Zenodo record 3384388) is twelve zips, one per SNR and
machine type, 7-11 GB each (about 100 GB in all). Two ways in:

- :func:`download_mimii` fetches whole zips, checks their md5 sums against
  :data:`MIMII_ARCHIVES` and unpacks them into MIMII's layout. Downloads go to
  ``<name>.part`` first and resume from there (HTTP ``Range``) after an
  interruption; only a verified file gets the final name.
- :func:`fetch_mimii_subset` reads just the clips it needs out of the remote
  zip: it reads the zip's central directory from the end of the file, then
  each chosen member, all with HTTP range requests. A hundred clips cost about
  250 MB instead of 10 GB. Servers that ignore ``Range`` get a whole download.

Both unpack ``fan/id_00/normal/00000000.wav`` (the zips hold no SNR folder)
to ``<dest>/<snr>/fan/id_00/normal/00000000.wav`` with the canonical SNR
spelling (``-6dB``, ``0dB``, ``6dB``), and refuse members whose names would
escape ``dest`` (zip-slip).

The base URL is ``https://zenodo.org/records/3384388/files/``; set it with
``base_url=`` or the environment variable ``SOUNDAD_MIMII_URL`` (a mirror, or
a local server in tests).

md5 sums and sizes: Zenodo's file listing of record 3384388, as mirrored in
the ``md5sums`` file and git-annex keys of the ``datasets-mila/datasets--mimii``
repository.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import sys
import threading
import warnings
import zipfile
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping, Sequence

from soundad._io import atomic_path, atomic_write_text
from soundad.errors import DataError, DownloadError, ParameterError

from .layout import LABELS, MACHINES, SNRS, normalise_snr
from .ratelimit import RateLimitedError, etag_md5
from .remotezip import RangeNotSatisfiable, RangeReader, content_range, member_spans, probe_ranges, request, span_end

__all__ = [
    "MIMII_ARCHIVES",
    "URL_ENV",
    "ZENODO_URL",
    "MimiiArchive",
    "download_file",
    "download_mimii",
    "extract_zip",
    "fetch_mimii_subset",
    "is_reachable",
    "mimii_archive_name",
    "mimii_url",
]

#: Where MIMII "public 1.0" lives.
ZENODO_URL = "https://zenodo.org/records/3384388/files/"
#: Environment variable that overrides :data:`ZENODO_URL`.
URL_ENV = "SOUNDAD_MIMII_URL"
STATE_DIR = ".soundad"


@dataclass(frozen=True)
class MimiiArchive:
    """One of MIMII's twelve zips: its file name, SNR, machine, md5 and size [bytes]."""

    name: str
    snr: str
    machine: str
    md5: str
    size: int

    @property
    def known_hash(self) -> str:
        """The checksum in pooch's ``"md5:<hex>"`` form."""
        return f"md5:{self.md5}"


def _archive(snr: str, machine: str, md5: str, size: int) -> MimiiArchive:
    return MimiiArchive(f"{int(snr[:-2])}_dB_{machine}.zip", snr, machine, md5, size)


#: The twelve zips of Zenodo record 3384388, keyed by file name.
MIMII_ARCHIVES: dict[str, MimiiArchive] = {
    a.name: a
    for a in (
        _archive("-6dB", "fan", "f02ae808a58d84b6815b7ec38ff30879", 10878096548),
        _archive("-6dB", "pump", "d20b783a0ff9c93d58f452f98c37b112", 8236951723),
        _archive("-6dB", "slider", "49913eda7d37f182cbf8ed5c984140e0", 7951254230),
        _archive("-6dB", "valve", "fdfaf185fea61b21e11952a070a4ada7", 8037536346),
        _archive("0dB", "fan", "6354d1cc2165c52168f9ef1bcd9c7c52", 10411902283),
        _archive("0dB", "pump", "488748295c3f60b25de07b58fe75b049", 7869431302),
        _archive("0dB", "slider", "4d674c21474f0646ecd75546db6c0c4e", 7508958315),
        _archive("0dB", "valve", "178478eb0d11c79080a35562bfdeee71", 7486536802),
        _archive("6dB", "fan", "0890f7d3c2fd8448634e69ff1d66dd47", 10158673161),
        _archive("6dB", "pump", "a09ba6060c10fc09cd4c8770213b0b9f", 7659077508),
        _archive("6dB", "slider", "838c2b3441858359c4704ef13a1b27ff", 7129464289),
        _archive("6dB", "valve", "fe5fb7c337cd701b1d31dc641e621892", 6915951837),
    )
}


# --------------------------------------------------------------------------- names and URLs
def mimii_archive_name(snr: str, machine: str) -> str:
    """File name of MIMII's zip for one SNR and machine, e.g. ``"-6_dB_fan.zip"``."""
    snr = _snr_arg(snr)
    if machine not in MACHINES:
        raise ParameterError(f"unknown machine type {machine!r}; expected one of {MACHINES}")
    return f"{int(snr[:-2])}_dB_{machine}.zip"


def mimii_url(snr: str, machine: str, *, base_url: str | None = None) -> str:
    """URL of one MIMII zip; ``base_url`` > ``$SOUNDAD_MIMII_URL`` > :data:`ZENODO_URL`."""
    return mimii_base_url(base_url) + mimii_archive_name(snr, machine)


def mimii_base_url(base_url: str | None) -> str:
    """The server holding MIMII's zips: ``base_url``, else ``$SOUNDAD_MIMII_URL``, else Zenodo (checked)."""
    url = base_url or os.environ.get(URL_ENV) or ZENODO_URL
    if not isinstance(url, str) or not re.match(r"^(https?|file)://", url):
        raise ParameterError(f"base_url must be an http(s) URL, got {url!r}")
    return url if url.endswith("/") else url + "/"


def _snr_arg(snr) -> str:
    try:
        return normalise_snr(snr)
    except DataError as exc:
        raise ParameterError(str(exc)) from None


def _parse_hash(known_hash: str) -> tuple[str, str]:
    if not isinstance(known_hash, str):
        raise ParameterError(f"known_hash must be a string like 'md5:<hex>', got {known_hash!r}")
    if ":" in known_hash:
        alg, digest = known_hash.split(":", 1)
    else:
        digest = known_hash
        alg = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(known_hash), "")
    alg, digest = alg.lower(), digest.lower()
    if alg not in {"md5", "sha1", "sha256"} or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ParameterError(f"known_hash must look like 'md5:<hex>' or 'sha256:<hex>', got {known_hash!r}")
    return alg, digest


def _file_digest(path: Path, alg: str) -> str:
    digest = hashlib.new(alg)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    path: str | os.PathLike,
    *,
    known_hash: str | None = None,
    expected_size: int | None = None,
    timeout: float = 30.0,
    progress: bool = True,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``path``: resumable, verified, never half-written.

    Bytes go to ``<path>.part``. If that file exists from an interrupted
    run, the download continues from its end with an HTTP ``Range`` request
    (a server that ignores ``Range`` sends everything again, which is fine).
    Only after the size and checksum match does ``.part`` become ``path``
    (``os.replace``, atomic).

    Parameters
    ----------
    url : str
        http(s) URL.
    path : str or path-like
        Final file name. If it exists and matches ``known_hash`` (or no hash
        is given), nothing is downloaded; if it does not match, it is
        downloaded again.
    known_hash : str or None, default=None
        ``"md5:<hex>"`` (or ``sha1:``/``sha256:``; plain hex is read by
        length). ``None`` skips the check.
    expected_size : int or None [bytes], default=None
        Checked when given; also lets a complete ``.part`` skip the network.
    timeout : float [s], default=30.0
        Socket timeout of each request.
    progress : bool, default=True
        Show a tqdm progress bar.
    chunk_size : int [bytes], default=1 MiB
        Read size while streaming.

    Returns
    -------
    path : Path

    Raises
    ------
    DownloadError
        If the server cannot be reached, answers with an error, the
        connection breaks (the ``.part`` file is kept for a resume), or the
        size or checksum does not match (the ``.part`` file is removed).
    """
    path = Path(path)
    alg_digest = _parse_hash(known_hash) if known_hash is not None else None
    part = path.with_name(path.name + ".part")
    if path.exists():
        if alg_digest is None or _file_digest(path, alg_digest[0]) == alg_digest[1]:
            return path
        warnings.warn(f"{str(path)!r} does not match {known_hash}; downloading it again", stacklevel=2)
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)

    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        part.unlink()
        offset = 0
    served_md5 = None
    if expected_size is None or offset < expected_size:
        served_md5 = _stream(url, part, offset, timeout=timeout, progress=progress, chunk_size=chunk_size)

    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink()
        raise DownloadError(f"{url}: got {size} bytes, expected {expected_size}; the partial file was removed")
    if alg_digest is not None:
        got = _file_digest(part, alg_digest[0])
        if got != alg_digest[1]:
            part.unlink()
            raise DownloadError(
                f"{url}: {alg_digest[0]} checksum mismatch, expected {alg_digest[1]}, got {got}; "
                "the download was removed (a corrupted transfer or a changed file)"
            )
    if served_md5 is not None and (alg_digest is None or alg_digest[0] != "md5"):
        got = _file_digest(part, "md5")  # the ETag Zenodo sends: a check even where no hash was given
        if got != served_md5:
            part.unlink()
            raise DownloadError(f"{url}: md5 {got} differs from the server's ETag md5 {served_md5}; "
                                "the download was removed (a corrupted transfer); run again")
    os.replace(part, path)
    return path


def _stream(url: str, part: Path, offset: int, *, timeout: float, progress: bool, chunk_size: int) -> str | None:
    """Append the rest of ``url`` to ``part``; return the md5 of the server's ETag, if it sends one."""
    notice = (lambda message: print(f"{part.name[: -len('.part')]}: {message}", file=sys.stderr, flush=True)
              ) if progress else None
    try:
        response = request(url, timeout=timeout, start=offset if offset else None, on_wait=notice)
    except RangeNotSatisfiable:
        return None  # the .part file already holds everything; the checks decide
    with response:
        served_md5 = etag_md5(response.headers)
        mode = "wb"
        if offset and response.status == 206:
            rng = content_range(response)
            if rng is None or rng[0] != offset:
                raise DownloadError(f"{url}: the server answered a resume request with range {rng}, expected one from byte {offset}")
            mode = "ab"
        elif response.status != 200:
            raise DownloadError(f"downloading {url} failed: unexpected HTTP status {response.status}")
        else:
            offset = 0  # no resume: the server sends the whole file
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.name[: -len(".part")])
        try:
            with open(part, mode) as handle:
                while True:
                    block = response.read(chunk_size)
                    if not block:
                        break
                    handle.write(block)
                    if bar is not None:
                        bar.update(len(block))
        except (http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            raise DownloadError(
                f"downloading {url} broke off ({exc!r}); run again to resume from {part.stat().st_size} bytes"
            ) from None
        finally:
            if bar is not None:
                bar.close()
    if total is not None and part.stat().st_size < total:
        raise DownloadError(
            f"downloading {url} broke off at {part.stat().st_size} of {total} bytes; run again to resume"
        )
    return served_md5


def is_reachable(url: str, *, timeout: float = 3.0) -> bool:
    """True if ``url`` answers within ``timeout`` seconds (name lookup included).

    The request runs in a daemon thread, so that a hanging DNS lookup (which
    socket timeouts do not cover) cannot stall the caller.
    """
    outcome: dict = {}

    def probe() -> None:
        try:
            with request(url, timeout=timeout, start=0, end=0, max_tries=1):
                outcome["ok"] = True
        except RateLimitedError:
            outcome["ok"] = True  # it answers; the download itself waits its turn
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            outcome["error"] = exc

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(outcome.get("ok"))


# --------------------------------------------------------------------------- zip members
def _member_target(name: str, dest: Path, snr: str, archive: str) -> tuple[str, ...] | None:
    """Parts of a member's path below ``<dest>/<snr>``; None for directories.

    Raises DataError for names that would escape the target directory.
    """
    if name.endswith("/"):
        return None
    clean = name.replace("\\", "/")
    posix = PurePosixPath(clean)
    parts = posix.parts
    if (
        posix.is_absolute()
        or not parts
        or any(p in ("..", "") for p in parts)
        or re.match(r"^[A-Za-z]:", parts[0])
        or "\x00" in clean
    ):
        raise DataError(f"{archive}: refusing member {name!r}, whose path would escape the target directory {str(dest)!r}")
    parts = tuple(p for p in parts if p != ".")
    try:
        first = normalise_snr(parts[0])
    except DataError:
        first = None
    if first is not None and len(parts) > 1:
        if first != snr:
            raise DataError(f"{archive}: member {name!r} belongs to SNR {first}, expected {snr}")
        parts = parts[1:]
    target = (dest / snr).joinpath(*parts).resolve()
    if not target.is_relative_to((dest / snr).resolve()):
        raise DataError(f"{archive}: refusing member {name!r}, whose path would escape the target directory {str(dest)!r}")
    return parts


def _extract_members(
    zf: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo], dest: Path, snr: str, archive: str, *, progress: bool, desc: str
) -> list[Path]:
    targets = []
    for info in infos:
        parts = _member_target(info.filename, dest, snr, archive)
        if parts is not None:
            targets.append((info, dest / snr / Path(*parts)))
    remote = isinstance(zf.fp, RangeReader)
    if remote:
        targets.sort(key=lambda item: item[0].header_offset)  # the zip's order: spans stream forwards
    todo = [info for info, target in targets if not (target.exists() and target.stat().st_size == info.file_size)]
    starts = {group[0].header_offset: group for group in member_spans(todo)} if remote else {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(targets), desc=desc, unit="file")
        if remote:
            zf.fp.on_wait = lambda message: bar.set_postfix_str(message, refresh=True)
    written = []
    try:
        for info, target in targets:
            if not (target.exists() and target.stat().st_size == info.file_size):
                group = starts.get(info.header_offset)
                if group is not None:  # one request for this member and its neighbours
                    zf.fp.open_span(group[0].header_offset, span_end(group[-1]) - group[0].header_offset)
                try:
                    with zf.open(info) as src, atomic_path(target) as tmp, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                except zipfile.BadZipFile as exc:
                    raise DownloadError(f"{archive}: member {info.filename!r} is corrupt ({exc}); nothing was written for it") from None
            written.append(target)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return written


def extract_zip(
    zip_path: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    snr: str,
    members: Iterable[str] | None = None,
    progress: bool = False,
) -> list[Path]:
    """Unpack a MIMII zip into ``<dest>/<snr>/…``, safely and resumably.

    Parameters
    ----------
    zip_path : str or path-like
        A local zip, e.g. ``0_dB_fan.zip`` (members ``fan/id_00/normal/…``;
        a leading SNR folder is also accepted and must match ``snr``).
    dest : str or path-like
        Dataset root.
    snr : str
        SNR folder to unpack into (canonical spelling is used).
    members : iterable of str or None, default=None
        Member names to unpack; ``None`` unpacks all.
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    paths : list of Path
        The files unpacked (or found complete from an earlier run).

    Raises
    ------
    DataError
        If the file is not a zip, a member name would escape ``dest``
        (zip-slip; checked for all members before anything is written), a
        requested member is missing, or a member is corrupt.
    """
    zip_path, dest, snr = Path(zip_path), Path(dest), _snr_arg(snr)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{str(zip_path)!r} is not a readable zip file: {exc}") from None
    with zf:
        infos = zf.infolist()
        if members is not None:
            wanted = list(members)
            by_name = {i.filename: i for i in infos}
            missing = [m for m in wanted if m not in by_name]
            if missing:
                raise DataError(f"{str(zip_path)!r} has no member(s) {missing[:5]}")
            infos = [by_name[m] for m in wanted]
        for info in infos:  # refuse the whole archive before writing anything
            _member_target(info.filename, dest, snr, zip_path.name)
        try:
            return _extract_members(zf, infos, dest, snr, zip_path.name, progress=progress, desc=f"unpacking {zip_path.name}")
        except DownloadError as exc:
            raise DataError(str(exc)) from None


# --------------------------------------------------------------------------- whole download
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
    snr_list = [_snr_arg(s) for s in _as_list(snrs, "snrs")]
    machine_list = _as_list(machines, "machines")
    names = [(snr, machine, mimii_archive_name(snr, machine)) for snr in snr_list for machine in machine_list]
    base = mimii_base_url(base_url)
    zip_dir = Path(download_dir).expanduser() if download_dir is not None else dest / "zips"
    state = dest / STATE_DIR
    for snr, machine, name in names:
        marker = state / f"{name}.extracted"
        if extract and marker.exists():
            continue
        known_hash, size = _registry_entry(name, registry)
        zip_path = download_file(
            base + name, zip_dir / name, known_hash=known_hash, expected_size=size, timeout=timeout, progress=progress
        )
        if extract:
            extract_zip(zip_path, dest, snr=snr, progress=progress)
            atomic_write_text(marker, json.dumps({"archive": name, "hash": known_hash}))
            if not keep_zip:
                zip_path.unlink()
    return dest


def _registry_entry(name: str, registry) -> tuple[str | None, int | None]:
    if registry is None:
        if name not in MIMII_ARCHIVES:
            raise ParameterError(f"{name!r} is not one of MIMII's archives {sorted(MIMII_ARCHIVES)}")
        archive = MIMII_ARCHIVES[name]
        return archive.known_hash, archive.size
    if name not in registry:
        raise ParameterError(f"registry has no checksum for {name!r} (give None to skip the check)")
    known_hash = registry[name]
    if known_hash is None:
        warnings.warn(f"no checksum given for {name}: the download is not verified", stacklevel=3)
    return known_hash, None


def _as_list(values, name: str) -> list[str]:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v]
    values = list(values)
    if not values:
        raise ParameterError(f"{name} must not be empty")
    return values


# --------------------------------------------------------------------------- partial download
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
        Which SNR's zip.
    machine : str, default="fan"
    model_id : str, default="id_00"
    n_normal, n_abnormal : int >= 0 or None, default=50
        How many clips of each label; ``None`` takes all. Fewer available
        gives a warning and all there are.
    base_url : str or None, default=None
        As in :func:`download_mimii`.
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
    snr = _snr_arg(snr)
    name = mimii_archive_name(snr, machine)
    if not (isinstance(model_id, str) and re.fullmatch(r"id_\d+", model_id)):
        raise ParameterError(f"model_id must look like 'id_00', got {model_id!r}")
    for value, label in ((n_normal, "n_normal"), (n_abnormal, "n_abnormal")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, Integral) or value < 0):
            raise ParameterError(f"{label} must be a non-negative integer or None, got {value!r}")
    settings = {"archive": name, "model_id": model_id, "n_normal": n_normal, "n_abnormal": n_abnormal}
    marker = dest / STATE_DIR / f"subset-{snr}-{machine}-{model_id}.json"
    done = subset_complete(marker, dest, settings)
    if done:
        return dest

    url = mimii_base_url(base_url) + name
    notice = (lambda message: print(f"{name}: {message}", file=sys.stderr, flush=True)) if progress else None
    size, served_md5 = probe_ranges(url, timeout=timeout, on_wait=notice)
    if size is not None:
        _check_etag(url, name, served_md5, registry)
        reader = RangeReader(url, size, timeout=timeout, on_wait=notice)
        reader.prefetch(max(0, size - _TAIL_BYTES), _TAIL_BYTES)  # end records, zip64 locator: one request
        try:
            zf = zipfile.ZipFile(reader)
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{url} does not look like a zip file ({exc})") from None
    else:
        warnings.warn(f"{url}: the server ignores range requests; downloading the whole zip", stacklevel=2)
        known_hash, expected = _registry_entry(name, registry)
        zip_dir = Path(download_dir).expanduser() if download_dir is not None else dest / "zips"
        local = download_file(url, zip_dir / name, known_hash=known_hash, expected_size=expected, timeout=timeout, progress=progress)
        try:
            zf = zipfile.ZipFile(local)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{str(local)!r} is not a readable zip file: {exc}") from None
    with zf:
        chosen = _choose_members(zf.infolist(), name, machine, model_id, n_normal, n_abnormal)
        for info in chosen:
            _member_target(info.filename, dest, snr, name)
        paths = _extract_members(zf, chosen, dest, snr, name, progress=progress, desc=f"fetching {machine} {model_id} ({snr})")
    record = dict(settings, files={p.relative_to(dest).as_posix(): p.stat().st_size for p in paths})
    atomic_write_text(marker, json.dumps(record, indent=1, sort_keys=True))
    return dest


#: Bytes read from the end of a remote zip at once: its end records (and zip64 locator) in one request.
_TAIL_BYTES = 4 << 10


def _check_etag(url: str, name: str, served_md5: str | None, registry) -> None:
    """Refuse a remote zip whose ETag md5 (Zenodo sends one) differs from the registry's."""
    if served_md5 is None:
        return
    if registry is None:
        known_hash = MIMII_ARCHIVES[name].known_hash if name in MIMII_ARCHIVES else None
    else:
        known_hash = registry.get(name)
    if known_hash is None:
        return
    alg, digest = _parse_hash(known_hash)
    if alg == "md5" and digest != served_md5:
        raise DownloadError(
            f"{url}: the server's ETag gives md5 {served_md5}, but {name} should have md5 {digest}; "
            "it serves another file (a changed record or a wrong --url)"
        )


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


def _choose_members(infos, archive: str, machine: str, model_id: str, n_normal, n_abnormal) -> list[zipfile.ZipInfo]:
    by_label: dict[str, list[zipfile.ZipInfo]] = {label: [] for label in LABELS}
    models = set()
    for info in infos:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if parts and _is_snr(parts[0]) and len(parts) > 1:
            parts = parts[1:]
        if len(parts) != 4 or not parts[3].lower().endswith(".wav") or parts[0] != machine:
            continue
        models.add(parts[1])
        if parts[1] == model_id and parts[2] in by_label:
            by_label[parts[2]].append(info)
    if not any(by_label.values()):
        raise DataError(
            f"{archive} holds no clips of {machine} {model_id}; model IDs found: {sorted(models) or 'none'}"
        )
    chosen = []
    for label, wanted in (("normal", n_normal), ("abnormal", n_abnormal)):
        items = sorted(by_label[label], key=lambda i: i.filename)
        if wanted is not None and len(items) < wanted:
            warnings.warn(f"{archive} has only {len(items)} {label} clips of {machine} {model_id}, not {wanted}", stacklevel=3)
        chosen += items if wanted is None else items[:wanted]
    return chosen


def _is_snr(text: str) -> bool:
    try:
        normalise_snr(text)
    except DataError:
        return False
    return True
